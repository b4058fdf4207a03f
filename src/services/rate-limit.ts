import type { RateLimitCounter, RateLimitDecision } from "../adapters/rate-limit";
import { hmacSha256Hex } from "../crypto/hashing";
import type { Dependencies } from "../http/context";
import { clientIpRateLimitSubject } from "../lib/client-ip";
import { describeError } from "../lib/logger";
import type { RateLimitRule } from "../lib/rate-limit-rules";

export type { RateLimitDecision } from "../adapters/rate-limit";

/**
 * What happens when KV cannot be reached. Limits on outgoing messages fail closed (503), because
 * every SMS costs money and a flood of codes harasses the recipient, and nothing else bounds them.
 * Limits on checks and general traffic fail open: Postgres counts code attempts and lockouts
 * exactly, so a KV outage must not also take sign-in down.
 */
type FailureMode = "open" | "closed";

interface LimitedCounter {
  /** Name of the counter's purpose in its key and in logs. It never contains the subject itself. */
  scope: string;
  subject: string;
  rules: readonly RateLimitRule[];
}

/** Count one code sent to `destination` (an email address or E.164 number), for any purpose. */
export function limitCodeSend(deps: Dependencies, destination: string): Promise<RateLimitDecision> {
  return consume(deps, "closed", codeSendCounters(deps, destination));
}

/** Count one code checked by this client. */
export function limitCodeCheck(deps: Dependencies): Promise<RateLimitDecision> {
  return consume(deps, "open", [clientCounter(deps, "code-check", deps.config.rateLimits.codeChecksPerClient)]);
}

/** Count one sign-up from this client together with the code (or notice) it sends to `email`. */
export function limitSignUp(deps: Dependencies, email: string): Promise<RateLimitDecision> {
  return consume(deps, "closed", [
    clientCounter(deps, "signup", deps.config.rateLimits.signUpsPerClient),
    ...codeSendCounters(deps, email),
  ]);
}

/**
 * Count one password-reset request for `email` (already lower-cased). For the forgot-password
 * route: answer `429 rate_limited` with `Retry-After` when this returns `allowed: false`. It fails
 * closed because each request sends an email.
 */
export function limitForgotPassword(deps: Dependencies, email: string): Promise<RateLimitDecision> {
  return consume(deps, "closed", [
    { scope: "forgot-password:email", subject: email, rules: deps.config.rateLimits.forgotPasswordPerEmail },
  ]);
}

/** Count one request to /v1/auth/* from this client. */
export function limitAuthRequest(deps: Dependencies): Promise<RateLimitDecision> {
  return consume(deps, "open", [clientCounter(deps, "auth-request", deps.config.rateLimits.authRequestsPerClient)]);
}

/**
 * The minimum time between two codes to one destination for one purpose, which Postgres enforces
 * exactly when it stores a code: the longest window of the per-destination rules that allow one
 * send. With the default `1/60s` it is 60 seconds; without such a rule there is none.
 */
export function codeResendIntervalSeconds(deps: Dependencies): number {
  const singleSendWindows = deps.config.rateLimits.codeSendsPerDestination
    .filter((rule) => rule.limit === 1)
    .map((rule) => rule.windowSeconds);
  return Math.max(0, ...singleSendWindows);
}

function codeSendCounters(deps: Dependencies, destination: string): LimitedCounter[] {
  const limits = deps.config.rateLimits;
  return [
    { scope: "code-send:destination", subject: destination, rules: limits.codeSendsPerDestination },
    clientCounter(deps, "code-send", limits.codeSendsPerClient),
  ];
}

function clientCounter(deps: Dependencies, scope: string, rules: readonly RateLimitRule[]): LimitedCounter {
  return { scope: `${scope}:client`, subject: clientIpRateLimitSubject(deps.clientIp), rules };
}

async function consume(deps: Dependencies, failureMode: FailureMode, counters: LimitedCounter[]) {
  const active = counters.filter((counter) => counter.rules.length > 0);
  if (active.length === 0) return { allowed: true } as const;

  const keyed: RateLimitCounter[] = await Promise.all(
    active.map(async (counter) => ({ key: await counterKey(deps, counter), rules: counter.rules })),
  );
  let decision: RateLimitDecision;
  try {
    decision = await deps.rateLimiter.consume(keyed, deps.clock.now());
  } catch (error) {
    const scopes = active.map((counter) => counter.scope).join(",");
    if (failureMode === "closed") throw error;
    deps.log.warn("rate_limit_unavailable_allowed", { scopes, ...describeError(error) });
    return { allowed: true } as const;
  }

  if (!decision.allowed) {
    deps.log.info("rate_limited", {
      scopes: active.map((counter) => counter.scope).join(","),
      retry_after_seconds: decision.retryAfterSeconds,
    });
  }
  return decision;
}

/**
 * The KV key of a counter: an HMAC of its subject under a server secret, because an email address
 * or phone number must not appear in KV, and a plain SHA-256 of a phone number is reversed by
 * hashing the few billion numbers of a country.
 */
async function counterKey(deps: Dependencies, counter: LimitedCounter): Promise<string> {
  const digest = await hmacSha256Hex(deps.config.codeHashKey, `rate-limit\n${counter.scope}\n${counter.subject}`);
  return `${counter.scope}:${digest}`;
}
