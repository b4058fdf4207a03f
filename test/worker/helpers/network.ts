type FakeHandler = (request: Request) => Response | Promise<Response>;

const fakes = new Map<string, FakeHandler>();
const unexpected: string[] = [];
let realFetch: typeof fetch | undefined;

/** Replace the global fetch with one that only reaches allowed origins and faked hosts. */
export function installFetchGuard(allowedOrigins: string[]): void {
  if (realFetch !== undefined) return;
  const passthrough = globalThis.fetch.bind(globalThis);
  realFetch = passthrough;
  const allowed = new Set(allowedOrigins);

  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const origin = new URL(request.url).origin;
    if (allowed.has(origin)) return passthrough(request);
    const fake = fakes.get(origin);
    if (fake !== undefined) return fake(request);
    unexpected.push(`${request.method} ${origin}`);
    throw new TypeError(`Outbound request to ${origin} is not allowed in tests; fake it with fakeHost().`);
  };
}

/** Answer every request to `origin` with `handler` until the returned function is called. */
export function fakeHost(origin: string, handler: FakeHandler): () => void {
  fakes.set(origin, handler);
  return () => fakes.delete(origin);
}

export function takeUnexpectedRequests(): string[] {
  return unexpected.splice(0, unexpected.length);
}
