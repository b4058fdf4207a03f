import type { Context } from "hono";
import { type ApiError, buildProblem, type ErrorCode, type FieldError } from "../errors";

/** Answer with an RFC 9457 problem document for a registered error code. */
export function problemResponse(
  c: Context,
  code: ErrorCode,
  detail?: string,
  options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
): Response {
  const requestId = (c.get("requestId") as string | undefined) ?? "unknown";
  const problem = buildProblem(code, requestId, detail, options.errors);
  const headers = new Headers(options.headers);
  headers.set("content-type", "application/problem+json");
  return new Response(JSON.stringify(problem), { status: problem.status, headers });
}

export function apiErrorResponse(c: Context, error: ApiError): Response {
  return problemResponse(c, error.code, error.detail, { errors: error.errors, headers: error.headers });
}
