// Process helpers for the benchmarks: free ports, child process trees and their CPU time, read
// from /proc (Linux only).
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("The operating system assigned no port."));
      });
    });
  });
}

/** A child process in its own process group, with its output kept for error messages. */
export interface ManagedProcess {
  child: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

export function startProcess(command: string, args: string[], options: SpawnOptions = {}): ManagedProcess {
  const child = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 400) output.splice(0, output.length - 400);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return { child, output, stop: () => stopProcessGroup(child) };
}

/** Stop a child started by `startProcess` and everything it started, which share its process group. */
export async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  signalGroup(child.pid, "SIGTERM");
  const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
  if (timedOut) signalGroup(child.pid, "SIGKILL");
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group has already exited.
  }
}

/** Poll `url` until it returns 200, failing early with the process's output when it exits. */
export async function waitForHttpOk(url: string, managed: ManagedProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (managed.child.exitCode !== null) {
      throw new Error(`The process exited with code ${managed.child.exitCode}:\n${managed.output.join("")}`);
    }
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(300);
  }
  throw new Error(`${url} did not return 200 within ${timeoutMs} ms:\n${managed.output.join("")}`);
}

interface ProcStat {
  pid: number;
  parentPid: number;
  command: string;
}

function readProcStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command is in parentheses and may itself contain spaces or parentheses.
    const close = text.lastIndexOf(")");
    const command = text.slice(text.indexOf("(") + 1, close);
    const fields = text.slice(close + 2).split(" ");
    return { pid, parentPid: Number(fields[1]), command };
  } catch {
    return undefined;
  }
}

/** Every process below `rootPid`, found by walking parent ids in /proc. */
export function descendantsOf(rootPid: number): ProcStat[] {
  const all = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcStat(Number(name)))
    .filter((stat): stat is ProcStat => stat !== undefined);
  const found: ProcStat[] = [];
  const frontier = [rootPid];
  while (frontier.length > 0) {
    const parent = frontier.pop();
    for (const stat of all) {
      if (stat.parentPid === parent) {
        found.push(stat);
        frontier.push(stat.pid);
      }
    }
  }
  return found;
}

/**
 * CPU time of a process and all its threads in nanoseconds, from the scheduler statistics in
 * /proc/<pid>/task/<tid>/schedstat, which count nanoseconds where /proc/<pid>/stat counts 10 ms ticks.
 */
export function processCpuNanoseconds(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [onCpu] = readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ");
      total += Number(onCpu);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return total;
}
