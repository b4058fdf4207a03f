import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "./context";
import { problemResponse } from "./problem";
import { findRepeatedMemberName, findTextWithNul } from "../lib/json-body-checks";

export const MAX_JSON_BODY_BYTES = 64 * 1024;

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{8,64}$/;

/**
 * Tag every request with an id, echoed as `X-Request-Id`. A caller's id is kept only when it is
 * short and plain, so it can never inject text into a log line.
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const id = incoming !== undefined && REQUEST_ID_PATTERN.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    await next();
    c.res.headers.set("x-request-id", id);
  };
}

const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
const DOCS_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Security headers on every response, errors included. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const headers = c.res.headers;
    headers.set("strict-transport-security", "max-age=63072000; includeSubDomains");
    headers.set("x-content-type-options", "nosniff");
    headers.set("x-frame-options", "DENY");
    headers.set("referrer-policy", "no-referrer");
    headers.set("cross-origin-opener-policy", "same-origin");
    const isDocs = c.req.path === "/docs" || c.req.path.startsWith("/docs/");
    headers.set("content-security-policy", isDocs ? DOCS_CONTENT_SECURITY_POLICY : API_CONTENT_SECURITY_POLICY);

    const path = c.req.path;
    if (
      path.startsWith("/v1/auth/") ||
      path === "/v1/me" ||
      path.startsWith("/v1/me/") ||
      path.startsWith("/v1/admin/")
    ) {
      // A handler may set a stricter value that includes no-store, such as "private, no-store".
      if (!headers.get("cache-control")?.includes("no-store")) headers.set("cache-control", "no-store");
    } else if (!headers.has("cache-control")) {
      headers.set("cache-control", "no-store");
    }
  };
}

// Starting a provider link sets the cookie that binds the flow to the browser, so that one
// endpoint lets clients send and receive cookies.
const CREDENTIALED_PATH = /^\/v1\/me\/oauth\/[^/]+\/link$/;

/** CORS for the configured origins only, compared exactly; `null` and unknown origins get no grant. */
export function corsForConfiguredOrigins(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const allowed = c.get("deps").config.corsOrigins;
    const handler = cors({
      origin: (origin) => (allowed.includes(origin) ? origin : null),
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
      allowHeaders: ["authorization", "content-type", "x-request-id"],
      exposeHeaders: ["x-request-id", "retry-after"],
      maxAge: 600,
      credentials: CREDENTIALED_PATH.test(c.req.path),
    });
    return handler(c, next);
  };
}

const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);

// KYC document uploads carry raw file bytes; their route checks type and size itself.
const RAW_UPLOAD_PATH = /^\/v1\/me\/kyc\/documents\/[^/]+$/;

function hasBody(request: Request): boolean {
  const length = request.headers.get("content-length");
  if (length !== null) return length !== "0";
  return request.headers.has("transfer-encoding") || request.body !== null;
}

/**
 * Guard JSON endpoints: any body must be `application/json` (else 415), at most 64 KiB whether or
 * not it is chunked (else 413), and parse as JSON with no member named twice in one object (else
 * 400 malformed_json) and no U+0000 in any text (else 400 validation_failed).
 */
export function jsonBodyGuard(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!METHODS_WITH_BODY.has(c.req.method) || !hasBody(c.req.raw)) return next();
    if (c.req.method === "PUT" && RAW_UPLOAD_PATH.test(c.req.path)) return next();

    const contentType = c.req.header("content-type") ?? "";
    const [mediaType, ...parameters] = contentType.split(";").map((part) => part.trim().toLowerCase());
    const charset = parameters.find((parameter) => parameter.startsWith("charset="))?.slice("charset=".length);
    // JSON is UTF-8 (RFC 8259); a body declared in another charset would be read wrongly.
    if (mediaType !== "application/json" || (charset !== undefined && charset.replaceAll('"', "") !== "utf-8")) {
      return problemResponse(c, "unsupported_media_type", "Send the request body as application/json in UTF-8.");
    }

    const declaredLength = Number(c.req.header("content-length") ?? "0");
    if (declaredLength > MAX_JSON_BODY_BYTES) return tooLarge(c);

    const bytes = await readBytesWithLimit(c.req.raw, MAX_JSON_BODY_BYTES);
    if (bytes === null) return tooLarge(c);

    let text: string;
    let parsed: unknown;
    try {
      // Fatal decoding: invalid UTF-8 is rejected instead of silently becoming U+FFFD.
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
      parsed = JSON.parse(text);
    } catch {
      return problemResponse(c, "malformed_json", "The request body is not valid JSON in UTF-8.");
    }
    if (findRepeatedMemberName(text) !== null) {
      return problemResponse(c, "malformed_json", "The request body names the same member twice in one object.");
    }
    const textWithNul = findTextWithNul(parsed);
    if (textWithNul !== null) {
      return problemResponse(c, "validation_failed", "The request does not match its schema.", {
        errors: [{ path: textWithNul, message: "Text cannot contain the NUL character (U+0000)." }],
      });
    }
    // Hono's validator reads the body through this cache, because the stream can be read only once.
    c.req.bodyCache.text = Promise.resolve(text) as unknown as string;
    return next();
  };
}

function tooLarge(c: Parameters<MiddlewareHandler<AppEnv>>[0]): Response {
  return problemResponse(c, "payload_too_large", `JSON bodies are limited to ${MAX_JSON_BODY_BYTES} bytes.`);
}

/** Read a body, stopping at `limitBytes` so a huge chunked body never fills memory. */
async function readBytesWithLimit(request: Request, limitBytes: number): Promise<Uint8Array | null> {
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
