import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The registry of every error code the API returns. Codes are stable and machine-readable;
 * clients branch on `code`, people read `title` and `detail`.
 */
export const ERROR_CODES = {
  validation_failed: { status: 400, title: "Validation failed" },
  malformed_json: { status: 400, title: "Malformed JSON" },
  invalid_code: { status: 400, title: "Invalid code" },
  invalid_token: { status: 400, title: "Invalid token" },
  invalid_redirect: { status: 400, title: "Invalid redirect" },
  invalid_state: { status: 400, title: "Invalid state" },
  unauthorized: { status: 401, title: "Unauthorized" },
  invalid_credentials: { status: 401, title: "Invalid credentials" },
  invalid_refresh_token: { status: 401, title: "Invalid refresh token" },
  refresh_token_reused: { status: 401, title: "Refresh token reused" },
  email_not_verified: { status: 403, title: "Email not verified" },
  account_suspended: { status: 403, title: "Account suspended" },
  forbidden: { status: 403, title: "Forbidden" },
  not_found: { status: 404, title: "Not found" },
  provider_not_configured: { status: 404, title: "Provider not configured" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  username_taken: { status: 409, title: "Username taken" },
  email_taken: { status: 409, title: "Email taken" },
  mobile_taken: { status: 409, title: "Mobile number taken" },
  kyc_locked: { status: 409, title: "KYC locked" },
  invalid_transition: { status: 409, title: "Invalid transition" },
  last_login_method: { status: 409, title: "Last login method" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  kyc_incomplete: { status: 422, title: "KYC incomplete" },
  too_many_attempts: { status: 429, title: "Too many attempts" },
  rate_limited: { status: 429, title: "Rate limited" },
  internal_error: { status: 500, title: "Internal error" },
  service_unavailable: { status: 503, title: "Service unavailable" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldError {
  path: string;
  message: string;
}

/**
 * An error that maps straight to a problem document. Routes throw it for outcomes that end the
 * request; services return values instead and leave the mapping to routes.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? ERROR_CODES[code].title);
    this.name = "ApiError";
    this.code = code;
    this.detail = detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }

  get status(): ContentfulStatusCode {
    return ERROR_CODES[this.code].status;
  }
}

/** Thrown by adapters when a dependency (database, KV, R2, mail or SMS provider) fails. */
export class UpstreamError extends Error {
  readonly service: "database" | "kv" | "r2" | "mail" | "sms" | "oauth";

  constructor(service: UpstreamError["service"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UpstreamError";
    this.service = service;
  }
}

export interface ProblemDocument {
  type: "about:blank";
  status: number;
  code: ErrorCode;
  title: string;
  detail?: string;
  request_id: string;
  errors?: FieldError[];
}

export function buildProblem(
  code: ErrorCode,
  requestId: string,
  detail?: string,
  errors?: FieldError[],
): ProblemDocument {
  const { status, title } = ERROR_CODES[code];
  const problem: ProblemDocument = { type: "about:blank", status, code, title, request_id: requestId };
  if (detail !== undefined) problem.detail = detail;
  if (errors !== undefined) problem.errors = errors;
  return problem;
}
