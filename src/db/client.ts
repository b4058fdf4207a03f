import { neon, neonConfig } from "@neondatabase/serverless";
import { drizzle, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import * as schema from "./schema";

export type Database = NeonHttpDatabase<typeof schema>;

/** Default time one request may wait on the database in total before it responds with 503. */
export const DATABASE_TIMEOUT_MS = 10_000;

/**
 * The time one request, or one scheduled run, may wait on the database in total. The timer starts
 * when the first query is built and `release` clears it. Releasing matters because workerd allows
 * 10,000 active timers per request context: timers that outlive their requests add up wherever
 * many requests share a context, as in the test suite's load run.
 */
export class DatabaseDeadline {
  readonly #timeoutMs: number;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(timeoutMs: number = DATABASE_TIMEOUT_MS) {
    this.#timeoutMs = timeoutMs;
  }

  /** Start the timer on first access and return the signal that aborts the database's requests. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      this.#timer = setTimeout(
        () => controller.abort(new DOMException("The database did not respond in time.", "TimeoutError")),
        this.#timeoutMs,
      );
    }
    return this.#controller.signal;
  }

  /** Stop the timer. Requests still under way keep running without a deadline. */
  release(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}

/**
 * Create the drizzle client for one request. `fetchEndpoint` is set only in development and tests,
 * where a local server speaks Neon's SQL-over-HTTP protocol; production posts to Neon itself.
 */
export function createDatabase(
  options: { url: string; fetchEndpoint: string | undefined },
  deadline: DatabaseDeadline,
): Database {
  if (options.fetchEndpoint !== undefined) {
    // Note: neonConfig is module-wide, but every request of one deployment sets the same value.
    neonConfig.fetchEndpoint = options.fetchEndpoint;
  }
  const client = neon(options.url, { fetchOptions: { signal: deadline.signal } });
  return drizzle({ client, schema });
}
