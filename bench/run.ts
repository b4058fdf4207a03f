// `npm run bench`: measures the service and writes BENCHMARKS.md. Nothing here fails on a slow
// number; a benchmark that cannot run is reported as such and the others go on.
//
//   npm run bench -- [--duration 10] [--connections 10] [--cpu-requests 100]
//                    [--only round-trips,bundle,load,cpu,floor,peer,hashing] [--skip-postgres]
//                    [--postgres-url postgres://postgres@127.0.0.1:5432/postgres] [--output BENCHMARKS.md]
//
// Everything runs on loopback: the service and the Better Auth peer under `wrangler dev`, on the
// local Neon endpoint over PGlite and then over the Postgres server, each in databases made for
// this run and removed afterwards.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { documentedOperations } from "../test/endpoints/catalog";
import { measureBundle } from "./bundle";
import { measureRuntimeFloor } from "./floor";
import { measurePasswordHashing } from "./hashing";
import { createHttpApi } from "./lib/http-api";
import { describeMachine } from "./lib/machine";
import {
  createServerDatabase,
  databaseUrlOn,
  PROJECT_ROOT,
  type RunningWorker,
  startPeer,
  startService,
} from "./lib/stack";
import { type BackendReport, type BenchReport, readKeptNotes, renderReport } from "./report";
import { measurePeerRoundTrips, measureRoundTrips } from "./round-trips";
import { measureCpuPerRequest, measureThroughput } from "./throughput";
import { peerWorkloads, serviceWorkloads, type Workload } from "./workloads";

const SECTIONS = ["round-trips", "bundle", "load", "cpu", "floor", "peer", "hashing"] as const;
type Section = (typeof SECTIONS)[number];

const { values: options } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "10" },
    "cpu-requests": { type: "string", default: "100" },
    only: { type: "string" },
    "skip-postgres": { type: "boolean", default: false },
    "postgres-url": { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
    output: { type: "string", default: "BENCHMARKS.md" },
  },
});

function parseSections(): Set<Section> {
  if (options.only === undefined) return new Set(SECTIONS);
  const requested = options.only.split(",").map((name) => name.trim());
  const unknown = requested.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`--only: unknown section ${unknown.join(", ")}; use ${SECTIONS.join(", ")}`);
  return new Set(requested as Section[]);
}

function positiveInteger(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return parsed;
}

function log(line: string): void {
  console.log(`bench: ${line}`);
}

async function postgresReachable(serverUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

function peerInstalled(): boolean {
  return existsSync(join(PROJECT_ROOT, "bench/peer/node_modules/better-auth"));
}

/** Throughput, then sequential CPU, for each workload whose operations exist. */
async function measureWorkloads(
  worker: RunningWorker,
  workloads: Workload[],
  documented: Set<string> | undefined,
  sections: Set<Section>,
  report: BackendReport["service"],
): Promise<void> {
  const load = {
    durationSeconds: positiveInteger("duration", options.duration),
    connections: positiveInteger("connections", options.connections),
  };
  const cpuRequests = positiveInteger("cpu-requests", options["cpu-requests"]);
  for (const workload of workloads) {
    const missing = documented === undefined ? [] : workload.requires.filter((operation) => !documented.has(operation));
    if (missing.length > 0) {
      report.notImplemented.push(workload.name);
      continue;
    }
    try {
      if (sections.has("load")) {
        log(`load: ${workload.name}`);
        const prepared = await workload.prepare(load.connections);
        report.throughput.push(await measureThroughput(worker.origin, workload, prepared, load));
      }
      if (sections.has("cpu")) {
        log(`cpu: ${workload.name}`);
        const prepared = await workload.prepare(1);
        const hashes = /login|signup|sign-in|sign-up/.test(workload.name);
        report.cpu.push(
          await measureCpuPerRequest(worker, workload, prepared, hashes ? Math.ceil(cpuRequests / 4) : cpuRequests),
        );
      }
    } catch (error) {
      report.failures.push(`${workload.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

async function measureBackend(
  backend: BackendReport["backend"],
  sections: Set<Section>,
  cleanups: (() => Promise<void>)[],
): Promise<BackendReport> {
  const workDir = mkdtempSync(join(tmpdir(), "bench-stack-"));
  cleanups.push(async () => rmSync(workDir, { recursive: true, force: true }));
  const runId = `${process.pid}_${Date.now().toString(36)}`;
  const report: BackendReport = {
    backend,
    service: { throughput: [], cpu: [], notImplemented: [], failures: [] },
  };

  let databaseUrl: string | undefined;
  let peerDatabase = "peer";
  if (backend === "postgres") {
    const serviceDatabase = `bench_${runId}`;
    peerDatabase = `bench_peer_${runId}`;
    cleanups.push(await createServerDatabase(options["postgres-url"], serviceDatabase));
    cleanups.push(await createServerDatabase(options["postgres-url"], peerDatabase));
    databaseUrl = databaseUrlOn(options["postgres-url"], serviceDatabase);
  }

  log(`${backend}: starting the service`);
  const service = await startService({ workDir, databaseUrl });
  cleanups.push(() => service.stop());
  const api = createHttpApi(service);
  const documented = await documentedOperations(api);

  if (sections.has("round-trips")) {
    log(`${backend}: round trips`);
    report.roundTrips = await measureRoundTrips(api, service);
  }
  if (sections.has("load") || sections.has("cpu")) {
    await measureWorkloads(service, serviceWorkloads(api, service.origin), documented, sections, report.service);
  }

  if (sections.has("peer") && peerInstalled()) {
    log(`${backend}: starting the Better Auth peer`);
    const peer = await startPeer({
      workDir,
      neonSqlUrl: service.neonSqlUrl,
      neonOrigin: service.neonOrigin,
      database: peerDatabase,
    });
    cleanups.push(() => peer.stop());
    report.peer = { throughput: [], cpu: [], notImplemented: [], failures: [] };
    try {
      report.peerRoundTrips = await measurePeerRoundTrips(peer);
    } catch (error) {
      report.peer.failures.push(`round trips: ${error instanceof Error ? error.message : String(error)}`);
    }
    await measureWorkloads(peer, peerWorkloads(peer.origin), undefined, sections, report.peer);
    await peer.stop();
  }

  await service.stop();
  return report;
}

async function main(): Promise<void> {
  const sections = parseSections();
  const startedAt = new Date();
  const machine = describeMachine();
  const report: BenchReport = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    startedAt,
    machine,
    load: { durationSeconds: Number(options.duration), connections: Number(options.connections) },
    cpuRequests: Number(options["cpu-requests"]),
    backends: [],
    peerInstalled: peerInstalled(),
    notes: [],
  };

  if (sections.has("hashing")) {
    log("password hashing");
    report.hashing = await measurePasswordHashing();
  }
  if (sections.has("floor")) {
    log("runtime floor");
    report.floor = await measureRuntimeFloor(
      {
        durationSeconds: positiveInteger("duration", options.duration),
        connections: positiveInteger("connections", options.connections),
      },
      positiveInteger("cpu-requests", options["cpu-requests"]),
    );
  }
  if (sections.has("bundle")) {
    log("bundle size");
    report.bundle = await measureBundle({ includePeer: sections.has("peer") && peerInstalled() });
  }

  const backends: BackendReport["backend"][] = ["pglite"];
  if (!options["skip-postgres"]) {
    if (await postgresReachable(options["postgres-url"])) backends.push("postgres");
    else
      report.notes.push(
        `The Postgres server at ${new URL(options["postgres-url"]).host} did not answer, so only PGlite was measured.`,
      );
  }
  if (!peerInstalled() && sections.has("peer")) {
    report.notes.push("The Better Auth peer is not installed; run `npm install` in bench/peer to include it.");
  }

  const needsStack = ["round-trips", "load", "cpu", "peer"].some((section) => sections.has(section as Section));
  for (const backend of needsStack ? backends : []) {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      report.backends.push(await measureBackend(backend, sections, cleanups));
    } catch (error) {
      report.notes.push(
        `${backend}: the run stopped early: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
      );
    } finally {
      for (const cleanup of cleanups.reverse()) {
        await cleanup().catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
      }
    }
  }

  report.finishedAt = new Date();
  report.loadAverageAtEnd = describeMachine().loadAverage;
  const output = resolve(PROJECT_ROOT, options.output);
  writeFileSync(output, renderReport(report, readKeptNotes(output)));
  log(`wrote ${options.output}`);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
