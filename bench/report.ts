// Renders BENCHMARKS.md from one run. Everything above the kept-notes marker is regenerated; the
// notes below it (decisions and their reasons, written by people) survive every run.
import { existsSync, readFileSync } from "node:fs";
import type { BundleReport, WranglerBundle } from "./bundle";
import type { FloorResult } from "./floor";
import type { HashingResult } from "./hashing";
import type { MachineInfo } from "./lib/machine";
import type { PeerRoundTrips, RoundTripResult } from "./round-trips";
import type { CpuResult, ThroughputResult } from "./throughput";

export const KEPT_NOTES_MARKER = "<!-- Everything below this line is kept when `npm run bench` rewrites the file. -->";

export interface WorkerMeasurements {
  throughput: ThroughputResult[];
  cpu: CpuResult[];
  notImplemented: string[];
  failures: string[];
}

export interface BackendReport {
  backend: "pglite" | "postgres";
  roundTrips?: RoundTripResult[];
  service: WorkerMeasurements;
  peer?: WorkerMeasurements;
  peerRoundTrips?: PeerRoundTrips;
}

export interface BenchReport {
  command: string;
  startedAt: Date;
  finishedAt?: Date;
  machine: MachineInfo;
  loadAverageAtEnd?: number[];
  load: { durationSeconds: number; connections: number };
  cpuRequests: number;
  hashing?: HashingResult;
  floor?: FloorResult[];
  bundle?: BundleReport;
  backends: BackendReport[];
  peerInstalled: boolean;
  notes: string[];
}

const BACKEND_NAMES = { pglite: "PGlite (embedded, one query at a time)", postgres: "PostgreSQL server" };

/** Round-trip targets for the headline table, by operation. */
const HEADLINE_TARGETS: { label: string; match: (result: RoundTripResult) => boolean; target: number }[] = [
  { label: "bearer-only identity check", match: (r) => r.case.variant === "user token on an admin route", target: 0 },
  { label: "bearer check, invalid token", match: (r) => r.case.variant === "invalid access token", target: 0 },
  { label: "GET /v1/me", match: (r) => r.label === "GET /v1/me", target: 1 },
  { label: "refresh", match: (r) => r.label === "POST /v1/auth/token/refresh", target: 1 },
  { label: "logout", match: (r) => r.label === "POST /v1/auth/logout", target: 1 },
  { label: "login", match: (r) => r.label === "POST /v1/auth/login", target: 2 },
  { label: "sign-up", match: (r) => r.label === "POST /v1/auth/signup", target: 2 },
  { label: "sign-up code verify", match: (r) => r.label === "POST /v1/auth/email/verify", target: 2 },
  { label: "one-time code verify", match: (r) => r.label === "POST /v1/auth/otp/verify", target: 2 },
];

function formatNumber(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function ratio(numerator: number | undefined, denominator: number | undefined, digits = 2): string {
  if (numerator === undefined || denominator === undefined || denominator === 0) return "n/a";
  return formatNumber(numerator / denominator, digits);
}

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const row of rows) lines.push(`| ${row.map(escapeCell).join(" | ")} |`);
  return lines.join("\n");
}

function roundTripCell(result: RoundTripResult | undefined): string {
  if (result === undefined) return "n/a";
  if (result.outcome === "measured") return String(result.roundTrips);
  if (result.outcome === "not implemented") return "not implemented yet";
  if (result.outcome === "unsupported") return "not measured";
  return "failed";
}

function verdict(result: RoundTripResult | undefined, target: number | undefined): string {
  if (result?.outcome !== "measured" || target === undefined) return "";
  return result.roundTrips <= target ? "meets target" : `**over target by ${result.roundTrips - target}**`;
}

function renderHeadline(backends: BackendReport[]): string {
  const first = backends.find((backend) => backend.roundTrips !== undefined);
  if (first?.roundTrips === undefined) return "Round trips were not measured in this run.\n";
  const byBackend = backends.filter((backend) => backend.roundTrips !== undefined);
  const header = ["operation", "target", ...byBackend.map((backend) => backend.backend), ""];
  const rows = HEADLINE_TARGETS.map(({ label, match, target }) => {
    const results = byBackend.map((backend) => backend.roundTrips?.find(match));
    return [label, `≤ ${target}`, ...results.map(roundTripCell), verdict(results[0], target)];
  });
  return `${table(header, rows)}\n`;
}

function renderAllRoundTrips(backends: BackendReport[]): string {
  const byBackend = backends.filter((backend) => backend.roundTrips !== undefined);
  const first = byBackend[0]?.roundTrips;
  if (first === undefined) return "";
  const rows = first.map((result, index) => {
    const cells = byBackend.map((backend) => roundTripCell(backend.roundTrips?.[index]));
    const target = result.case.maxRoundTrips === undefined ? "" : `≤ ${result.case.maxRoundTrips}`;
    let detail = verdict(result, result.case.maxRoundTrips);
    if (result.outcome === "not implemented") detail = `missing: ${result.missing.join(", ")}`;
    if (result.outcome === "failed") detail = result.message;
    if (result.outcome === "unsupported") detail = result.reason;
    return [result.label, target, ...cells, detail];
  });
  const header = ["operation", "target", ...byBackend.map((backend) => backend.backend), "note"];
  return `${table(header, rows)}\n`;
}

function formatStartup(startupMs: number | undefined): string {
  return startupMs === undefined ? "does not load outside workerd" : formatNumber(startupMs);
}

function sizeRow(name: string, build: WranglerBundle, targetKiB: number): string[] {
  return [
    name,
    formatNumber(build.uploadKiB),
    formatNumber(build.gzipKiB),
    build.gzipKiB <= targetKiB ? "yes" : "**no**",
    formatStartup(build.startupMs),
  ];
}

function peerSizeRow(name: string, ours: WranglerBundle, peer: WranglerBundle): string[] {
  return [
    name,
    formatNumber(ours.gzipKiB),
    formatNumber(peer.gzipKiB),
    ratio(ours.gzipKiB, peer.gzipKiB),
    formatStartup(ours.startupMs),
    formatStartup(peer.startupMs),
  ];
}

function renderBundle(bundle: BundleReport | undefined): string {
  if (bundle === undefined) return "The bundle was not measured in this run.\n";
  const lines: string[] = [];
  const target = 250;
  lines.push(
    table(
      ["build", "upload (KiB)", "gzip (KiB)", `≤ ${target} KiB gzip`, "startup (ms)"],
      [
        sizeRow("as deployed (`--env production`, which sets `minify = true`)", bundle.deployed, target),
        sizeRow("unminified (`--minify=false`)", bundle.unminified, target),
      ],
    ),
  );
  lines.push("");
  lines.push(
    "Startup is the minimum processor time, over 15 fresh Node 24 processes (the V8 engine workerd also runs), to compile the bundle and run its top level: the part of a Worker's cold start that the bundle decides.",
  );
  lines.push("");
  lines.push("Largest parts of the deployed bundle (esbuild metafile, minified bytes before compression):");
  lines.push("");
  const total = bundle.dependencies.reduce((sum, share) => sum + share.bytes, 0);
  lines.push(
    table(
      ["package", "KiB", "share"],
      bundle.dependencies
        .slice(0, 6)
        .map((share) => [
          share.name,
          formatNumber(share.bytes / 1024),
          `${formatNumber((share.bytes / total) * 100, 0)} %`,
        ]),
    ),
  );
  lines.push("");
  lines.push(
    `Of zod's share, ${formatNumber(bundle.zodLocalesBytes / 1024)} KiB are its translated error messages (\`zod/v4/locales\`).`,
  );
  lines.push("");
  lines.push("Alternatives, each bundled alone with esbuild (minified, wrangler's resolve conditions):");
  lines.push("");
  lines.push(
    table(
      ["what", "variant", "minified (KiB)", "gzip (KiB)", "startup (ms)", "note"],
      bundle.alternatives.map((alternative) => [
        alternative.group,
        alternative.name,
        formatNumber(alternative.minifiedKiB),
        formatNumber(alternative.gzipKiB),
        alternative.startupMs === undefined ? "" : formatNumber(alternative.startupMs),
        alternative.note ?? "",
      ]),
    ),
  );
  return `${lines.join("\n")}\n`;
}

function renderThroughput(measurements: WorkerMeasurements, healthName: string): string {
  const health = measurements.throughput.find((result) => result.workload === healthName);
  const rows = measurements.throughput.map((result) => [
    result.workload,
    formatNumber(result.requestsPerSecond),
    ratio(result.requestsPerSecond, health?.requestsPerSecond),
    formatNumber(result.p50Ms, 0),
    formatNumber(result.p99Ms, 0),
    String(result.total),
    result.unexpected === 0 ? "0" : `**${result.unexpected}** (${JSON.stringify(result.statusCounts)})`,
  ]);
  for (const name of measurements.notImplemented) rows.push([name, "not implemented yet", "", "", "", "", ""]);
  for (const failure of measurements.failures) rows.push([failure, "failed", "", "", "", "", ""]);
  return `${table(["workload", "requests/s", "ratio to /health", "p50 (ms)", "p99 (ms)", "requests", "unexpected status"], rows)}\n`;
}

function renderCpu(measurements: WorkerMeasurements): string {
  const rows = measurements.cpu.map((result) => [
    result.workload,
    formatNumber(result.cpuMsPerRequest, 2),
    formatNumber(result.wallMsPerRequest, 1),
    String(result.requests),
    String(result.unexpected),
  ]);
  return `${table(["workload", "CPU ms per request", "wall ms per request", "requests", "unexpected status"], rows)}\n`;
}

function findThroughput(measurements: WorkerMeasurements | undefined, name: string): ThroughputResult | undefined {
  return measurements?.throughput.find((result) => result.workload === name);
}

function findCpu(measurements: WorkerMeasurements | undefined, name: string): CpuResult | undefined {
  return measurements?.cpu.find((result) => result.workload === name);
}

function renderPeer(report: BenchReport): string {
  if (!report.peerInstalled) return "The peer was not installed for this run (`npm install` in bench/peer).\n";
  const lines: string[] = [];
  const measured = report.backends.filter((backend) => backend.peer !== undefined);
  if (measured.length === 0) return "The peer was not measured in this run.\n";

  const first = measured[0];
  const serviceTrips = (label: string) => {
    const result = first?.roundTrips?.find((candidate) => candidate.label === label);
    return result?.outcome === "measured" ? result.roundTrips : undefined;
  };
  const peerTrips = first?.peerRoundTrips;
  const tripRows = [
    ["sign-up", serviceTrips("POST /v1/auth/signup"), peerTrips?.signUp],
    ["sign-in", serviceTrips("POST /v1/auth/login"), peerTrips?.signIn],
    ["session read (GET /v1/me vs get-session)", serviceTrips("GET /v1/me"), peerTrips?.sessionRead],
    ["sign-out", serviceTrips("POST /v1/auth/logout"), peerTrips?.signOut],
  ].map(([label, ours, theirs]) => [
    String(label),
    ours === undefined ? "not implemented yet" : String(ours),
    theirs === undefined ? "n/a" : String(theirs),
  ]);
  lines.push("Database round trips:");
  lines.push("");
  lines.push(table(["operation", "this service", "Better Auth"], tripRows));
  lines.push("");

  const pairs: [string, string, string][] = [
    ["health", "GET /health", "GET /health"],
    ["sign-in", "POST /v1/auth/login", "POST /api/auth/sign-in/email"],
    ["session read", "GET /v1/me", "GET /api/auth/get-session"],
    ["sign-up", "POST /v1/auth/signup", "POST /api/auth/sign-up/email"],
  ];
  for (const backend of measured) {
    lines.push(`Throughput and CPU on ${BACKEND_NAMES[backend.backend]}:`);
    lines.push("");
    const rows = pairs.map(([label, ours, theirs]) => {
      const ourLoad = findThroughput(backend.service, ours);
      const peerLoad = findThroughput(backend.peer, theirs);
      const ourCpu = findCpu(backend.service, ours);
      const peerCpu = findCpu(backend.peer, theirs);
      return [
        label,
        ourLoad === undefined ? "not measured" : formatNumber(ourLoad.requestsPerSecond),
        peerLoad === undefined ? "not measured" : formatNumber(peerLoad.requestsPerSecond),
        ratio(ourLoad?.requestsPerSecond, peerLoad?.requestsPerSecond),
        ourCpu === undefined ? "" : formatNumber(ourCpu.cpuMsPerRequest, 2),
        peerCpu === undefined ? "" : formatNumber(peerCpu.cpuMsPerRequest, 2),
      ];
    });
    lines.push(table(["operation", "ours req/s", "peer req/s", "ours / peer", "ours CPU ms", "peer CPU ms"], rows));
    lines.push("");
    if (backend.peer !== undefined && backend.peer.failures.length > 0) {
      lines.push(`Peer failures: ${backend.peer.failures.join("; ")}`);
      lines.push("");
    }
  }

  if (report.bundle?.peer !== undefined) {
    const ours = report.bundle;
    const peer = report.bundle.peer;
    lines.push("Bundle size (gzip KiB) and startup (ms, as above); both built by wrangler the same way:");
    lines.push("");
    lines.push(
      table(
        ["build", "this service", "Better Auth", "ours / peer", "startup ours", "startup peer"],
        [
          peerSizeRow("minified (as deployed)", ours.deployed, peer.deployed),
          peerSizeRow("unminified", ours.unminified, peer.unminified),
        ],
      ),
    );
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}

function renderMachine(report: BenchReport): string {
  const { machine } = report;
  const rows = [
    ["command", `\`${report.command}\``],
    ["date", `${report.startedAt.toISOString()} to ${report.finishedAt?.toISOString() ?? "?"}`],
    ["commit", machine.commit],
    ["processors (nproc)", String(machine.processors)],
    ["CPU model", machine.cpuModel],
    ["memory", `${formatNumber(machine.memoryGiB)} GiB (${formatNumber(machine.freeMemoryGiB)} GiB free at start)`],
    ["Node.js", machine.node],
    ["workerd", machine.workerd],
    ["wrangler", machine.wrangler],
    [
      "load average (1, 5, 15 min)",
      `${machine.loadAverage.map((value) => formatNumber(value, 2)).join(", ")} at start; ${report.loadAverageAtEnd?.map((value) => formatNumber(value, 2)).join(", ") ?? "?"} at the end`,
    ],
    ["load settings", `${report.load.durationSeconds} s per workload, ${report.load.connections} connections`],
  ];
  return `${table(["", ""], rows)}\n`;
}

export function renderReport(report: BenchReport, keptNotes: string | undefined): string {
  const sections: string[] = [];
  sections.push("# Benchmarks\n");
  sections.push(
    "Written by `npm run bench` (bench/run.ts). Benchmarks measure and report; they never fail a run on time. " +
      "Every number comes from the run described here, on loopback, with the service and the peer under `wrangler dev` (workerd).\n",
  );
  sections.push(renderMachine(report));
  if (report.notes.length > 0) sections.push(`${report.notes.map((note) => `- ${note}`).join("\n")}\n`);

  sections.push("## Database round trips (headline)\n");
  sections.push(
    "Counted at the local Neon endpoint (`GET /_neon_local/stats`): one SQL request or one batch is one round trip. " +
      "Each case's setup is not counted; the count waits until the endpoint has been idle for 100 ms, so work a request leaves to `waitUntil` is included.\n",
  );
  sections.push(renderHeadline(report.backends));
  sections.push("<details><summary>Every endpoint of the API contract</summary>\n");
  sections.push(renderAllRoundTrips(report.backends));
  sections.push("</details>\n");

  sections.push("## Worker bundle size\n");
  sections.push(renderBundle(report.bundle));

  sections.push("## Throughput and latency under `wrangler dev`\n");
  sections.push(
    `autocannon (programmatic API) in the benchmark process, ${report.load.connections} connections for ${report.load.durationSeconds} s per workload, against one \`wrangler dev\` Worker on 127.0.0.1. ` +
      "The ratio compares each workload with `GET /health` of the same run, which touches neither the database nor crypto. " +
      "The load generator, workerd and the local Neon endpoint share the machine's processors, so absolute numbers are lower than on separate machines. " +
      "Refresh rotates a real token chain per connection; sign-up uses a new address per request; login signs one account in again and again.\n",
  );
  for (const backend of report.backends) {
    if (backend.service.throughput.length === 0 && backend.service.notImplemented.length === 0) continue;
    sections.push(`### ${BACKEND_NAMES[backend.backend]}\n`);
    sections.push(renderThroughput(backend.service, "GET /health"));
  }

  sections.push("## CPU per request\n");
  sections.push(
    `Measured as the CPU time of the Worker's workerd processes (sum over their threads of \`/proc/<pid>/task/<tid>/schedstat\`, nanoseconds) across N requests sent one after another ` +
      `(N = ${report.cpuRequests}, a quarter of that for requests that hash a password), divided by N, minus what the same processes spend idle over the same wall time. ` +
      "It includes workerd's HTTP handling and the `wrangler dev` proxy's share inside workerd, so it is an upper bound for the Worker's own CPU time.\n",
  );
  for (const backend of report.backends) {
    if (backend.service.cpu.length === 0) continue;
    sections.push(`### ${BACKEND_NAMES[backend.backend]}\n`);
    sections.push(renderCpu(backend.service));
  }

  sections.push("### The runtime's own share\n");
  if (report.floor === undefined) sections.push("Not measured in this run.\n");
  else {
    sections.push(
      'The same measurements for a Worker that only returns `{"status":"ok"}`, under the same `wrangler dev`. ' +
        "The service's `GET /health` and the peer's, which returns before Better Auth runs, compare against these rows.\n",
    );
    const rows = report.floor.map((result) => [
      result.variant,
      formatNumber(result.cpu.cpuMsPerRequest, 2),
      formatNumber(result.throughput.requestsPerSecond),
      formatNumber(result.throughput.p50Ms, 0),
      formatNumber(result.throughput.p99Ms, 0),
    ]);
    sections.push(`${table(["Worker", "CPU ms per request", "requests/s", "p50 (ms)", "p99 (ms)"], rows)}\n`);
  }

  sections.push("## Password hashing alone\n");
  if (report.hashing === undefined) sections.push("Not measured in this run.\n");
  else {
    const { hashing } = report;
    sections.push(
      `PBKDF2-HMAC-SHA-512 with ${hashing.iterations.toLocaleString("en")} iterations after the HMAC pepper, the service's own \`hashPassword\`, ` +
        `${hashing.samples} samples under Node.js ${report.machine.node} Web Crypto: mean ${formatNumber(hashing.meanMs)} ms (min ${formatNumber(hashing.minMs)}, max ${formatNumber(hashing.maxMs)}). ` +
        "Login and sign-up hash once each, so this is most of their CPU time above.\n",
    );
  }

  sections.push("## Comparison with Better Auth\n");
  sections.push(
    "Better Auth (bench/peer, its own package.json, not a dependency of the service) with email and password and default settings, " +
      "on the same runtime, driver (drizzle-orm/neon-http over @neondatabase/serverless) and local Neon endpoint, in its own database. " +
      "Its default password hash is scrypt in JavaScript; this service hashes with PBKDF2 in Web Crypto, so sign-in and sign-up CPU compare different hash functions.\n",
  );
  sections.push(renderPeer(report));

  sections.push(KEPT_NOTES_MARKER);
  sections.push(keptNotes ?? "\n## Notes and decisions\n\n(Written by people; `npm run bench` keeps this section.)\n");
  return sections.join("\n");
}

/** Read the hand-written part of an existing BENCHMARKS.md, below the marker. */
export function readKeptNotes(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, "utf8");
  const index = text.indexOf(KEPT_NOTES_MARKER);
  return index === -1 ? undefined : text.slice(index + KEPT_NOTES_MARKER.length);
}
