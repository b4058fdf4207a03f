import type { PoolClient } from "pg";

/**
 * Storage behind the endpoint: one logical database per name taken from the
 * path of the Neon-Connection-String header.
 */
export interface DatabaseBackend {
  /** Borrows a connection to `database`. The caller must release it. */
  connect(database: string): Promise<PoolClient>;
  createDatabase(name: string, template?: string): Promise<void>;
  /** Drops `name` and ends its open connections. A missing database is not an error. */
  dropDatabase(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * An error with a Postgres SQLSTATE that the endpoint raises itself, for
 * conditions where a real server would return that code.
 */
export class SqlStateError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "SqlStateError";
  }
}

export const sqlState = {
  invalidName: "42602",
  duplicateDatabase: "42P04",
  invalidCatalogName: "3D000",
} as const;

// Lower-case identifiers of at most 63 bytes need no quoting in Postgres and
// are safe as directory names for PGlite's data directories.
const databaseNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertValidDatabaseName(name: string): void {
  if (!databaseNamePattern.test(name)) {
    throw new SqlStateError(
      sqlState.invalidName,
      `invalid database name "${name}": use 1 to 63 lower-case letters, digits or underscores, not starting with a digit`,
    );
  }
}
