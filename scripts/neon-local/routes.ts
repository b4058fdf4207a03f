import { sqlState } from "./backends/backend";
import { readBody, sendEmpty, sendJson } from "./http-io";
import { isSqlError, parseSqlRequest, toErrorBody } from "./protocol";
import { runSqlRequest } from "./sql-runner";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DatabaseBackend } from "./backends/backend";
import type { RequestCounter } from "./request-counter";

export interface RouteContext {
  backend: DatabaseBackend;
  counter: RequestCounter;
  logger: (line: string) => void;
}

type Handler = (
  context: RouteContext,
  request: IncomingMessage,
  response: ServerResponse,
  pathParams: string[],
) => Promise<void>;

interface Route {
  path: RegExp;
  handlers: Partial<Record<string, Handler>>;
}

/** Request bodies above this size get a 413 response and are never parsed. */
export const maxBodyBytes = 8 * 1024 * 1024;

const routes: Route[] = [
  { path: /^\/sql$/, handlers: { POST: handleSql } },
  { path: /^\/_neon_local\/databases$/, handlers: { POST: handleCreateDatabase } },
  { path: /^\/_neon_local\/databases\/([^/]+)$/, handlers: { DELETE: handleDropDatabase } },
  { path: /^\/_neon_local\/stats$/, handlers: { GET: handleGetStats } },
  { path: /^\/_neon_local\/stats\/reset$/, handlers: { POST: handleResetStats } },
];

/** Dispatches one HTTP request. Every failure becomes a JSON response, never a rejected promise. */
export async function handleRequest(
  context: RouteContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = new URL(request.url ?? "/", "http://neon-local").pathname;
  const startedAt = performance.now();

  try {
    await dispatch(context, request, response, path);
  } catch (error) {
    if (!request.complete) {
      // Reading the body failed, so the client went away before sending it all.
      context.logger(JSON.stringify({ event: "request_aborted", method: request.method, path }));
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    context.logger(JSON.stringify({ event: "request_failed", method: request.method, path, message }));
    if (!response.headersSent) sendJson(response, 500, { message: `neon-local failed: ${message}` });
    else response.destroy();
  }

  const durationMs = Math.round(performance.now() - startedAt);
  context.logger(
    JSON.stringify({ event: "request", method: request.method, path, status: response.statusCode, durationMs }),
  );
}

async function dispatch(
  context: RouteContext,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
): Promise<void> {
  for (const route of routes) {
    const match = route.path.exec(path);
    if (match === null) continue;

    const handler = route.handlers[request.method ?? ""];
    if (handler === undefined) {
      const allowed = Object.keys(route.handlers).join(", ");
      sendJson(
        response,
        405,
        { message: `method ${request.method} is not allowed on ${path}, use ${allowed}` },
        { allow: allowed },
      );
      return;
    }
    await handler(context, request, response, match.slice(1));
    return;
  }

  sendJson(response, 404, { message: `no route for ${path}, SQL requests go to POST /sql` });
}

async function handleSql(context: RouteContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readJsonBody(request, response);
  if (body === undefined) return;

  const parsed = parseSqlRequest(request.headers, body);
  if (!parsed.ok) {
    sendJson(response, 400, { message: parsed.message });
    return;
  }

  context.counter.count(parsed.value.database);
  try {
    sendJson(response, 200, await runSqlRequest(context.backend, parsed.value));
  } catch (error) {
    if (!isSqlError(error)) throw error;
    sendJson(response, 400, toErrorBody(error));
  }
}

async function handleCreateDatabase(
  context: RouteContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = await readJsonBody(request, response);
  if (body === undefined) return;

  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    sendJson(response, 400, { message: "request body is not valid JSON" });
    return;
  }
  const { name, template } = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  if (typeof name !== "string" || (template !== undefined && typeof template !== "string")) {
    sendJson(response, 400, { message: 'request body must be {"name": string, "template"?: string}' });
    return;
  }

  if (await runAdminOperation(response, () => context.backend.createDatabase(name, template))) {
    sendJson(response, 201, { name });
  }
}

async function handleDropDatabase(
  context: RouteContext,
  _request: IncomingMessage,
  response: ServerResponse,
  [encodedName]: string[],
): Promise<void> {
  let name: string;
  try {
    name = decodeURIComponent(encodedName ?? "");
  } catch {
    sendJson(response, 400, { message: `database name "${encodedName}" is not valid percent-encoding` });
    return;
  }

  if (await runAdminOperation(response, () => context.backend.dropDatabase(name))) sendEmpty(response, 204);
}

async function handleGetStats(
  context: RouteContext,
  _request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  sendJson(response, 200, { requests: context.counter.snapshot() });
}

async function handleResetStats(
  context: RouteContext,
  _request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  context.counter.reset();
  sendEmpty(response, 204);
}

/**
 * Runs a database operation and returns whether it succeeded. On a SQL error
 * it has already sent a response with a status that fits the error's SQLSTATE.
 */
async function runAdminOperation(response: ServerResponse, operation: () => Promise<void>): Promise<boolean> {
  try {
    await operation();
    return true;
  } catch (error) {
    if (!isSqlError(error)) throw error;
    sendJson(response, adminErrorStatus(error.code), toErrorBody(error));
    return false;
  }
}

function adminErrorStatus(code: string | undefined): number {
  if (code === sqlState.duplicateDatabase) return 409;
  if (code === sqlState.invalidCatalogName) return 404;
  return 400;
}

/** Reads the body, or sends a 413 response and returns undefined when it is too large. */
async function readJsonBody(request: IncomingMessage, response: ServerResponse): Promise<string | undefined> {
  const body = await readBody(request, maxBodyBytes);
  if (body.ok) return body.body;

  sendJson(response, 413, { message: `request body is larger than ${maxBodyBytes} bytes` });
  return undefined;
}
