import { z } from "@hono/zod-openapi";
import type { Hook } from "@hono/zod-openapi";
import type { FieldError } from "../errors";
import { ERROR_CODES } from "../errors";
import type { AppEnv } from "../http/context";
import { problemResponse } from "../http/problem";
import { USER_ROLES, USER_STATUSES } from "../db/schema";

/** Turn zod issues into the `errors` list of a problem document, one entry per field. */
export function fieldErrorsFromIssues(issues: z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) => {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ path: base ? `${base}.${key}` : key, message: "Unknown field." }));
    }
    return [{ path: base, message: issue.message }];
  });
}

/** Validation hook for every route: a request that fails its schema gets 400 validation_failed. */
export const validationHook: Hook<unknown, AppEnv, string, unknown> = (result, c) => {
  if (!result.success) {
    return problemResponse(c, "validation_failed", "The request does not match its schema.", {
      errors: fieldErrorsFromIssues(result.error.issues),
    });
  }
};

export const EmailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: "Enter a valid email address." }))
  .transform((email) => email.toLowerCase())
  .openapi({ example: "jane@example.com", description: "Compared case-insensitively; stored lower-cased." });

// The policy (length in code points, common passwords) runs in the service after NFKC
// normalisation; this bound only stops absurd inputs before any hashing.
export const PasswordSchema = z
  .string()
  .min(1, { message: "Enter a password." })
  .max(1024, { message: "Passwords are at most 128 characters." })
  .openapi({ example: "correct horse battery staple", format: "password" });

// Names that would let an account pass for the platform's own staff or system addresses. They are
// compared without case, dots, dashes and underscores, so "Ad.Min" is "admin".
const RESERVED_USERNAMES = new Set([
  "abuse",
  "admin",
  "administrator",
  "api",
  "billing",
  "compliance",
  "help",
  "hostmaster",
  "kyc",
  "moderator",
  "noreply",
  "official",
  "postmaster",
  "reviewer",
  "root",
  "security",
  "staff",
  "support",
  "system",
  "tradeidentity",
  "webmaster",
]);

export const UsernameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{3,32}$/, {
    message: "Usernames are 3 to 32 letters, digits, dots, dashes or underscores.",
  })
  .refine((username) => !RESERVED_USERNAMES.has(username.toLowerCase().replaceAll(/[._-]/g, "")), {
    message: "This username is reserved. Choose another one.",
  })
  .openapi({ example: "jane_exports" });

export const CodeSchema = z
  .string()
  .regex(/^[0-9]{6}$/, { message: "Codes are 6 digits." })
  .openapi({ example: "042917" });

export const ProblemSchema = z
  .object({
    type: z.literal("about:blank"),
    status: z.number().int(),
    code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]),
    title: z.string(),
    detail: z.string().optional(),
    request_id: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem", { description: "An RFC 9457 problem document." });

/** Build the OpenAPI `responses` entries for the given error statuses. */
export function problemResponses(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: "The request is invalid (`validation_failed`, `malformed_json`, or the code named in the body).",
    401: "Not authenticated, or the credentials are wrong.",
    403: "Authenticated but not allowed.",
    404: "Not found.",
    409: "Conflicts with existing data.",
    413: "The body is over its size limit.",
    415: "The body is not `application/json`.",
    429: "Too many requests; see `Retry-After`.",
    503: "A dependency is unavailable; nothing was changed.",
  };
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: descriptions[status] ?? "Error.",
        content: { "application/problem+json": { schema: ProblemSchema } },
      },
    ]),
  );
}

export const UserSchema = z
  .object({
    id: z.uuid(),
    username: z.string().nullable(),
    email: z.string().nullable(),
    mobile_number: z.string().nullable(),
    status: z.enum(USER_STATUSES),
    role: z.enum(USER_ROLES),
    is_email_verified: z.boolean(),
    is_mobile_verified: z.boolean(),
    profile_setup_at: z.string().nullable(),
    last_login_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("User");

export const TokenResponseSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().openapi({ description: "Access token lifetime in seconds." }),
    refresh_token: z.string(),
    refresh_token_expires_in: z.number().int().openapi({ description: "Refresh token lifetime in seconds." }),
    user: UserSchema,
  })
  .openapi("TokenResponse");

export const VerificationRequiredSchema = z
  .object({
    status: z.literal("verification_required"),
    channel: z.literal("email"),
    destination: z.string().openapi({ example: "j***@example.com" }),
    expires_in: z.number().int().openapi({ example: 600 }),
  })
  .openapi("VerificationRequired");

export const bearerSecurity = [{ bearerAuth: [] }];

// One-time codes by email or SMS: sign-in and contact changes.

export const CodeChannelSchema = z
  .enum(["email", "sms"])
  .openapi({ description: "Where the code goes: an email address, or a mobile number by SMS." });

export const MobileNumberSchema = z.string().trim().min(1).max(32).openapi({
  example: "+919876543210",
  description:
    "A mobile number that can receive SMS: E.164, or a national number read in the service's default region. Fixed lines are rejected.",
});

export const CodeSentSchema = z
  .object({
    status: z.literal("code_sent"),
    channel: CodeChannelSchema,
    destination: z.string().openapi({ example: "+91******10", description: "The address or number, masked." }),
    expires_in: z.number().int().openapi({ example: 600, description: "Seconds until the code expires." }),
  })
  .openapi("CodeSent");
