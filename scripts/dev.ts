// `npm run dev`: the whole service on this machine with nothing else to start. It runs the local
// Neon endpoint on an embedded PGlite database persisted in .data/pglite (or on a real Postgres
// with --database-url URL), applies the migrations, writes development secrets into .dev.vars
// on first use, and starts `wrangler dev` on port 8787. Ctrl-C stops everything.
//
// --port, --neon-port, --data-dir, --dev-vars and --persist-to let a second instance (such as the
// browser test's) run beside a developer's without sharing ports, database, settings or KV state.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { generateEncryptionKeyringJson } from "../src/crypto/encryption";
import { generateSigningKeyJwk } from "../src/crypto/jwt";
import { generateRandomToken } from "../src/crypto/random";
import { migrateDatabase } from "./migrate";
import { startNeonLocal } from "./neon-local/server";

const DEFAULT_DEV_VARS_FILE = ".dev.vars";
const PGLITE_DATABASE_NAME = "app";

const { values: options } = parseArgs({
  options: {
    "database-url": { type: "string" },
    "data-dir": { type: "string", default: ".data/pglite" },
    "neon-port": { type: "string", default: process.env.NEON_LOCAL_PORT ?? "5480" },
    port: { type: "string", default: process.env.PORT ?? "8787" },
    "dev-vars": { type: "string", default: DEFAULT_DEV_VARS_FILE },
    "persist-to": { type: "string" },
  },
});

const DEV_VARS_FILE = options["dev-vars"];

/** Settings written to .dev.vars when missing; an existing value is never replaced. */
async function developmentSettings(port: string): Promise<Record<string, string>> {
  return {
    ENVIRONMENT: "development",
    APP_URL: `http://localhost:${port}`,
    JWT_SIGNING_KEYS: JSON.stringify({
      keys: [await generateSigningKeyJwk(`dev-${new Date().toISOString().slice(0, 10)}`)],
    }),
    PASSWORD_PEPPER: generateRandomToken(32),
    CODE_HASH_KEY: generateRandomToken(32),
    REFRESH_TOKEN_KEY: generateRandomToken(32),
    ENCRYPTION_KEYS: generateEncryptionKeyringJson("dev-1"),
  };
}

function readDevVars(): Map<string, string> {
  const vars = new Map<string, string>();
  if (!existsSync(DEV_VARS_FILE)) return vars;
  for (const line of readFileSync(DEV_VARS_FILE, "utf8").split("\n")) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) vars.set(match[1], match[2]);
  }
  return vars;
}

/** Add any missing development setting to .dev.vars, single-quoted so wrangler's dotenv parser keeps JSON values literal. */
async function ensureDevVars(port: string): Promise<void> {
  const existing = readDevVars();
  const missing = Object.entries(await developmentSettings(port)).filter(([name]) => !existing.has(name));
  if (missing.length === 0) return;

  const lines = missing.map(([name, value]) => `${name}='${value}'`);
  const header = existing.size === 0 ? "# Development settings written by `npm run dev`; see .dev.vars.example.\n" : "";
  const current = existsSync(DEV_VARS_FILE) ? readFileSync(DEV_VARS_FILE, "utf8").replace(/\n?$/, "\n") : "";
  writeFileSync(DEV_VARS_FILE, `${current}${header}${lines.join("\n")}\n`, { mode: 0o600 });
  console.log(`dev: wrote ${missing.map(([name]) => name).join(", ")} to ${DEV_VARS_FILE}`);
}

/**
 * Return the APP_URL this run must use instead of the settings file's, which is needed when that
 * file names a loopback URL on another port. Any other APP_URL was chosen by the developer and stays.
 */
function appUrlForPort(port: string): string | undefined {
  const configured = readDevVars().get("APP_URL");
  if (configured === undefined) return undefined;

  // Values in .dev.vars may be quoted, and ensureDevVars writes them single-quoted.
  const match = /^(['"]?)(http:\/\/(?:localhost|127\.0\.0\.1):(\d+))\/?\1$/.exec(configured.trim());
  if (match === null || match[3] === port) return undefined;
  return `http://localhost:${port}`;
}

/** Start wrangler dev; the database settings depend on this run's options, so they are passed as vars. */
function startWrangler(port: string, database: { url: string; fetchEndpoint: string }): ChildProcess {
  // --test-scheduled adds /__scheduled, which runs the cron handler once.
  const args = ["dev", "--port", port, "--ip", "127.0.0.1", "--show-interactive-dev-session=false", "--test-scheduled"];
  args.push("--var", `DATABASE_URL:${database.url}`, "--var", `NEON_FETCH_ENDPOINT:${database.fetchEndpoint}`);
  // OAuth redirect URIs, reset links and the JWT issuer derive from APP_URL, so a second instance on
  // another port must not keep the first one's.
  const appUrl = appUrlForPort(port);
  if (appUrl !== undefined) {
    args.push("--var", `APP_URL:${appUrl}`);
    console.log(`dev: APP_URL in ${DEV_VARS_FILE} is for another port, so this run passes APP_URL=${appUrl}`);
  }
  // wrangler reads .dev.vars by itself; any other settings file is passed as an env file, which
  // wrangler then reads instead of .dev.vars.
  if (DEV_VARS_FILE !== DEFAULT_DEV_VARS_FILE) args.push("--env-file", DEV_VARS_FILE);
  const persistTo = options["persist-to"];
  if (persistTo !== undefined) args.push("--persist-to", persistTo);
  return spawn("wrangler", args, {
    stdio: "inherit",
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
  });
}

async function main(): Promise<void> {
  const databaseUrl = options["database-url"];
  if (databaseUrl === undefined) mkdirSync(options["data-dir"], { recursive: true });
  const server = await startNeonLocal({
    backend: databaseUrl ? { kind: "postgres", url: databaseUrl } : { kind: "pglite", dataDir: options["data-dir"] },
    port: Number(options["neon-port"]),
  });
  console.log(
    `dev: local Neon endpoint on ${server.url} (${databaseUrl ? "Postgres" : `PGlite in ${options["data-dir"]}`})`,
  );

  // On Postgres the logical database is the one the URL names; PGlite creates its own on first use.
  const databaseName = databaseUrl ? new URL(databaseUrl).pathname.slice(1) || "postgres" : PGLITE_DATABASE_NAME;
  const database = { url: `postgres://dev@db.localtest.me/${databaseName}`, fetchEndpoint: server.url };
  const applied = await migrateDatabase({ connectionString: database.url, fetchEndpoint: server.url }, (line) =>
    console.log(`dev: ${line}`),
  );
  console.log(`dev: database ready (${applied} new migration(s))`);
  await ensureDevVars(options.port);

  const wrangler = startWrangler(options.port, database);
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    wrangler.kill("SIGTERM");
    await server.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  wrangler.on("exit", (code) => void stop(code ?? 0));
}

main().catch((error: unknown) => {
  console.error(`dev: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
