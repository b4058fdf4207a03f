// The runtime's own cost per request under `wrangler dev`, as a floor for the CPU and throughput
// figures: a Worker that only returns {"status":"ok"}, the same with one JSON log line per request
// (the service writes one), and the same behind static assets with run_worker_first, as the
// service's wrangler.toml configures it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFreePort, startProcess, waitForHttpOk } from "./lib/processes";
import { BIN, childEnv, type RunningWorker, workerdPidsOf } from "./lib/stack";
import {
  type CpuResult,
  type LoadOptions,
  measureCpuPerRequest,
  measureThroughput,
  type ThroughputResult,
} from "./throughput";
import type { Workload } from "./workloads";

const PROBE_SOURCE = `
export default {
  async fetch(request, env) {
    if (env.LOG === "1") {
      console.log(JSON.stringify({ time: new Date().toISOString(), level: "info", event: "request",
        request_id: crypto.randomUUID(), method: request.method, route: "/health", status: 200, duration_ms: 0 }));
    }
    return Response.json({ status: "ok" });
  },
};
`;

interface ProbeVariant {
  name: string;
  log: boolean;
  assets: boolean;
}

const VARIANTS: ProbeVariant[] = [
  { name: "empty Worker", log: false, assets: false },
  { name: "empty Worker, one log line per request", log: true, assets: false },
  { name: "empty Worker behind static assets (run_worker_first)", log: false, assets: true },
];

export interface FloorResult {
  variant: string;
  cpu: CpuResult;
  throughput: ThroughputResult;
}

async function startProbe(directory: string, variant: ProbeVariant): Promise<RunningWorker> {
  const config = [
    'name = "bench-runtime-floor"',
    'main = "index.js"',
    'compatibility_date = "2026-11-01"',
    ...(variant.assets
      ? ["", "[assets]", 'directory = "./public"', 'binding = "ASSETS"', "run_worker_first = true"]
      : []),
  ];
  writeFileSync(join(directory, "wrangler.toml"), `${config.join("\n")}\n`);

  const port = await findFreePort();
  const args = ["dev", "--port", String(port), "--ip", "127.0.0.1", "--show-interactive-dev-session=false"];
  args.push("--var", `LOG:${variant.log ? "1" : "0"}`, "--persist-to", join(directory, "state"));
  const managed = startProcess(join(BIN, "wrangler"), args, {
    cwd: directory,
    env: childEnv(),
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${origin}/health`, managed);
  return {
    origin,
    neonSqlUrl: "",
    neonOrigin: "",
    database: "",
    workerdPids: workerdPidsOf(managed),
    stop: () => managed.stop(),
  };
}

export async function measureRuntimeFloor(load: LoadOptions, cpuRequests: number): Promise<FloorResult[]> {
  const directory = mkdtempSync(join(tmpdir(), "bench-floor-"));
  const results: FloorResult[] = [];
  try {
    writeFileSync(join(directory, "index.js"), PROBE_SOURCE);
    mkdirSync(join(directory, "public"));
    writeFileSync(join(directory, "public", "robots.txt"), "User-agent: *\n");
    for (const variant of VARIANTS) {
      const probe = await startProbe(directory, variant);
      try {
        const request = { method: "GET", path: "/health" };
        const send = async () => {
          const response = await fetch(`${probe.origin}/health`);
          await response.text();
          return response.status;
        };
        const workload: Workload = {
          name: variant.name,
          requires: [],
          expectedStatus: 200,
          prepare: async () => ({ requests: [request], sendOne: send }),
        };
        const prepared = await workload.prepare(load.connections);
        const throughput = await measureThroughput(probe.origin, workload, prepared, load);
        const cpu = await measureCpuPerRequest(probe, workload, prepared, cpuRequests);
        results.push({ variant: variant.name, cpu, throughput });
      } finally {
        await probe.stop();
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return results;
}
