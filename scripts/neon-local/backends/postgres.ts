import pg from "pg";
import { assertValidDatabaseName } from "./backend";
import type { PoolClient } from "pg";
import type { DatabaseBackend } from "./backend";

export interface PostgresBackendOptions {
  /** Connection URL whose database is used for CREATE and DROP DATABASE. */
  url: string;
  logger: (line: string) => void;
}

const connectionsPerDatabase = 10;

/**
 * Maps each logical database name to the real database of that name on one
 * Postgres server.
 *
 * A database that does not exist is not created on first use: the request
 * fails with the server's own error (SQLSTATE 3D000), because creating
 * databases behind the caller's back on a shared server would hide typos.
 */
export class PostgresBackend implements DatabaseBackend {
  readonly #url: string;
  readonly #logger: (line: string) => void;
  readonly #admin: pg.Pool;
  readonly #pools = new Map<string, pg.Pool>();

  constructor(options: PostgresBackendOptions) {
    this.#url = options.url;
    this.#logger = options.logger;
    this.#admin = this.#createPool(options.url, 2);
  }

  async connect(database: string): Promise<PoolClient> {
    assertValidDatabaseName(database);

    let pool = this.#pools.get(database);
    if (pool === undefined) {
      pool = this.#createPool(urlWithDatabase(this.#url, database), connectionsPerDatabase);
      this.#pools.set(database, pool);
    }
    return pool.connect();
  }

  async createDatabase(name: string, template?: string): Promise<void> {
    assertValidDatabaseName(name);
    if (template === undefined) {
      await this.#admin.query(`CREATE DATABASE "${name}"`);
      return;
    }

    assertValidDatabaseName(template);
    // Postgres refuses to copy a database while anyone is connected to it.
    await this.#closePool(template);
    await this.#admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  }

  async dropDatabase(name: string): Promise<void> {
    assertValidDatabaseName(name);

    await this.#closePool(name);
    await this.#admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values(), this.#admin];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.end()));
  }

  async #closePool(database: string): Promise<void> {
    const pool = this.#pools.get(database);
    if (pool === undefined) return;

    this.#pools.delete(database);
    await pool.end();
  }

  #createPool(connectionString: string, max: number): pg.Pool {
    const pool = new pg.Pool({ connectionString, max });
    // An idle connection can be ended by the server (DROP DATABASE ... WITH
    // (FORCE) from another process, a restart); without a listener the pool
    // would raise an unhandled 'error' event and end the process.
    pool.on("error", (error) => {
      this.#logger(JSON.stringify({ event: "postgres_connection_error", message: error.message }));
    });
    return pool;
  }
}

function urlWithDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
