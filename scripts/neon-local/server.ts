import { createServer } from "node:http";
import { PgliteBackend } from "./backends/pglite";
import { PostgresBackend } from "./backends/postgres";
import { RequestCounter } from "./request-counter";
import { handleRequest } from "./routes";
import type { AddressInfo } from "node:net";
import type { DatabaseBackend } from "./backends/backend";

// A local stand-in for Neon's SQL-over-HTTP endpoint, for development and
// tests only: it is never bundled into the Worker. Point the driver at it with
// `neonConfig.fetchEndpoint = server.url`.

export type NeonLocalBackend = { kind: "pglite"; dataDir?: string } | { kind: "postgres"; url: string };

export interface NeonLocalServer {
  /** The SQL endpoint, e.g. `http://127.0.0.1:5480/sql`: the value for `neonConfig.fetchEndpoint`. */
  url: string;
  port: number;
  /** SQL requests served since the start or the last reset, in total or for one database. A batch counts as one. */
  requestCount(database?: string): number;
  resetRequestCount(): void;
  /** Creates `name` as a copy of `options.template`, or empty without one. */
  createDatabase(name: string, options?: { template?: string }): Promise<void>;
  dropDatabase(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface NeonLocalOptions {
  backend: NeonLocalBackend;
  /** 0, the default, picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1: the endpoint has no authentication. */
  host?: string;
  /** Receives one JSON line per request and per error. Nothing is logged when absent. */
  logger?: (line: string) => void;
}

export async function startNeonLocal(options: NeonLocalOptions): Promise<NeonLocalServer> {
  const logger = options.logger ?? (() => {});
  const backend = createBackend(options.backend, logger);
  const counter = new RequestCounter();
  const context = { backend, counter, logger };

  const server = createServer((request, response) => {
    void handleRequest(context, request, response);
  });
  // Node closes idle keep-alive sockets after 5 s by default. A client such as workerd can pick
  // such a socket from its pool just as it closes and then fails with "Network connection lost",
  // so idle sockets stay open longer than any client keeps them.
  server.keepAliveTimeout = 120_000;
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
  });
  await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");

  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${urlHost}:${address.port}/sql`,
    port: address.port,
    requestCount: (database) => counter.total(database),
    resetRequestCount: () => counter.reset(),
    createDatabase: (name, createOptions) => backend.createDatabase(name, createOptions?.template),
    dropDatabase: (name) => backend.dropDatabase(name),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await backend.close();
    },
  };
}

function createBackend(backend: NeonLocalBackend, logger: (line: string) => void): DatabaseBackend {
  if (backend.kind === "pglite") return new PgliteBackend({ dataDir: backend.dataDir, logger });
  return new PostgresBackend({ url: backend.url, logger });
}

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
