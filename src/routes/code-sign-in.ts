import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../errors";
import type { AppEnv } from "../http/context";
import { rateLimitedError } from "../http/rate-limit";
import { requestSignInCode, verifySignInCode } from "../services/code-sign-in";
import {
  CodeSchema,
  CodeSentSchema,
  EmailSchema,
  MobileNumberSchema,
  problemResponses,
  TokenResponseSchema,
  validationHook,
} from "./schemas";

const MAX_USER_AGENT_LENGTH = 512;

const DestinationSchema = z.discriminatedUnion("channel", [
  z.strictObject({ channel: z.literal("email"), destination: EmailSchema }),
  z.strictObject({ channel: z.literal("sms"), destination: MobileNumberSchema }),
]);

const VerifySchema = z.discriminatedUnion("channel", [
  z.strictObject({ channel: z.literal("email"), destination: EmailSchema, code: CodeSchema }),
  z.strictObject({ channel: z.literal("sms"), destination: MobileNumberSchema, code: CodeSchema }),
]);

const CodeSignInResponseSchema = TokenResponseSchema.extend({
  created: z.boolean().openapi({ description: "True when this sign-in created the account." }),
}).openapi("CodeSignInResponse");

const requestCodeRoute = createRoute({
  method: "post",
  path: "/v1/auth/otp/request",
  tags: ["Sign-up and sign-in"],
  summary: "Send a sign-in code by email or SMS",
  description:
    "Sends a 6-digit code valid for 10 minutes to the address or mobile number, whether or not it has an account " +
    "(the first sign-in creates one), so the answer is identical either way. A new code replaces the previous one. " +
    "Sends are limited per destination (default 1 per 60 s, 5 per hour, 10 per day) and per client.",
  request: { body: { required: true, content: { "application/json": { schema: DestinationSchema } } } },
  responses: {
    202: { description: "A code was sent.", content: { "application/json": { schema: CodeSentSchema } } },
    ...problemResponses(400, 413, 415, 429, 503),
  },
});

const verifyCodeRoute = createRoute({
  method: "post",
  path: "/v1/auth/otp/verify",
  tags: ["Sign-up and sign-in"],
  summary: "Sign in with a code, creating the account on first use",
  description:
    "Checks the code and opens a session. Without an account for the destination, creates an active one with the email " +
    "or mobile number verified (`created: true`). A pending sign-up for the email is activated and its unverified " +
    "password removed. A code works once and is burned after 5 wrong tries. A locked account answers " +
    "`429 too_many_attempts`, a suspended one `403 account_suspended`; both only after a correct code, which is used up.",
  request: { body: { required: true, content: { "application/json": { schema: VerifySchema } } } },
  responses: {
    200: { description: "Signed in.", content: { "application/json": { schema: CodeSignInResponseSchema } } },
    ...problemResponses(400, 403, 413, 415, 429, 503),
  },
});

export const codeSignInRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(requestCodeRoute, async (c) => {
    const input = c.req.valid("json");
    const result = await requestSignInCode(c.get("deps"), input);
    if (!result.ok) {
      if (result.reason === "rate_limited") throw rateLimitedError(result.retryAfterSeconds);
      throw invalidDestination(result.message);
    }
    return c.json(result.body, 202);
  })
  .openapi(verifyCodeRoute, async (c) => {
    const input = c.req.valid("json");
    const userAgent = c.req.header("user-agent")?.slice(0, MAX_USER_AGENT_LENGTH);
    const result = await verifySignInCode(c.get("deps"), { ...input, userAgent });
    if (result.ok) return c.json({ ...result.tokens, created: result.created }, 200);

    switch (result.reason) {
      case "rate_limited":
        throw rateLimitedError(result.retryAfterSeconds);
      case "invalid_destination":
        throw invalidDestination(result.message);
      case "locked":
        throw new ApiError("too_many_attempts", "Too many failed sign-ins. Try again later.", {
          headers: { "retry-after": String(result.retryAfterSeconds) },
        });
      case "account_suspended":
        throw new ApiError("account_suspended", "This account is suspended and cannot sign in.");
      case "invalid_code":
        throw new ApiError("invalid_code", "The code is wrong, expired, already used, or out of attempts.");
    }
  });

function invalidDestination(message: string): ApiError {
  return new ApiError("validation_failed", "The request does not match its schema.", {
    errors: [{ path: "destination", message }],
  });
}
