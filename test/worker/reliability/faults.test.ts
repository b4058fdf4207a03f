// Every operation of the endpoint catalog under broken dependencies: the database endpoint down,
// returning HTTP 500 or hanging past the time budget, KV and R2 failing, and the mail provider
// failing or timing out. Each case must return a clear 503 service_unavailable (or its documented
// graceful outcome), leave nothing half-written, and work again on the same app instance once the
// fault clears. Operations missing from /openapi.json are skipped as not implemented yet.
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResendMailer } from "../../../src/adapters/mail/resend";
import { ERROR_CODES } from "../../../src/errors";
import type { ApiClient, ApiResponse } from "../../endpoints/api-client";
import {
  describeCase,
  documentedOperations,
  ENDPOINT_CASES,
  type EndpointCase,
  missingOperations,
  type PreparedRequest,
} from "../../endpoints/catalog";
import { apiOf, distinctClient } from "../helpers/api";
import { createTestApp, type TestApp } from "../helpers/app";
import { type DatabaseFaultKind, FaultyDatabaseEndpoint, type FaultSwitch, failingBinding } from "../helpers/faults";
import { changedTables, consistencyViolations, databaseDigest } from "../helpers/invariants";
import { fakeHost } from "../helpers/network";

const DATABASE_TIME_BUDGET_MS = 400;
const MAIL_TIMEOUT_MS = 300;
/** More round trips than any operation should need; a case past it is reported, not looped on. */
const MAX_POSITIONS = 6;
const CASE_TIMEOUT_MS = 90_000;

/** Outcomes seen per case and fault, printed once per file so the report can quote them. */
const outcomes: string[] = [];

function send(api: ApiClient, endpointCase: EndpointCase, prepared: PreparedRequest): Promise<ApiResponse> {
  return api.request(endpointCase.method, prepared.path, prepared.options);
}

/** Check for a 503 that a client can act on: problem+json, `service_unavailable`, `Retry-After`. */
function expectServiceUnavailable(response: ApiResponse, label: string): void {
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

function skipUnlessImplemented(
  endpointCase: EndpointCase,
  documented: Set<string>,
  skip: (note: string) => void,
): void {
  const missing = missingOperations(endpointCase, documented);
  if (missing.length > 0) skip(`not implemented yet: ${missing.join(", ")}`);
}

afterAll(() => {
  if (outcomes.length > 0) console.info(`Fault outcomes:\n${outcomes.join("\n")}`);
});

describe("database faults", () => {
  const endpoint = new FaultyDatabaseEndpoint();
  let t: TestApp;
  let api: ApiClient;
  let documented: Set<string>;

  let remove: () => void;

  beforeAll(async () => {
    remove = endpoint.install();
    t = await createTestApp({
      bindings: { NEON_FETCH_ENDPOINT: endpoint.url },
      overrides: { databaseTimeoutMs: DATABASE_TIME_BUDGET_MS },
    });
    api = apiOf(t, { headers: distinctClient });
    documented = await documentedOperations(api);
  });
  afterAll(() => remove());

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
      expect(endpointCase.expectedStatus, `${label}: ${response.text}`).toContain(response.status);
      return false;
    }
    expectServiceUnavailable(response, label);
    expect(changedTables(before, await databaseDigest(t)), `${label} wrote part of its change`).toEqual([]);
    if (kind === "hang") expect(elapsedMs, `${label} waited past the time budget`).toBeLessThan(3_000);

    const retried = await send(api, endpointCase, prepared);
    expect(endpointCase.expectedStatus, `${label}, retry: ${retried.text}`).toContain(retried.status);
    outcomes.push(`${label}: 503, nothing written, retry ${retried.status}`);
    return true;
  }

  describe("endpoint down at each round trip", () => {
    for (const endpointCase of ENDPOINT_CASES) {
      it(
        describeCase(endpointCase),
        async (context) => {
          skipUnlessImplemented(endpointCase, documented, (note) => context.skip(note));
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

  describe("endpoint returning HTTP 500", () => {
    for (const endpointCase of ENDPOINT_CASES) {
      it(describeCase(endpointCase), async (context) => {
        skipUnlessImplemented(endpointCase, documented, (note) => context.skip(note));
        await breakAt(endpointCase, "http_500", 1);
      });
    }
  });

  describe("endpoint slower than the time budget", () => {
    for (const endpointCase of ENDPOINT_CASES) {
      it(describeCase(endpointCase), async (context) => {
        skipUnlessImplemented(endpointCase, documented, (note) => context.skip(note));
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
) {
  describe(title, () => {
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

    for (const endpointCase of ENDPOINT_CASES) {
      it(describeCase(endpointCase), async (context) => {
        skipUnlessImplemented(endpointCase, documented, (note) => context.skip(note));
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
          expect(endpointCase.expectedStatus, `${label}: ${response.text}`).toContain(response.status);
          return;
        }
        if (response.status === 503) {
          expectServiceUnavailable(response, label);
          expect(await consistencyViolations(t), label).toEqual([]);
          const changed = changedTables(before, await databaseDigest(t));
          const retried = await send(api, endpointCase, prepared);
          expect(endpointCase.expectedStatus, `${label}, retry: ${retried.text}`).toContain(retried.status);
          outcomes.push(`${label}: 503 (changed: ${changed.join(", ") || "nothing"}), retry ${retried.status}`);
          return;
        }
        expect(endpointCase.expectedStatus, `${label}: ${response.text}`).toContain(response.status);
        outcomes.push(`${label}: ${response.status} despite failed ${fault.failedCalls.join(", ")}`);
      });
    }
  });
}

describeBindingFault("KV failing", async () => {
  const { binding, fault } = failingBinding(env.OTP_KV, "OTP_KV");
  const t = await createTestApp({ settings: { OTP_KV: binding } });
  return { t, api: apiOf(t, { headers: distinctClient }), fault };
});

describeBindingFault("R2 failing", async () => {
  const { binding, fault } = failingBinding(env.KYC_BUCKET, "KYC_BUCKET");
  const t = await createTestApp({ settings: { KYC_BUCKET: binding } });
  return { t, api: apiOf(t, { headers: distinctClient }), fault };
});

type MailFault = "http_500" | "refused" | "hang";

/**
 * Resend at its real address, faked: it records each message while healthy and fails the chosen
 * way while the switch is on. The switch's failed calls count the messages it refused.
 */
function fakeResend(mode: MailFault): {
  fault: FaultSwitch;
  latestMessage: (address: string) => Promise<string | undefined>;
  remove: () => void;
} {
  const fault: FaultSwitch = { failing: false, failedCalls: [] };
  const sent: { to: string; text: string }[] = [];
  const remove = fakeHost("https://api.resend.com", async (request) => {
    const body = (await request.json()) as { to: string[]; text: string };
    if (!fault.failing) {
      for (const to of body.to) sent.push({ to, text: body.text });
      return Response.json({ id: crypto.randomUUID() });
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
  const latestMessage = async (address: string) => sent.findLast((message) => message.to === address)?.text;
  return { fault, latestMessage, remove };
}

for (const mode of ["http_500", "refused", "hang"] as const) {
  describeBindingFault(
    `mail provider ${mode === "hang" ? "timing out" : mode === "refused" ? "unreachable" : "returning HTTP 500"}`,
    async () => {
      const resend = fakeResend(mode);
      const mailer = new ResendMailer({
        apiKey: "re_test_0123456789abcdef",
        from: "Trade Identity <no-reply@app.test>",
        replyTo: undefined,
        timeoutMs: MAIL_TIMEOUT_MS,
      });
      const t = await createTestApp({ mailer });
      return {
        t,
        api: apiOf(t, { headers: distinctClient, latestMessage: resend.latestMessage }),
        fault: resend.fault,
        remove: resend.remove,
      };
    },
  );
}
