// Database round trips per endpoint, counted at the local Neon endpoint: one SQL request, or one
// batch, is one round trip. Each case's setup runs first and is not counted.
import {
  describeCase,
  documentedOperations,
  ENDPOINT_CASES,
  type EndpointCase,
  isSuccess,
  missingOperations,
  unsupportedReason,
} from "../test/endpoints/catalog";
import type { ApiClient } from "../test/endpoints/api-client";
import { sleep } from "./lib/processes";
import { readRoundTripCount, type RunningWorker } from "./lib/stack";

export type RoundTripResult =
  | { case: EndpointCase; label: string; outcome: "measured"; roundTrips: number; status: number }
  | { case: EndpointCase; label: string; outcome: "not implemented"; missing: string[] }
  | { case: EndpointCase; label: string; outcome: "unsupported"; reason: string }
  | { case: EndpointCase; label: string; outcome: "failed"; message: string };

/** Wait until the count stops changing, so work a request left to `waitUntil` is included. */
export async function settledRoundTripCount(worker: RunningWorker): Promise<number> {
  let previous = await readRoundTripCount(worker);
  for (let checks = 0; checks < 20; checks++) {
    await sleep(100);
    const current = await readRoundTripCount(worker);
    if (current === previous) return current;
    previous = current;
  }
  return previous;
}

export async function measureRoundTrips(api: ApiClient, worker: RunningWorker): Promise<RoundTripResult[]> {
  const documented = await documentedOperations(api);
  const results: RoundTripResult[] = [];
  for (const endpointCase of ENDPOINT_CASES) {
    const label = describeCase(endpointCase);
    const missing = missingOperations(endpointCase, documented);
    if (missing.length > 0) {
      results.push({ case: endpointCase, label, outcome: "not implemented", missing });
      continue;
    }
    const reason = unsupportedReason(endpointCase, api);
    if (reason !== undefined) {
      results.push({ case: endpointCase, label, outcome: "unsupported", reason });
      continue;
    }
    try {
      const prepared = await endpointCase.prepare(api);
      const before = await settledRoundTripCount(worker);
      const response = await api.request(endpointCase.method, prepared.path, prepared.options);
      const roundTrips = (await settledRoundTripCount(worker)) - before;
      if (!isSuccess(endpointCase, response)) {
        const location = response.headers.get("location");
        const shown = location === null ? response.text.slice(0, 200) : `location ${location.slice(0, 200)}`;
        const message = `HTTP ${response.status}, expected ${endpointCase.expectedStatus.join(" or ")}: ${shown}`;
        results.push({ case: endpointCase, label, outcome: "failed", message });
        continue;
      }
      results.push({ case: endpointCase, label, outcome: "measured", roundTrips, status: response.status });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      results.push({ case: endpointCase, label, outcome: "failed", message: message.slice(0, 300) });
    }
  }
  return results;
}

export interface PeerRoundTrips {
  signUp: number;
  signIn: number;
  sessionRead: number;
  signOut: number;
}

/** Round trips of the Better Auth peer's email-and-password routes, counted the same way. */
export async function measurePeerRoundTrips(peer: RunningWorker): Promise<PeerRoundTrips> {
  const headers = { "content-type": "application/json", origin: peer.origin };
  const email = `peer-trips-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = "correct horse battery staple";

  async function counted(path: string, init: RequestInit, expectedStatus: number): Promise<[number, Response]> {
    const before = await settledRoundTripCount(peer);
    const response = await fetch(`${peer.origin}${path}`, init);
    await response.clone().text();
    const roundTrips = (await settledRoundTripCount(peer)) - before;
    if (response.status !== expectedStatus) {
      throw new Error(`peer ${path} returned HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
    }
    return [roundTrips, response];
  }

  const body = (value: unknown) => JSON.stringify(value);
  const [signUp] = await counted(
    "/api/auth/sign-up/email",
    { method: "POST", headers, body: body({ email, password, name: "Peer" }) },
    200,
  );
  const [signIn, signedIn] = await counted(
    "/api/auth/sign-in/email",
    { method: "POST", headers, body: body({ email, password }) },
    200,
  );
  const cookie = signedIn.headers
    .getSetCookie()
    .map((value) => value.split(";")[0])
    .join("; ");
  const [sessionRead] = await counted("/api/auth/get-session", { headers: { cookie, origin: peer.origin } }, 200);
  const [signOut] = await counted(
    "/api/auth/sign-out",
    { method: "POST", headers: { ...headers, cookie }, body: "{}" },
    200,
  );
  return { signUp, signIn, sessionRead, signOut };
}
