// Starts what the benchmarks measure: the service under `wrangler dev` the way `npm run dev` runs
// it (scripts/dev.ts on free ports with a temporary database, settings file and KV state), and the
// Better Auth peer as a second `wrangler dev` Worker on the same local Neon endpoint.
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { neon, neonConfig } from "@neondatabase/serverless";
import pg from "pg";
import { descendantsOf, findFreePort, type ManagedProcess, startProcess, waitForHttpOk } from "./processes";

export const PROJECT_ROOT = resolve(import.meta.dirname, "../..");
export const BIN = join(PROJECT_ROOT, "node_modules/.bin");
const QUIET_WRANGLER_ENV = { CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

export type Backend = { kind: "pglite" } | { kind: "postgres"; serverUrl: string };

export interface RunningWorker {
  origin: string;
  /** The local Neon endpoint's SQL URL and origin (for `/_neon_local/stats`). */
  neonSqlUrl: string;
  neonOrigin: string;
  /** The logical database name the Worker's connection string selects. */
  database: string;
  /** The workerd processes serving this Worker. */
  workerdPids(): number[];
  stop(): Promise<void>;
}

/** Build the environment for wrangler and other project tools: quiet, with the project's bin first on PATH. */
export function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...QUIET_WRANGLER_ENV, PATH: `${BIN}:${process.env.PATH ?? ""}` };
}

/** A function listing the workerd processes that `managed` started. */
export function workerdPidsOf(managed: ManagedProcess): () => number[] {
  return () => {
    if (managed.child.pid === undefined) return [];
    return descendantsOf(managed.child.pid)
      .filter((stat) => stat.command === "workerd")
      .map((stat) => stat.pid);
  };
}

/** Create an empty database on a Postgres server; the returned function drops it. */
export async function createServerDatabase(serverUrl: string, name: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return async () => {
    const dropper = new pg.Client({ connectionString: serverUrl });
    await dropper.connect();
    try {
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await dropper.end();
    }
  };
}

/** The URL of database `name` on the server that `serverUrl` points at. */
export function databaseUrlOn(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Settings the benchmark changes from the defaults. The default of one code per address per minute
 * would refuse the second code of a case that signs up and then asks for a sign-in code at once;
 * every other limit keeps its default, and each request comes from its own client address.
 */
const BENCH_SETTINGS = ["RATE_LIMIT_CODE_SENDS_PER_DESTINATION=20/1m, 100/1h"];

/**
 * Start the service with scripts/dev.ts. On PGlite the database lives in `workDir`; on Postgres
 * `databaseUrl` names a database that already exists and that dev.ts migrates.
 */
export async function startService(options: { workDir: string; databaseUrl?: string }): Promise<RunningWorker> {
  const [port, neonPort] = [await findFreePort(), await findFreePort()];
  // dev.ts adds the generated secrets to this file and keeps what is already there.
  writeFileSync(join(options.workDir, "dev.vars"), `${BENCH_SETTINGS.join("\n")}\n`, { mode: 0o600 });
  const args = ["scripts/dev.ts", "--port", String(port), "--neon-port", String(neonPort)];
  args.push("--data-dir", join(options.workDir, "pglite"), "--dev-vars", join(options.workDir, "dev.vars"));
  args.push("--persist-to", join(options.workDir, "wrangler-state"));
  if (options.databaseUrl !== undefined) args.push("--database-url", options.databaseUrl);

  const managed = startProcess(join(BIN, "tsx"), args, { cwd: PROJECT_ROOT, env: childEnv() });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${origin}/health`, managed);

  const database = options.databaseUrl === undefined ? "app" : new URL(options.databaseUrl).pathname.slice(1);
  return {
    origin,
    neonSqlUrl: `http://127.0.0.1:${neonPort}/sql`,
    neonOrigin: `http://127.0.0.1:${neonPort}`,
    database,
    workerdPids: workerdPidsOf(managed),
    stop: () => managed.stop(),
  };
}

/**
 * Start the Better Auth peer on the service's local Neon endpoint, in its own database, whose
 * tables it creates from bench/peer/schema.sql. On Postgres the database must already exist.
 */
export async function startPeer(options: {
  workDir: string;
  neonSqlUrl: string;
  neonOrigin: string;
  database: string;
}): Promise<RunningWorker> {
  const peerDir = join(PROJECT_ROOT, "bench/peer");
  const connectionString = `postgres://peer@db.localtest.me/${options.database}`;
  neonConfig.fetchEndpoint = options.neonSqlUrl;
  const sql = neon(connectionString);
  const schema = readFileSync(join(peerDir, "schema.sql"), "utf8");
  const statements = schema
    .replace(/--.*$/gm, "")
    .split(";")
    .map((statement) => statement.trim())
    .filter((statement) => statement !== "");
  await sql.transaction(statements.map((statement) => sql.query(statement)));

  const port = await findFreePort();
  const origin = `http://127.0.0.1:${port}`;
  const args = ["dev", "--config", join(peerDir, "wrangler.toml"), "--port", String(port), "--ip", "127.0.0.1"];
  args.push("--show-interactive-dev-session=false", "--persist-to", join(options.workDir, "peer-state"));
  args.push("--var", `DATABASE_URL:${connectionString}`, "--var", `NEON_FETCH_ENDPOINT:${options.neonSqlUrl}`);
  args.push("--var", `BETTER_AUTH_URL:${origin}`);
  const managed = startProcess(join(BIN, "wrangler"), args, { cwd: peerDir, env: childEnv() });
  await waitForHttpOk(`${origin}/health`, managed);

  return {
    origin,
    neonSqlUrl: options.neonSqlUrl,
    neonOrigin: options.neonOrigin,
    database: options.database,
    workerdPids: workerdPidsOf(managed),
    stop: () => managed.stop(),
  };
}

/** SQL requests the local Neon endpoint has served for `database` (a batch counts once). */
export async function readRoundTripCount(worker: RunningWorker): Promise<number> {
  const response = await fetch(`${worker.neonOrigin}/_neon_local/stats`);
  const stats = (await response.json()) as { requests: { byDatabase: Record<string, number> } };
  return stats.requests.byDatabase[worker.database] ?? 0;
}
