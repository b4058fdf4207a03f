import { parseArgs } from "node:util";
import { startNeonLocal } from "./server";
import type { NeonLocalBackend } from "./server";

const usage = `Usage: tsx scripts/neon-local/cli.ts [--port 5480] [--host 127.0.0.1] [--data-dir DIR | --database-url URL]

Serves Neon's SQL-over-HTTP protocol locally for @neondatabase/serverless.
  --port          TCP port to listen on (default 5480; 0 picks a free one)
  --host          address to bind (default 127.0.0.1)
  --data-dir      keep PGlite databases in DIR, one subdirectory per database (default: in memory)
  --database-url  use a Postgres server instead of PGlite; the URL's database runs CREATE/DROP DATABASE`;

function parseOptions(): { port: number; host: string; backend: NeonLocalBackend } {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "5480" },
      host: { type: "string", default: "127.0.0.1" },
      "data-dir": { type: "string" },
      "database-url": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });

  if (values.help) {
    console.log(usage);
    process.exit(0);
  }

  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid --port "${values.port}": expected an integer from 0 to 65535`);
  }
  if (values["data-dir"] !== undefined && values["database-url"] !== undefined) {
    throw new Error(
      "--data-dir and --database-url are exclusive: --data-dir is for PGlite, --database-url for a Postgres server",
    );
  }

  const databaseUrl = values["database-url"];
  const backend: NeonLocalBackend =
    databaseUrl === undefined
      ? { kind: "pglite", dataDir: values["data-dir"] }
      : { kind: "postgres", url: databaseUrl };
  return { port, host: values.host, backend };
}

function describeBackend(backend: NeonLocalBackend): string {
  if (backend.kind === "postgres") return "postgres";
  return backend.dataDir === undefined ? "pglite in memory" : `pglite in ${backend.dataDir}`;
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions();
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    process.exit(2);
  }

  // stdout carries only the line with the URL, so a script can read it. The
  // request log goes to stderr.
  const server = await startNeonLocal({ ...options, logger: (line) => console.error(line) });
  console.log(`neon-local listening on ${server.url} (${describeBackend(options.backend)})`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(JSON.stringify({ event: "stopping", signal }));
    await server.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

await main();
