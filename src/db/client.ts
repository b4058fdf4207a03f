import { neon, neonConfig } from "@neondatabase/serverless";
import { drizzle, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import * as schema from "./schema";

export type Database = NeonHttpDatabase<typeof schema>;

/** Default time one request may wait on the database in total before it responds with 503. */
export const DATABASE_TIMEOUT_MS = 10_000;

/**
 * Create the drizzle client for one request. `fetchEndpoint` is set only in development and tests,
 * where a local server speaks Neon's SQL-over-HTTP protocol; production posts to Neon itself.
 */
export function createDatabase(
  options: { url: string; fetchEndpoint: string | undefined },
  timeoutMs: number = DATABASE_TIMEOUT_MS,
): Database {
  if (options.fetchEndpoint !== undefined) {
    // Note: neonConfig is module-wide, but every request of one deployment sets the same value.
    neonConfig.fetchEndpoint = options.fetchEndpoint;
  }
  const client = neon(options.url, {
    fetchOptions: { signal: AbortSignal.timeout(timeoutMs) },
  });
  return drizzle({ client, schema });
}
