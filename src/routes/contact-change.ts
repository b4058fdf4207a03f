import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../errors";
import { requireAccessToken } from "../http/auth";
import type { AppEnv } from "../http/context";
import { rateLimitedError } from "../http/rate-limit";
import {
  type ConfirmContactChangeResult,
  confirmContactChange,
  type RequestContactChangeResult,
  requestContactChange,
} from "../services/contact-change";
import {
  bearerSecurity,
  CodeSchema,
  CodeSentSchema,
  EmailSchema,
  MobileNumberSchema,
  problemResponses,
  UserSchema,
  validationHook,
} from "./schemas";

const CodeBodySchema = z.strictObject({ code: CodeSchema });

const requestEmailRoute = createRoute({
  method: "post",
  path: "/v1/me/email",
  tags: ["The signed-in user"],
  summary: "Change the email address: send a code to the new one",
  description:
    "Sends a code to the new address; the change happens when `/v1/me/email/verify` gets it. `409 email_taken` when " +
    "another account has the address. Requesting another change invalidates the code of the previous request.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: z.strictObject({ email: EmailSchema }) } } },
  },
  responses: {
    202: { description: "A code was sent.", content: { "application/json": { schema: CodeSentSchema } } },
    ...problemResponses(400, 401, 409, 413, 415, 429, 503),
  },
});

const verifyEmailRoute = createRoute({
  method: "post",
  path: "/v1/me/email/verify",
  tags: ["The signed-in user"],
  summary: "Confirm the new email address with its code",
  description:
    "Sets the new address, marked verified, and emails a notice to the previous address. `409 email_taken` when " +
    "another account took the address in the meantime; the code then stays usable.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: { body: { required: true, content: { "application/json": { schema: CodeBodySchema } } } },
  responses: {
    200: { description: "The updated account.", content: { "application/json": { schema: UserSchema } } },
    ...problemResponses(400, 401, 409, 413, 415, 429, 503),
  },
});

const requestMobileRoute = createRoute({
  method: "post",
  path: "/v1/me/mobile",
  tags: ["The signed-in user"],
  summary: "Set or change the mobile number: send a code by SMS",
  description:
    "Sends a code by SMS; the number is set when `/v1/me/mobile/verify` gets it. `409 mobile_taken` when another " +
    "account has the number.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: z.strictObject({ mobile_number: MobileNumberSchema }) } },
    },
  },
  responses: {
    202: { description: "A code was sent.", content: { "application/json": { schema: CodeSentSchema } } },
    ...problemResponses(400, 401, 409, 413, 415, 429, 503),
  },
});

const verifyMobileRoute = createRoute({
  method: "post",
  path: "/v1/me/mobile/verify",
  tags: ["The signed-in user"],
  summary: "Confirm the mobile number with its code",
  description: "Sets the number, marked verified. `409 mobile_taken` when another account took it in the meantime.",
  security: bearerSecurity,
  middleware: [requireAccessToken()] as const,
  request: { body: { required: true, content: { "application/json": { schema: CodeBodySchema } } } },
  responses: {
    200: { description: "The updated account.", content: { "application/json": { schema: UserSchema } } },
    ...problemResponses(400, 401, 409, 413, 415, 429, 503),
  },
});

export const contactChangeRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(requestEmailRoute, async (c) => {
    const { email } = c.req.valid("json");
    const result = await requestContactChange(c.get("deps"), c.get("caller"), "email", email);
    if (!result.ok) throw requestFailure(result, "email");
    return c.json(result.body, 202);
  })
  .openapi(verifyEmailRoute, async (c) => {
    const { code } = c.req.valid("json");
    const result = await confirmContactChange(c.get("deps"), c.get("caller"), "email", code);
    if (!result.ok) throw confirmFailure(result, "email");
    return c.json(result.user, 200);
  })
  .openapi(requestMobileRoute, async (c) => {
    const { mobile_number } = c.req.valid("json");
    const result = await requestContactChange(c.get("deps"), c.get("caller"), "mobile", mobile_number);
    if (!result.ok) throw requestFailure(result, "mobile_number");
    return c.json(result.body, 202);
  })
  .openapi(verifyMobileRoute, async (c) => {
    const { code } = c.req.valid("json");
    const result = await confirmContactChange(c.get("deps"), c.get("caller"), "mobile", code);
    if (!result.ok) throw confirmFailure(result, "mobile_number");
    return c.json(result.user, 200);
  });

type ContactField = "email" | "mobile_number";

function takenError(field: ContactField): ApiError {
  return field === "email"
    ? new ApiError("email_taken", "Another account uses this email address.")
    : new ApiError("mobile_taken", "Another account uses this mobile number.");
}

function requestFailure(result: Exclude<RequestContactChangeResult, { ok: true }>, field: ContactField): ApiError {
  switch (result.reason) {
    case "rate_limited":
      return rateLimitedError(result.retryAfterSeconds);
    case "taken":
      return takenError(field);
    case "session_ended":
      return new ApiError("unauthorized", "The session has ended. Sign in again.");
    case "unchanged":
      return new ApiError("validation_failed", "The request does not match its schema.", {
        errors: [{ path: field, message: "This is already the account's verified value." }],
      });
    case "invalid_destination":
      return new ApiError("validation_failed", "The request does not match its schema.", {
        errors: [{ path: field, message: result.message }],
      });
  }
}

function confirmFailure(result: Exclude<ConfirmContactChangeResult, { ok: true }>, field: ContactField): ApiError {
  switch (result.reason) {
    case "rate_limited":
      return rateLimitedError(result.retryAfterSeconds);
    case "taken":
      return takenError(field);
    case "session_ended":
      return new ApiError("unauthorized", "The session has ended. Sign in again.");
    case "invalid_code":
      return new ApiError("invalid_code", "The code is wrong, expired, already used, or out of attempts.");
  }
}
