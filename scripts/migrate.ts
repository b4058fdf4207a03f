// Applies the SQL migrations in drizzle/ over Neon's HTTP protocol, with the same driver the
// Worker uses: to Neon itself, or to the local endpoint in front of PGlite or a real Postgres.
//
//   npm run db:migrate                         DATABASE_URL (and NEON_FETCH_ENDPOINT for a local endpoint)
//   npm run db:migrate -- --postgres URL       a real Postgres server, through an in-process local endpoint
import { pathToFileURL } from "node:url";
import { neon, neonConfig } from "@neondatabase/serverless";
import { readMigrationFiles } from "drizzle-orm/migrator";

const MIGRATIONS_FOLDER = "drizzle";

export interface MigrateTarget {
  /** A Postgres connection string; with a local endpoint any host works and the path names the database. */
  connectionString: string;
  /** The local endpoint's SQL URL; unset for Neon. */
  fetchEndpoint?: string | undefined;
}

/**
 * Apply every migration not yet recorded, each in one transaction together with its record, so a
 * failing migration leaves nothing behind. Migrations are recorded in drizzle's own table, so
 * drizzle-kit sees the same history. Note: two runs at the same moment may both apply a migration;
 * deploys run migrations from one job at a time.
 */
export async function migrateDatabase(
  target: MigrateTarget,
  log: (line: string) => void = console.log,
): Promise<number> {
  if (target.fetchEndpoint !== undefined) neonConfig.fetchEndpoint = target.fetchEndpoint;
  const sql = neon(target.connectionString);

  await sql`CREATE SCHEMA IF NOT EXISTS drizzle`;
  await sql`CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`;
  const applied = await sql`SELECT hash FROM drizzle.__drizzle_migrations`;
  const appliedHashes = new Set(applied.map((row) => String(row.hash)));

  let count = 0;
  for (const migration of readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER })) {
    if (appliedHashes.has(migration.hash)) continue;
    const statements = migration.sql.map((statement) => statement.trim()).filter((statement) => statement !== "");
    await sql.transaction([
      ...statements.map((statement) => sql.query(statement)),
      sql.query("INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ($1, $2)", [
        migration.hash,
        migration.folderMillis,
      ]),
    ]);
    count++;
    log(`Applied migration ${migration.folderMillis} (${statements.length} statements)`);
  }
  return count;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const postgresIndex = args.indexOf("--postgres");
  if (postgresIndex !== -1) {
    const postgresUrl = args[postgresIndex + 1];
    if (postgresUrl === undefined)
      throw new Error("--postgres needs a connection string, e.g. postgres://postgres@127.0.0.1:5432/app");
    const { startNeonLocal } = await import("./neon-local/server");
    const database = new URL(postgresUrl).pathname.slice(1) || "postgres";
    const server = await startNeonLocal({ backend: { kind: "postgres", url: postgresUrl } });
    try {
      await migrateDatabase({
        connectionString: `postgres://migrate@db.localtest.me/${database}`,
        fetchEndpoint: server.url,
      });
    } finally {
      await server.close();
    }
    return;
  }

  const connectionString = process.env.DATABASE_URL;
  if (connectionString === undefined || connectionString === "") {
    throw new Error("DATABASE_URL is not set. Set it to the Neon connection string, or pass --postgres URL.");
  }
  const applied = await migrateDatabase({
    connectionString,
    fetchEndpoint: process.env.NEON_FETCH_ENDPOINT || undefined,
  });
  console.log(applied === 0 ? "The database is up to date." : `Applied ${applied} migration(s).`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
