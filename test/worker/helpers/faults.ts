// Fault injection for the reliability tests: a database endpoint that can refuse connections,
// return HTTP 500 or hang from a chosen request on, and KV and R2 bindings that can fail. Every
// fault is switched off by `clear()`, so a test can check that the same app instance recovers.
import { env } from "cloudflare:test";
import { fakeHost } from "./network";

export type DatabaseFaultKind = "refused" | "http_500" | "hang";

/** How long a hanging request waits for the driver to abort it before it gives up by itself. */
const HANG_LIMIT_MS = 5_000;

/**
 * A stand-in for the local Neon endpoint at its own origin. It forwards SQL requests to the real
 * endpoint until a fault is armed; from the armed request on, every request fails the chosen way.
 */
export class FaultyDatabaseEndpoint {
  readonly origin = "http://faulty-database.test";
  readonly url = `${this.origin}/sql`;
  private fault: { kind: DatabaseFaultKind; fromRequest: number } | undefined;
  private requestsSinceArmed = 0;
  /** Requests that reached a fault, so a test can tell whether its request got that far. */
  faultedRequests = 0;

  /** Start intercepting; the returned function stops it. */
  install(): () => void {
    return fakeHost(this.origin, (request) => this.handle(request));
  }

  /** Fail the `fromRequest`-th SQL request from now (1 = the next one) and every later one. */
  arm(kind: DatabaseFaultKind, fromRequest = 1): void {
    this.fault = { kind, fromRequest };
    this.requestsSinceArmed = 0;
    this.faultedRequests = 0;
  }

  clear(): void {
    this.fault = undefined;
  }

  private async handle(request: Request): Promise<Response> {
    this.requestsSinceArmed += 1;
    if (this.fault !== undefined && this.requestsSinceArmed >= this.fault.fromRequest) {
      this.faultedRequests += 1;
      return this.fail(this.fault.kind, request);
    }
    const forwarded = new Request(env.NEON_FETCH_ENDPOINT, {
      method: request.method,
      headers: request.headers,
      body: await request.arrayBuffer(),
    });
    return fetch(forwarded);
  }

  private async fail(kind: DatabaseFaultKind, request: Request): Promise<Response> {
    await request.body?.cancel();
    if (kind === "refused") throw new TypeError("Network connection lost.");
    if (kind === "http_500") return new Response("neon-local failed: upstream exploded", { status: 500 });

    // Hang until the driver gives up on the request, as a database that stopped responding would.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, HANG_LIMIT_MS);
      request.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    throw request.signal.reason ?? new DOMException("The operation timed out.", "TimeoutError");
  }
}

/** A switch shared by a failing binding and its test. */
export interface FaultSwitch {
  failing: boolean;
  /** Calls made while failing, by method name. */
  failedCalls: string[];
}

/**
 * Wrap a binding (KV namespace, R2 bucket) so that every method call throws while `failing` is set,
 * the way the runtime reports an unreachable store.
 */
export function failingBinding<T extends object>(target: T, name: string): { binding: T; fault: FaultSwitch } {
  const fault: FaultSwitch = { failing: false, failedCalls: [] };
  const binding = new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (fault.failing) {
          fault.failedCalls.push(String(property));
          return Promise.reject(new Error(`${name}.${String(property)} failed: the store is unreachable`));
        }
        return value.apply(object, args);
      };
    },
  });
  return { binding, fault };
}
