// The facts a benchmark record states about the machine and toolchain it ran on.
import { execFileSync } from "node:child_process";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "./stack";

export interface MachineInfo {
  processors: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  node: string;
  workerd: string;
  wrangler: string;
  commit: string;
  loadAverage: number[];
}

function commandOutput(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "unknown";
  }
}

export function describeMachine(): MachineInfo {
  const bin = join(PROJECT_ROOT, "node_modules/.bin");
  return {
    processors: Number(commandOutput("nproc", [])) || cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: totalmem() / 1024 ** 3,
    freeMemoryGiB: freemem() / 1024 ** 3,
    node: process.version,
    workerd: commandOutput(join(bin, "workerd"), ["--version"]),
    wrangler: commandOutput(join(bin, "wrangler"), ["--version"]),
    commit: commandOutput("git", ["rev-parse", "--short", "HEAD"]),
    loadAverage: loadavg(),
  };
}
