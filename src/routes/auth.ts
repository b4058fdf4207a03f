import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ApiError } from "../errors";
import type { AppEnv } from "../http/context";
import { rateLimitedError } from "../http/rate-limit";
import { verifyEmailAndSignIn } from "../services/email-verification";
import { resendSignUpCode, signUp } from "../services/sign-up";
import {
  CodeSchema,
  EmailSchema,
  PasswordSchema,
  problemResponses,
  TokenResponseSchema,
  UsernameSchema,
  validationHook,
  VerificationRequiredSchema,
} from "./schemas";

const MAX_USER_AGENT_LENGTH = 512;

const signUpRoute = createRoute({
  method: "post",
  path: "/v1/auth/signup",
  tags: ["Sign-up and sign-in"],
  summary: "Sign up with an email and a password",
  description:
    "Creates a pending account and emails a 6-digit code. The answer is identical whether or not the address is registered; " +
    "an address with an active account receives a notice instead of a code. Signing up again with the email of a pending " +
    "account replaces its password and sends a fresh code. Only a taken username is revealed (`409 username_taken`).",
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.strictObject({ email: EmailSchema, password: PasswordSchema, username: UsernameSchema.optional() }),
        },
      },
    },
  },
  responses: {
    202: {
      description: "A code was sent, or a notice if the address already has an account.",
      content: { "application/json": { schema: VerificationRequiredSchema } },
    },
    ...problemResponses(400, 409, 413, 415, 429, 503),
  },
});

const verifyEmailRoute = createRoute({
  method: "post",
  path: "/v1/auth/email/verify",
  tags: ["Sign-up and sign-in"],
  summary: "Verify the sign-up code and sign in",
  description:
    "Activates the account, marks the email verified and opens the first session. A code is valid for 10 minutes, works once, " +
    "and is burned after 5 wrong tries; a newer code replaces older ones.",
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: z.strictObject({ email: EmailSchema, code: CodeSchema }) } },
    },
  },
  responses: {
    200: { description: "Signed in.", content: { "application/json": { schema: TokenResponseSchema } } },
    ...problemResponses(400, 413, 415, 429, 503),
  },
});

const resendRoute = createRoute({
  method: "post",
  path: "/v1/auth/email/resend",
  tags: ["Sign-up and sign-in"],
  summary: "Send a new sign-up code",
  description: "Answers the same `202` whatever the address; only a pending account receives a new code.",
  request: {
    body: { required: true, content: { "application/json": { schema: z.strictObject({ email: EmailSchema }) } } },
  },
  responses: {
    202: { description: "Accepted.", content: { "application/json": { schema: VerificationRequiredSchema } } },
    ...problemResponses(400, 413, 415, 429, 503),
  },
});

export const authRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(signUpRoute, async (c) => {
    const input = c.req.valid("json");
    const result = await signUp(c.get("deps"), input);
    if (!result.ok) {
      if (result.reason === "username_taken") throw new ApiError("username_taken", "That username is already taken.");
      if (result.reason === "rate_limited") throw rateLimitedError(result.retryAfterSeconds);
      throw new ApiError("validation_failed", result.error.message, { errors: [result.error] });
    }
    return c.json(result.body, 202);
  })
  .openapi(verifyEmailRoute, async (c) => {
    const input = c.req.valid("json");
    const userAgent = c.req.header("user-agent")?.slice(0, MAX_USER_AGENT_LENGTH);
    const result = await verifyEmailAndSignIn(c.get("deps"), { ...input, userAgent });
    if (!result.ok) {
      if (result.reason === "rate_limited") throw rateLimitedError(result.retryAfterSeconds);
      throw new ApiError("invalid_code", "The code is wrong, expired, already used, or out of attempts.");
    }
    return c.json(result.tokens, 200);
  })
  .openapi(resendRoute, async (c) => {
    const { email } = c.req.valid("json");
    const result = await resendSignUpCode(c.get("deps"), email);
    if (!result.ok) throw rateLimitedError(result.retryAfterSeconds);
    return c.json(result.body, 202);
  });
