// Runs before every worker test file: outbound requests fail the test unless they go to the local
// Neon endpoint or to a host a test has faked with `fakeHost`.
import { env } from "cloudflare:test";
import { afterAll, afterEach } from "vitest";
import { dropTestDatabases } from "./helpers/app";
import { installFetchGuard, takeUnexpectedRequests } from "./helpers/network";

installFetchGuard([new URL(env.NEON_FETCH_ENDPOINT).origin]);

afterEach(() => {
  const unexpected = takeUnexpectedRequests();
  if (unexpected.length > 0) {
    throw new Error(`The test made outbound requests nobody expected: ${unexpected.join(", ")}`);
  }
});

afterAll(async () => {
  await dropTestDatabases();
});
