// Every operation of the endpoint catalog under broken dependencies: the database endpoint down,
// returning HTTP 500 or hanging past the time budget, KV and R2 failing, and the mail and SMS
// providers failing or timing out. Each case must return a clear 503 service_unavailable (or its
// documented graceful outcome), leave nothing half-written, and work again on the same app
// instance once the fault clears. Operations missing from /openapi.json are skipped as not
// implemented yet.
//
// The faults are injected in front of the database, so the database engine plays no part. The file
// runs on the embedded database only, which keeps the second CI pass on Postgres short.
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResendMailer } from "../../../src/adapters/mail/resend";
import { TwilioSmsSender } from "../../../src/adapters/sms/twilio";
import { ERROR_CODES } from "../../../src/errors";
import type { ApiClient, ApiResponse } from "../../endpoints/api-client";
import {
  describeCase,
  documentedOperations,
  ENDPOINT_CASES,
  type EndpointCase,
  isSuccess,
  missingOperations,
  type PreparedRequest,
  unsupportedReason,
} from "../../endpoints/catalog";
import { apiOf, distinctClient } from "../helpers/api";
import { createTestApp, type TestApp } from "../helpers/app";
import { type DatabaseFaultKind, FaultyDatabaseEndpoint, type FaultSwitch, failingBinding } from "../helpers/faults";
import { changedTables, consistencyViolations, databaseDigest } from "../helpers/invariants";
import { fakeHost } from "../helpers/network";
import { FakeOAuthProviders } from "../helpers/oauth-providers";

const DATABASE_TIME_BUDGET_MS = 400;
/** The mail and SMS adapters' request timeout in these tests, in place of their 8 s default. */
const PROVIDER_TIMEOUT_MS = 300;
/** More round trips than any operation should need; a case past it is reported, not looped on. */
const MAX_POSITIONS = 6;
const CASE_TIMEOUT_MS = 90_000;
/** The catalog cases with a round-trip target: the most used operations. */
const TARGETED_CASES = ENDPOINT_CASES.filter((endpointCase) => endpointCase.maxRoundTrips !== undefined);

/**
 * Cases that fail today because of a bug in the service, each with the reason. They run as
 * expected failures, so the suite stays green until the bug is fixed and then reports that the
 * marker can go.
 */
const KNOWN_FAILURES: Record<string, string> = {};

/** `it`, or `it.fails` for a case listed in KNOWN_FAILURES. */
function itUnlessKnownToFail(title: string, name: string) {
  return KNOWN_FAILURES[`${title}: ${name}`] === undefined ? it : it.fails;
}

/** Outcomes seen per case and fault, printed once per file so the report can quote them. */
const outcomes: string[] = [];

function send(api: ApiClient, endpointCase: EndpointCase, prepared: PreparedRequest): Promise<ApiResponse> {
  return api.request(endpointCase.method, prepared.path, prepared.options);
}

/** Whether the response reports an unavailable dependency the way the case documents it. */
function reportsUnavailable(endpointCase: EndpointCase, response: ApiResponse): boolean {
  return response.status === 503 || (endpointCase.reportsUnavailable?.(response) ?? false);
}

/**
 * Check for an outage report that a client can act on: problem+json, `service_unavailable` and
 * `Retry-After`, or the case's own documented form.
 */
function expectServiceUnavailable(endpointCase: EndpointCase, response: ApiResponse, label: string): void {
  if (response.status !== 503 && endpointCase.reportsUnavailable !== undefined) {
    const shown = `HTTP ${response.status} ${response.headers.get("location") ?? response.text}`;
    expect(endpointCase.reportsUnavailable(response), `${label}: ${shown}`).toBe(true);
    return;
  }
  expect(response.status, `${label}: ${response.text}`).toBe(503);
  if (response.headers.get("content-type") === "application/json") {
    // Readiness returns its own JSON document, which monitors read.
    expect(response.body, label).toMatchObject({ status: "unavailable" });
    return;
  }
  expect(response.headers.get("content-type"), label).toBe("application/problem+json");
  expect(response.body.code, label).toBe("service_unavailable");
  expect(response.headers.get("retry-after"), label).toMatch(/^\d+$/);
  expect(response.text, label).not.toMatch(/exploded|neon-local|NeonDbError|stack/i);
}

/** Check that there is no 500 and that every error is a problem document with a registered code. */
function expectNoInternalError(response: ApiResponse, label: string): void {
  expect(response.status, `${label}: ${response.text}`).not.toBe(500);
  if (response.status >= 400 && response.headers.get("content-type") !== "application/json") {
    expect(response.headers.get("content-type"), label).toBe("application/problem+json");
    expect(Object.keys(ERROR_CODES), label).toContain(response.body.code);
  }
}

function skipUnlessRunnable(
  endpointCase: EndpointCase,
  api: ApiClient,
  documented: Set<string>,
  skip: (note: string) => void,
): void {
  const missing = missingOperations(endpointCase, documented);
  if (missing.length > 0) skip(`not implemented yet: ${missing.join(", ")}`);
  const reason = unsupportedReason(endpointCase, api);
  if (reason !== undefined) skip(reason);
}

function expectSuccess(endpointCase: EndpointCase, response: ApiResponse, label: string): void {
  const shown = response.headers.get("location") ?? response.text;
  expect(isSuccess(endpointCase, response), `${label}: HTTP ${response.status} ${shown}`).toBe(true);
}

/**
 * Show that the same app works again once the fault is gone: resend the request, or, when the
 * failed attempt used up what the request carried, prepare and send a new one.
 */
async function expectRecovery(
  api: ApiClient,
  endpointCase: EndpointCase,
  prepared: PreparedRequest,
  label: string,
): Promise<ApiResponse> {
  const again = endpointCase.retryable === false ? await endpointCase.prepare(api) : prepared;
  const retried = await send(api, endpointCase, again);
  expectSuccess(endpointCase, retried, `${label}, retry`);
  return retried;
}

/** The Google, GitHub and Facebook fakes, approving every sign-in for a verified address. */
async function playOAuthProviders(t: TestApp): Promise<{
  approveAuthorization: (authorizationUrl: string, email: string) => Promise<URLSearchParams>;
  remove: () => void;
}> {
  const providers = new FakeOAuthProviders(t.clock);
  const remove = await providers.install();
  const approveAuthorization = async (authorizationUrl: string, email: string) =>
    providers.approve(authorizationUrl, { id: crypto.randomUUID(), email, emailVerified: true });
  return { approveAuthorization, remove };
}

afterAll(() => {
  if (outcomes.length > 0) console.info(`Fault outcomes:\n${outcomes.join("\n")}`);
});

describe.skipIf(env.DATABASE_BACKEND === "postgres")("database faults", () => {
  const endpoint = new FaultyDatabaseEndpoint();
  let t: TestApp;
  let api: ApiClient;
  let documented: Set<string>;

  const removals: (() => void)[] = [];

  beforeAll(async () => {
    removals.push(endpoint.install());
    t = await createTestApp({
      bindings: { NEON_FETCH_ENDPOINT: endpoint.url },
      overrides: { databaseTimeoutMs: DATABASE_TIME_BUDGET_MS },
    });
    const providers = await playOAuthProviders(t);
    removals.push(providers.remove);
    api = apiOf(t, { headers: distinctClient, approveAuthorization: providers.approveAuthorization });
    documented = await documentedOperations(api);
  });
  afterAll(() => {
    for (const remove of removals) remove();
  });

  /**
   * Fail the request at `position` (1 = its first round trip) and check the response, the database
   * and the retry. Returns false when the request finished before reaching that round trip.
   */
  async function breakAt(endpointCase: EndpointCase, kind: DatabaseFaultKind, position: number): Promise<boolean> {
    const label = `${describeCase(endpointCase)}, ${kind} at round trip ${position}`;
    const prepared = await endpointCase.prepare(api);
    const before = await databaseDigest(t);

    endpoint.arm(kind, position);
    const started = Date.now();
    const response = await send(api, endpointCase, prepared);
    const elapsedMs = Date.now() - started;
    const reached = endpoint.faultedRequests > 0;
    endpoint.clear();

    if (!reached) {
      expectSuccess(endpointCase, response, label);
      return false;
    }
    expectServiceUnavailable(endpointCase, response, label);
    expect(changedTables(before, await databaseDigest(t)), `${label} wrote part of its change`).toEqual([]);
    if (kind === "hang") expect(elapsedMs, `${label} waited past the time budget`).toBeLessThan(3_000);

    const retried = await expectRecovery(api, endpointCase, prepared, label);
    outcomes.push(`${label}: 503, nothing written, retry ${retried.status}`);
    return true;
  }

  describe("endpoint down at each round trip", () => {
    for (const endpointCase of ENDPOINT_CASES) {
      it(
        describeCase(endpointCase),
        async (context) => {
          skipUnlessRunnable(endpointCase, api, documented, (note) => context.skip(note));
          let position = 1;
          while (await breakAt(endpointCase, "refused", position)) {
            position += 1;
            expect(position, "more round trips than any operation should need").toBeLessThanOrEqual(MAX_POSITIONS);
          }
        },
        CASE_TIMEOUT_MS,
      );
    }
  });

  // A 500 from the endpoint reaches the same error handling as a refused connection, which every
  // operation goes through above, so the operations with a round-trip target stand for the rest.
  describe("endpoint returning HTTP 500", () => {
    for (const endpointCase of TARGETED_CASES) {
      it(describeCase(endpointCase), async (context) => {
        skipUnlessRunnable(endpointCase, api, documented, (note) => context.skip(note));
        await breakAt(endpointCase, "http_500", 1);
      });
    }
  });

  // The time budget covers the whole request the same way for every operation, so the operations
  // with a round-trip target stand for the rest.
  describe("endpoint slower than the time budget", () => {
    for (const endpointCase of TARGETED_CASES) {
      it(describeCase(endpointCase), async (context) => {
        skipUnlessRunnable(endpointCase, api, documented, (note) => context.skip(note));
        await breakAt(endpointCase, "hang", 1);
      });
    }
  });
});

/**
 * Run every case with `fault` switched on for the measured request only. A 503 must leave the
 * database consistent and the retry must succeed; any other outcome must be the case's own.
 */
function describeBindingFault(
  title: string,
  setUp: () => Promise<{ t: TestApp; api: ApiClient; fault: FaultSwitch; remove?: () => void }>,
  cases: EndpointCase[] = ENDPOINT_CASES,
) {
  describe.skipIf(env.DATABASE_BACKEND === "postgres")(title, () => {
    let t: TestApp;
    let api: ApiClient;
    let fault: FaultSwitch;
    let documented: Set<string>;
    let remove: (() => void) | undefined;

    beforeAll(async () => {
      ({ t, api, fault, remove } = await setUp());
      documented = await documentedOperations(api);
    });
    afterAll(() => remove?.());

    for (const endpointCase of cases) {
      itUnlessKnownToFail(title, describeCase(endpointCase))(describeCase(endpointCase), async (context) => {
        skipUnlessRunnable(endpointCase, api, documented, (note) => context.skip(note));
        const label = `${describeCase(endpointCase)} with ${title}`;
        const prepared = await endpointCase.prepare(api);
        const before = await databaseDigest(t);

        fault.failing = true;
        fault.failedCalls.length = 0;
        const response = await send(api, endpointCase, prepared).finally(() => {
          fault.failing = false;
        });

        expectNoInternalError(response, label);
        if (fault.failedCalls.length === 0) {
          expectSuccess(endpointCase, response, label);
          return;
        }
        if (reportsUnavailable(endpointCase, response)) {
          expectServiceUnavailable(endpointCase, response, label);
          expect(await consistencyViolations(t), label).toEqual([]);
          const changed = changedTables(before, await databaseDigest(t));
          const retried = await expectRecovery(api, endpointCase, prepared, label);
          outcomes.push(`${label}: 503 (changed: ${changed.join(", ") || "nothing"}), retry ${retried.status}`);
          return;
        }
        expectSuccess(endpointCase, response, label);
        outcomes.push(`${label}: ${response.status} despite failed ${fault.failedCalls.join(", ")}`);
      });
    }
  });
}

describeBindingFault("KV failing", async () => {
  const { binding, fault } = failingBinding(env.OTP_KV, "OTP_KV");
  // The rate limits keep their counters in KV, so they are switched on here with their defaults;
  // every request comes from its own client address. The per-address code limit is relaxed so a
  // case can send a second code to the address it just signed up.
  const rateLimits = {
    RATE_LIMIT_CODE_SENDS_PER_DESTINATION: "20/1m, 100/1h",
    RATE_LIMIT_CODE_SENDS_PER_CLIENT: "20/1h",
    RATE_LIMIT_CODE_CHECKS_PER_CLIENT: "60/1h",
    RATE_LIMIT_SIGNUPS_PER_CLIENT: "20/1h",
    RATE_LIMIT_FORGOT_PASSWORD_PER_EMAIL: "3/1h",
    RATE_LIMIT_AUTH_REQUESTS_PER_CLIENT: "300/1h",
  };
  const t = await createTestApp({ bindings: rateLimits, settings: { OTP_KV: binding } });
  const { approveAuthorization, remove } = await playOAuthProviders(t);
  return { t, api: apiOf(t, { headers: distinctClient, approveAuthorization }), fault, remove };
});

describeBindingFault(
  "R2 failing",
  async () => {
    const { binding, fault } = failingBinding(env.KYC_BUCKET, "KYC_BUCKET");
    const t = await createTestApp({ settings: { KYC_BUCKET: binding } });
    return { t, api: apiOf(t, { headers: distinctClient }), fault };
  },
  casesMatching(/\/kyc/),
);

/** The catalog cases whose label matches `pattern`. */
function casesMatching(pattern: RegExp): EndpointCase[] {
  return ENDPOINT_CASES.filter((endpointCase) => pattern.test(describeCase(endpointCase)));
}

// Every case that may send a message runs against a provider returning HTTP 500. The adapters
// turn a refused connection and a timeout into the same error as a 500, so those two run only
// for the operations that send codes and links.
const MAIL_CASES = casesMatching(/signup|email|password|otp|login|kyc|admin|DELETE \/v1\/me$/);
const SMS_CASES = casesMatching(/mobile|otp|login/);
const CODE_SENDING_CASES = casesMatching(
  /^POST \/v1\/(auth\/signup|auth\/password\/forgot|auth\/otp\/request|me\/email|me\/mobile)( |$)/,
);

type ProviderFault = "http_500" | "refused" | "hang";

const PROVIDER_FAULT_TITLES: Record<ProviderFault, string> = {
  http_500: "returning HTTP 500",
  refused: "unreachable",
  hang: "timing out",
};

/**
 * A message provider at its real address, faked: it records each message while healthy and fails
 * the chosen way while the switch is on. `readMessage` takes the recipients and text out of one
 * request to the provider.
 */
function fakeProvider(
  origin: string,
  mode: ProviderFault,
  readMessage: (request: Request) => Promise<{ to: string[]; text: string }>,
): { fault: FaultSwitch; latestMessage: (address: string) => string | undefined; remove: () => void } {
  const fault: FaultSwitch = { failing: false, failedCalls: [] };
  const sent: { to: string; text: string }[] = [];
  const remove = fakeHost(origin, async (request) => {
    const message = await readMessage(request);
    if (!fault.failing) {
      for (const to of message.to) sent.push({ to, text: message.text });
      return Response.json({ id: crypto.randomUUID() }, { status: 201 });
    }
    fault.failedCalls.push("send");
    if (mode === "refused") throw new TypeError("Network connection lost.");
    if (mode === "http_500") return Response.json({ message: "internal server error" }, { status: 500 });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      request.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    throw request.signal.reason ?? new DOMException("The operation timed out.", "TimeoutError");
  });
  const latestMessage = (address: string) => sent.findLast((message) => message.to === address)?.text;
  return { fault, latestMessage, remove };
}

for (const mode of ["http_500", "refused", "hang"] as const) {
  describeBindingFault(
    `mail provider ${PROVIDER_FAULT_TITLES[mode]}`,
    async () => {
      const resend = fakeProvider("https://api.resend.com", mode, async (request) => {
        const body = (await request.json()) as { to: string[]; text: string };
        return { to: body.to, text: body.text };
      });
      const mailer = new ResendMailer({
        apiKey: "re_test_0123456789abcdef",
        from: "Trade Identity <no-reply@app.test>",
        replyTo: undefined,
        timeoutMs: PROVIDER_TIMEOUT_MS,
      });
      const t = await createTestApp({ mailer });
      const latestMessage = async (address: string) =>
        address.startsWith("+") ? t.sms.messagesTo(address).at(-1)?.text : resend.latestMessage(address);
      return {
        t,
        api: apiOf(t, { headers: distinctClient, latestMessage }),
        fault: resend.fault,
        remove: resend.remove,
      };
    },
    mode === "http_500" ? MAIL_CASES : CODE_SENDING_CASES,
  );

  describeBindingFault(
    `SMS provider ${PROVIDER_FAULT_TITLES[mode]}`,
    async () => {
      const twilio = fakeProvider("https://api.twilio.com", mode, async (request) => {
        const form = new URLSearchParams(await request.text());
        return { to: [form.get("To") ?? ""], text: form.get("Body") ?? "" };
      });
      const smsSender = new TwilioSmsSender({
        accountSid: "AC0123456789abcdef0123456789abcdef",
        authToken: "test-auth-token",
        from: "+15005550006",
        messagingServiceSid: undefined,
        timeoutMs: PROVIDER_TIMEOUT_MS,
      });
      const t = await createTestApp({ smsSender });
      const latestMessage = async (address: string) =>
        address.startsWith("+") ? twilio.latestMessage(address) : t.mailer.messagesTo(address).at(-1)?.text;
      return {
        t,
        api: apiOf(t, { headers: distinctClient, latestMessage }),
        fault: twilio.fault,
        remove: twilio.remove,
      };
    },
    mode === "http_500" ? SMS_CASES : CODE_SENDING_CASES,
  );
}
