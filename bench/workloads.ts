// The request mixes the throughput and CPU benchmarks send: one kind of request per workload, for
// the service and for the Better Auth peer. Each workload builds its own accounts first, so the
// measured requests only repeat the operation itself.
import type { AutocannonRequest } from "autocannon";
import {
  type ApiClient,
  BENCH_PASSWORD,
  createActiveAccount,
  expectStatus,
  uniqueEmail,
} from "../test/endpoints/api-client";
import { nextBenchClientAddress } from "./lib/client-address";

export interface PreparedWorkload {
  /** The request sequence for autocannon; a context object is kept per connection. */
  requests: AutocannonRequest[];
  /** Send one request of this kind and return its status, for sequential CPU measurement. */
  sendOne(): Promise<number>;
}

export interface Workload {
  name: string;
  /** Operations ("POST /v1/auth/login") that must exist for the workload to run. */
  requires: string[];
  /** The status every measured request should get. */
  expectedStatus: number;
  prepare(connections: number): Promise<PreparedWorkload>;
}

const JSON_HEADERS = { "content-type": "application/json" };

function uniqueBenchEmail(): string {
  return `load-${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 12)}@example.com`;
}

async function send(origin: string, request: AutocannonRequest): Promise<{ status: number; text: string }> {
  const response = await fetch(`${origin}${request.path ?? "/"}`, {
    method: request.method ?? "GET",
    headers: { ...request.headers, "cf-connecting-ip": nextBenchClientAddress() },
    body: request.body,
  });
  return { status: response.status, text: await response.text() };
}

/**
 * Give each autocannon request its own client address, after the workload's own setup, so the
 * per-client rate limits count every request without refusing the load.
 */
export function withClientAddresses(requests: AutocannonRequest[]): AutocannonRequest[] {
  return requests.map((request) => ({
    ...request,
    setupRequest(outgoing, context) {
      const prepared = request.setupRequest === undefined ? outgoing : request.setupRequest(outgoing, context);
      if (prepared === undefined) return undefined;
      return { ...prepared, headers: { ...prepared.headers, "cf-connecting-ip": nextBenchClientAddress() } };
    },
  }));
}

/** Workloads against the service, through `api` and the Worker at `origin`. */
export function serviceWorkloads(api: ApiClient, origin: string): Workload[] {
  const health: Workload = {
    name: "GET /health",
    requires: ["GET /health"],
    expectedStatus: 200,
    async prepare() {
      const request = { method: "GET", path: "/health" };
      return { requests: [request], sendOne: async () => (await send(origin, request)).status };
    },
  };

  const me: Workload = {
    name: "GET /v1/me",
    requires: ["GET /v1/me"],
    expectedStatus: 200,
    async prepare() {
      const account = await createActiveAccount(api, "load-me");
      const request = { method: "GET", path: "/v1/me", headers: { authorization: `Bearer ${account.accessToken}` } };
      return { requests: [request], sendOne: async () => (await send(origin, request)).status };
    },
  };

  const refresh: Workload = {
    name: "POST /v1/auth/token/refresh",
    requires: ["POST /v1/auth/token/refresh"],
    expectedStatus: 200,
    async prepare(connections) {
      // Every request takes a current token from the pool and puts the rotated one back, so each
      // request is a real rotation, never a replay inside the grace window. autocannon clears a
      // connection's context before each pass over a one-request list, so the pool is shared.
      const pool: string[] = [];
      for (let index = 0; index < connections * 2 + 1; index++) {
        pool.push((await createActiveAccount(api, "load-refresh")).refreshToken);
      }
      const sequentialChain = { token: pool.pop() as string };
      const requests: AutocannonRequest[] = [
        {
          method: "POST",
          path: "/v1/auth/token/refresh",
          headers: JSON_HEADERS,
          setupRequest: (request) => ({ ...request, body: JSON.stringify({ refresh_token: pool.shift() }) }),
          onResponse(status, body) {
            if (status === 200) pool.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
          },
        },
      ];
      return {
        requests,
        async sendOne() {
          const response = await send(origin, {
            method: "POST",
            path: "/v1/auth/token/refresh",
            headers: JSON_HEADERS,
            body: JSON.stringify({ refresh_token: sequentialChain.token }),
          });
          if (response.status === 200) sequentialChain.token = JSON.parse(response.text).refresh_token;
          return response.status;
        },
      };
    },
  };

  const login: Workload = {
    name: "POST /v1/auth/login",
    requires: ["POST /v1/auth/login"],
    expectedStatus: 200,
    async prepare() {
      const account = await createActiveAccount(api, "load-login");
      const body = JSON.stringify({ identifier: account.email, password: account.password });
      const request = { method: "POST", path: "/v1/auth/login", headers: JSON_HEADERS, body };
      return { requests: [request], sendOne: async () => (await send(origin, request)).status };
    },
  };

  const signUp: Workload = {
    name: "POST /v1/auth/signup",
    requires: ["POST /v1/auth/signup"],
    expectedStatus: 202,
    async prepare() {
      const body = () => JSON.stringify({ email: uniqueBenchEmail(), password: BENCH_PASSWORD });
      const requests: AutocannonRequest[] = [
        {
          method: "POST",
          path: "/v1/auth/signup",
          headers: JSON_HEADERS,
          setupRequest: (request) => ({ ...request, body: body() }),
        },
      ];
      const sendOne = async () =>
        (await send(origin, { method: "POST", path: "/v1/auth/signup", headers: JSON_HEADERS, body: body() })).status;
      return { requests, sendOne };
    },
  };

  return [health, me, refresh, login, signUp];
}

/** Workloads against the Better Auth peer at `origin`, with its default email-and-password routes. */
export function peerWorkloads(origin: string): Workload[] {
  // Better Auth checks the Origin header of state-changing requests against its base URL.
  const headers = { ...JSON_HEADERS, origin };

  async function signUpPeerUser(): Promise<{ email: string; cookie: string }> {
    const email = uniqueEmail("peer");
    const response = await fetch(`${origin}/api/auth/sign-up/email`, {
      method: "POST",
      headers,
      body: JSON.stringify({ email, password: BENCH_PASSWORD, name: "Peer User" }),
    });
    const text = await response.text();
    expectStatus({ status: response.status, headers: response.headers, body: null, text }, 200, "peer sign-up");
    const cookie = response.headers
      .getSetCookie()
      .map((value) => value.split(";")[0])
      .join("; ");
    return { email, cookie };
  }

  const health: Workload = {
    name: "GET /health",
    requires: [],
    expectedStatus: 200,
    async prepare() {
      const request = { method: "GET", path: "/health" };
      return { requests: [request], sendOne: async () => (await send(origin, request)).status };
    },
  };

  const sessionRead: Workload = {
    name: "GET /api/auth/get-session",
    requires: [],
    expectedStatus: 200,
    async prepare() {
      const { cookie } = await signUpPeerUser();
      const request = { method: "GET", path: "/api/auth/get-session", headers: { cookie, origin } };
      return { requests: [request], sendOne: async () => (await send(origin, request)).status };
    },
  };

  const signIn: Workload = {
    name: "POST /api/auth/sign-in/email",
    requires: [],
    expectedStatus: 200,
    async prepare() {
      const { email } = await signUpPeerUser();
      const body = JSON.stringify({ email, password: BENCH_PASSWORD });
      const request = { method: "POST", path: "/api/auth/sign-in/email", headers, body };
      return { requests: [request], sendOne: async () => (await send(origin, request)).status };
    },
  };

  const signUp: Workload = {
    name: "POST /api/auth/sign-up/email",
    requires: [],
    expectedStatus: 200,
    async prepare() {
      const body = () => JSON.stringify({ email: uniqueBenchEmail(), password: BENCH_PASSWORD, name: "Load" });
      const requests: AutocannonRequest[] = [
        {
          method: "POST",
          path: "/api/auth/sign-up/email",
          headers,
          setupRequest: (request) => ({ ...request, body: body() }),
        },
      ];
      const sendOne = async () =>
        (await send(origin, { method: "POST", path: "/api/auth/sign-up/email", headers, body: body() })).status;
      return { requests, sendOne };
    },
  };

  return [health, sessionRead, signIn, signUp];
}
