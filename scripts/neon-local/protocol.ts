import pg from "pg";
import { SqlStateError } from "./backends/backend";
import type { IncomingHttpHeaders } from "node:http";
import type { FieldDef, QueryArrayResult } from "pg";

// The request and response shapes of Neon's SQL-over-HTTP endpoint, as
// @neondatabase/serverless 1.2 sends and reads them.

export interface SqlQuery {
  query: string;
  /** Values already serialised to Postgres text by the driver. */
  params: (string | null)[];
}

export interface TransactionOptions {
  isolationLevel?: string;
  readOnly: boolean;
  deferrable: boolean;
}

interface SqlRequestBase {
  database: string;
  /** Rows as arrays of values, or as objects keyed by column name. */
  arrayMode: boolean;
}

export type SqlRequest =
  | (SqlRequestBase & { kind: "single"; query: SqlQuery })
  | (SqlRequestBase & { kind: "batch"; queries: SqlQuery[]; transaction: TransactionOptions });

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

export interface QueryResultBody {
  command: string;
  rowCount: number | null;
  rows: (string | null)[][] | Record<string, string | null>[];
  fields: FieldDef[];
  rowAsArray: boolean;
}

const isolationLevels: Record<string, string> = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

// Postgres error fields that the driver copies onto the error it throws.
const errorFieldNames = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

export function parseSqlRequest(headers: IncomingHttpHeaders, body: string): ParseResult<SqlRequest> {
  const database = parseDatabaseName(headers["neon-connection-string"]);
  if (!database.ok) return database;

  // Neon returns rows as objects unless this header is true. The driver
  // always sends true and builds the objects itself.
  const arrayMode = parseBooleanHeader(headers, "Neon-Array-Mode", false);
  if (!arrayMode.ok) return arrayMode;

  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, message: "request body is not valid JSON" };
  }
  if (!isObject(json)) return { ok: false, message: "request body must be a JSON object" };

  const base = { database: database.value, arrayMode: arrayMode.value };
  if (!("queries" in json)) {
    const query = parseQuery(json, "request body");
    return query.ok ? { ok: true, value: { ...base, kind: "single", query: query.value } } : query;
  }

  const queries = parseQueries(json.queries);
  if (!queries.ok) return queries;

  const transaction = parseTransactionOptions(headers);
  if (!transaction.ok) return transaction;

  return { ok: true, value: { ...base, kind: "batch", queries: queries.value, transaction: transaction.value } };
}

/**
 * Reads the database name from the path of a connection string such as
 * `postgres://user:password@db.localtest.me/app`. The host is ignored.
 */
export function parseDatabaseName(connectionString: string | string[] | undefined): ParseResult<string> {
  if (typeof connectionString !== "string") {
    return { ok: false, message: "missing Neon-Connection-String header" };
  }

  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return { ok: false, message: "Neon-Connection-String header is not a valid URL" };
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    return {
      ok: false,
      message: `Neon-Connection-String header has scheme "${url.protocol}", expected postgres: or postgresql:`,
    };
  }

  const database = safeDecodeURIComponent(url.pathname.slice(1));
  if (database === undefined) {
    return {
      ok: false,
      message: `Neon-Connection-String header has a database name that is not valid percent-encoding: "${url.pathname}"`,
    };
  }
  if (database === "") {
    return { ok: false, message: "Neon-Connection-String header names no database: the URL path is empty" };
  }
  return { ok: true, value: database };
}

export function beginStatement(options: TransactionOptions): string {
  const modes: string[] = [];
  if (options.isolationLevel !== undefined) modes.push(`ISOLATION LEVEL ${isolationLevels[options.isolationLevel]}`);
  if (options.readOnly) modes.push("READ ONLY");
  if (options.deferrable) modes.push("DEFERRABLE");

  return ["BEGIN", ...modes].join(" ");
}

export function toResultBody(result: QueryArrayResult<(string | null)[]>, arrayMode: boolean): QueryResultBody {
  const fields = result.fields.map((field) => ({
    name: field.name,
    tableID: field.tableID,
    columnID: field.columnID,
    dataTypeID: field.dataTypeID,
    dataTypeSize: field.dataTypeSize,
    dataTypeModifier: field.dataTypeModifier,
    format: field.format,
  }));
  const rows = arrayMode ? result.rows : result.rows.map((row) => rowToObject(row, fields));

  return { command: result.command, rowCount: result.rowCount, rows, fields, rowAsArray: arrayMode };
}

/** Tells errors that Postgres (or this endpoint acting as it) raised from failures of the endpoint itself. */
export function isSqlError(error: unknown): error is pg.DatabaseError | SqlStateError {
  return error instanceof pg.DatabaseError || error instanceof SqlStateError;
}

export function toErrorBody(error: pg.DatabaseError | SqlStateError): Record<string, string> {
  const body: Record<string, string> = { message: error.message };
  const fields = error as unknown as Record<string, unknown>;
  for (const name of errorFieldNames) {
    const value = fields[name];
    if (value !== undefined && value !== null) body[name] = String(value);
  }
  return body;
}

function parseQueries(value: unknown): ParseResult<SqlQuery[]> {
  if (!Array.isArray(value)) return { ok: false, message: '"queries" must be an array' };

  const queries: SqlQuery[] = [];
  for (const [index, item] of value.entries()) {
    if (!isObject(item)) return { ok: false, message: `queries[${index}] must be an object` };

    const query = parseQuery(item, `queries[${index}]`);
    if (!query.ok) return query;
    queries.push(query.value);
  }
  return { ok: true, value: queries };
}

function parseQuery(value: Record<string, unknown>, where: string): ParseResult<SqlQuery> {
  if (typeof value.query !== "string") return { ok: false, message: `${where} has no "query" string` };
  if (value.params === undefined) return { ok: true, value: { query: value.query, params: [] } };
  if (!Array.isArray(value.params)) return { ok: false, message: `"params" of ${where} must be an array` };

  const params: (string | null)[] = [];
  for (const [index, param] of value.params.entries()) {
    if (param === null || typeof param === "string") params.push(param);
    else if (typeof param === "number" || typeof param === "boolean") params.push(String(param));
    else return { ok: false, message: `params[${index}] of ${where} must be a string, number, boolean or null` };
  }
  return { ok: true, value: { query: value.query, params } };
}

function parseTransactionOptions(headers: IncomingHttpHeaders): ParseResult<TransactionOptions> {
  const isolationLevel = headers["neon-batch-isolation-level"];
  if (isolationLevel !== undefined && (typeof isolationLevel !== "string" || !(isolationLevel in isolationLevels))) {
    return {
      ok: false,
      message: `invalid Neon-Batch-Isolation-Level header "${isolationLevel}", expected one of ${Object.keys(isolationLevels).join(", ")}`,
    };
  }

  const readOnly = parseBooleanHeader(headers, "Neon-Batch-Read-Only", false);
  if (!readOnly.ok) return readOnly;
  const deferrable = parseBooleanHeader(headers, "Neon-Batch-Deferrable", false);
  if (!deferrable.ok) return deferrable;

  return { ok: true, value: { isolationLevel, readOnly: readOnly.value, deferrable: deferrable.value } };
}

function parseBooleanHeader(headers: IncomingHttpHeaders, name: string, absent: boolean): ParseResult<boolean> {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return { ok: true, value: absent };
  if (value === "true") return { ok: true, value: true };
  if (value === "false") return { ok: true, value: false };
  return { ok: false, message: `invalid ${name} header "${value}", expected true or false` };
}

function rowToObject(row: (string | null)[], fields: { name: string }[]): Record<string, string | null> {
  return Object.fromEntries(fields.map((field, index) => [field.name, row[index] ?? null]));
}

function safeDecodeURIComponent(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
