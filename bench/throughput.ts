// Throughput and latency with autocannon from this process against a `wrangler dev` Worker on
// loopback, and CPU time per request read from the Worker's workerd processes.
import autocannon from "autocannon";
import { processCpuNanoseconds, sleep } from "./lib/processes";
import type { RunningWorker } from "./lib/stack";
import { type PreparedWorkload, type Workload, withClientAddresses } from "./workloads";

export interface LoadOptions {
  durationSeconds: number;
  connections: number;
}

export interface ThroughputResult {
  workload: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  /** Responses with another status than the workload expects, plus connection errors and timeouts. */
  unexpected: number;
  statusCounts: Record<string, number>;
}

export async function measureThroughput(
  origin: string,
  workload: Workload,
  prepared: PreparedWorkload,
  options: LoadOptions,
): Promise<ThroughputResult> {
  const result = await autocannon({
    url: origin,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 30,
    requests: withClientAddresses(prepared.requests),
  });
  const statusCounts = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([status, stats]) => [status, stats.count]),
  );
  const expected = statusCounts[String(workload.expectedStatus)] ?? 0;
  const answered = Object.values(statusCounts).reduce((sum, count) => sum + count, 0);
  return {
    workload: workload.name,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: answered,
    unexpected: answered - expected + result.errors + result.timeouts,
    statusCounts,
  };
}

export interface CpuResult {
  workload: string;
  requests: number;
  /** CPU milliseconds per request above the idle baseline, summed over the Worker's workerd processes. */
  cpuMsPerRequest: number;
  wallMsPerRequest: number;
  unexpected: number;
}

function workerdCpuNanoseconds(worker: RunningWorker): number {
  return worker.workerdPids().reduce((sum, pid) => sum + processCpuNanoseconds(pid), 0);
}

/**
 * Send `count` requests one after another and divide the workerd CPU time they took by `count`,
 * after subtracting what workerd spends idle over the same wall time.
 */
export async function measureCpuPerRequest(
  worker: RunningWorker,
  workload: Workload,
  prepared: PreparedWorkload,
  count: number,
): Promise<CpuResult> {
  // Warm up: the first requests compile code paths and fill caches.
  for (let index = 0; index < 3; index++) await prepared.sendOne();

  const cpuBefore = workerdCpuNanoseconds(worker);
  const wallBefore = performance.now();
  let unexpected = 0;
  for (let index = 0; index < count; index++) {
    if ((await prepared.sendOne()) !== workload.expectedStatus) unexpected++;
  }
  const wallMs = performance.now() - wallBefore;
  const busyNs = workerdCpuNanoseconds(worker) - cpuBefore;

  const idleBefore = workerdCpuNanoseconds(worker);
  await sleep(wallMs);
  const idleNs = workerdCpuNanoseconds(worker) - idleBefore;

  return {
    workload: workload.name,
    requests: count,
    cpuMsPerRequest: Math.max(0, busyNs - idleNs) / 1e6 / count,
    wallMsPerRequest: wallMs / count,
    unexpected,
  };
}
