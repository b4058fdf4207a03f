// A bounded soak: a fixed number of mixed requests from concurrent clients against one app
// instance inside workerd, then checks that no response was a 5xx and that the database is still
// consistent. Each client owns one account, so every response it gets has one right status. Actions
// whose operations are missing from /openapi.json are left out until they exist.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Account,
  type ApiClient,
  BENCH_PASSWORD,
  createActiveAccount,
  latestCode,
  sessionIdOf,
  uniqueEmail,
} from "../../endpoints/api-client";
import { documentedOperations } from "../../endpoints/catalog";
import { apiOf, distinctClient } from "../helpers/api";
import { createTestApp, type TestApp } from "../helpers/app";
import { consistencyViolations } from "../helpers/invariants";

// The full soak runs on the Postgres server, where requests really overlap. PGlite runs one query
// at a time, so it gets a shorter run that checks the same invariants.
const TOTAL_REQUESTS = env.DATABASE_BACKEND === "postgres" ? 10_000 : 2_000;
const CLIENTS = 50;
/** Requests that hash a password cost about 50 ms of CPU each, so their number is capped. */
const MAX_HASHING_REQUESTS = 120;
const SOAK_TIMEOUT_MS = 600_000;

interface Client {
  api: ApiClient;
  account: Account;
}

interface Action {
  name: string;
  weight: number;
  requires: string[];
  hashes?: boolean;
  /** Send one request; returns the status it got and the statuses that would be right. */
  run(client: Client): Promise<{ status: number; expected: number[] }>;
}

const actions: Action[] = [
  {
    name: "health",
    weight: 10,
    requires: ["GET /health"],
    run: async ({ api }) => ({ status: (await api.request("GET", "/health")).status, expected: [200] }),
  },
  {
    name: "countries",
    weight: 3,
    requires: ["GET /v1/countries"],
    run: async ({ api }) => ({ status: (await api.request("GET", "/v1/countries")).status, expected: [200] }),
  },
  {
    name: "read me",
    weight: 30,
    requires: ["GET /v1/me"],
    async run({ api, account }) {
      const response = await api.request("GET", "/v1/me", { token: account.accessToken });
      return { status: response.status, expected: [200] };
    },
  },
  {
    name: "refresh",
    weight: 15,
    requires: ["POST /v1/auth/token/refresh"],
    async run(client) {
      const response = await client.api.request("POST", "/v1/auth/token/refresh", {
        body: { refresh_token: client.account.refreshToken },
      });
      if (response.status === 200) {
        client.account = {
          ...client.account,
          accessToken: response.body.access_token,
          refreshToken: response.body.refresh_token,
        };
      }
      return { status: response.status, expected: [200] };
    },
  },
  {
    name: "list sessions",
    weight: 5,
    requires: ["GET /v1/auth/sessions"],
    async run({ api, account }) {
      const response = await api.request("GET", "/v1/auth/sessions", { token: account.accessToken });
      return { status: response.status, expected: [200] };
    },
  },
  {
    name: "sign in again and sign the old session out",
    weight: 2,
    hashes: true,
    requires: ["POST /v1/auth/login", "POST /v1/auth/logout"],
    async run(client) {
      const login = await client.api.request("POST", "/v1/auth/login", {
        body: { identifier: client.account.email, password: client.account.password },
      });
      if (login.status !== 200) return { status: login.status, expected: [200] };
      const logout = await client.api.request("POST", "/v1/auth/logout", { token: client.account.accessToken });
      client.account = {
        ...client.account,
        accessToken: login.body.access_token,
        refreshToken: login.body.refresh_token,
      };
      return { status: logout.status, expected: [204] };
    },
  },
  {
    name: "wrong password for an unknown identifier",
    weight: 1,
    hashes: true,
    requires: ["POST /v1/auth/login"],
    async run({ api }) {
      const response = await api.request("POST", "/v1/auth/login", {
        body: { identifier: uniqueEmail("soak-nobody"), password: "not the right passphrase" },
      });
      return { status: response.status, expected: [401] };
    },
  },
  {
    name: "sign up and verify",
    weight: 2,
    hashes: true,
    requires: ["POST /v1/auth/signup", "POST /v1/auth/email/verify"],
    async run({ api }) {
      const email = uniqueEmail("soak-signup");
      const signUp = await api.request("POST", "/v1/auth/signup", { body: { email, password: BENCH_PASSWORD } });
      if (signUp.status !== 202 || Math.random() < 0.5) return { status: signUp.status, expected: [202] };
      const verify = await api.request("POST", "/v1/auth/email/verify", {
        body: { email, code: await latestCode(api, email) },
      });
      return { status: verify.status, expected: [200] };
    },
  },
  {
    name: "wrong sign-up code",
    weight: 3,
    requires: ["POST /v1/auth/email/verify"],
    async run({ api }) {
      const response = await api.request("POST", "/v1/auth/email/verify", {
        body: { email: uniqueEmail("soak-code"), code: "000000" },
      });
      return { status: response.status, expected: [400] };
    },
  },
  {
    name: "invalid requests",
    weight: 10,
    requires: [],
    async run({ api }) {
      const variants = [
        () => api.request("GET", "/v1/me", { token: "not.a.token" }),
        () => api.request("POST", "/v1/auth/signup", { rawBody: "{", headers: { "content-type": "application/json" } }),
        () => api.request("POST", "/v1/auth/signup", { body: { email: "x@example.com", role: "admin" } }),
        () => api.request("GET", "/v1/nowhere"),
        () => api.request("POST", "/v1/auth/signup", { rawBody: "email=x", headers: { "content-type": "text/plain" } }),
      ];
      const index = Math.floor(Math.random() * variants.length);
      const response = await (variants[index] as () => Promise<{ status: number }>)();
      return { status: response.status, expected: [[401], [400], [400], [404], [415]][index] as number[] };
    },
  },
];

function pickAction(available: Action[], hashingBudgetLeft: boolean): Action {
  const candidates = available.filter((action) => hashingBudgetLeft || !action.hashes);
  const total = candidates.reduce((sum, action) => sum + action.weight, 0);
  let roll = Math.random() * total;
  for (const action of candidates) {
    roll -= action.weight;
    if (roll <= 0) return action;
  }
  return candidates.at(-1) as Action;
}

describe("soak", () => {
  let t: TestApp;
  let api: ApiClient;
  let available: Action[];
  let clients: Client[];

  beforeAll(async () => {
    t = await createTestApp();
    api = apiOf(t, { headers: distinctClient });
    const documented = await documentedOperations(api);
    available = actions.filter((action) => action.requires.every((operation) => documented.has(operation)));
    clients = [];
    for (let index = 0; index < CLIENTS; index++) {
      clients.push({ api, account: await createActiveAccount(api, `soak-${index}`) });
    }
  }, SOAK_TIMEOUT_MS);

  it(
    `serves ${TOTAL_REQUESTS} mixed requests without a 5xx`,
    async () => {
      let sent = 0;
      let hashing = 0;
      const unexpected: string[] = [];
      const serverErrors: string[] = [];
      const counts: Record<string, number> = {};

      async function runClient(client: Client): Promise<void> {
        while (sent < TOTAL_REQUESTS) {
          sent += 1;
          const action = pickAction(available, hashing < MAX_HASHING_REQUESTS);
          if (action.hashes) hashing += 1;
          const { status, expected } = await action.run(client);
          counts[action.name] = (counts[action.name] ?? 0) + 1;
          if (status >= 500) serverErrors.push(`${action.name}: ${status}`);
          else if (!expected.includes(status))
            unexpected.push(`${action.name}: ${status}, expected ${expected.join(" or ")}`);
        }
      }

      await Promise.all(clients.map((client) => runClient(client)));

      expect(serverErrors).toEqual([]);
      expect(unexpected.slice(0, 20)).toEqual([]);
      expect(Object.keys(counts).sort()).toEqual(available.map((action) => action.name).sort());
    },
    SOAK_TIMEOUT_MS,
  );

  it("keeps every client's sessions bounded", async () => {
    for (const client of clients) {
      const live = await t.sql`
        SELECT id FROM auth_sessions WHERE user_id = ${client.account.userId} AND revoked_at IS NULL`;
      expect(
        live.map((row) => row.id),
        client.account.email,
      ).toEqual([sessionIdOf(client.account.accessToken)]);
    }
  });

  it("leaves the data consistent", async () => {
    expect(await consistencyViolations(t)).toEqual([]);
    const orphans = await t.sql`
      SELECT 'verification' AS kind, v.id::text FROM verifications v
        WHERE v.user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = v.user_id)
      UNION ALL
      SELECT 'session', s.id::text FROM auth_sessions s
        JOIN users u ON u.id = s.user_id WHERE u.status <> 'active' AND s.revoked_at IS NULL`;
    expect(orphans).toEqual([]);
  });
});
