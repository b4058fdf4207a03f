export type LogLevel = "info" | "warn" | "error";

/**
 * Structured log fields. Callers pass ids, counts and outcomes only: never an email address,
 * phone number, password, code, token or government id number.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export type LogSink = (line: string) => void;

/** Create a logger that writes one JSON line per event, tagged with the request id. */
export function createLogger(requestId: string, sink: LogSink = (line) => console.log(line)): Logger {
  const write = (level: LogLevel, event: string, fields: LogFields = {}) => {
    sink(JSON.stringify({ time: new Date().toISOString(), level, event, request_id: requestId, ...fields }));
  };
  return {
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
  };
}

/**
 * Describe an error for a log line by its name and code, and those of the innermost cause, without
 * any message text: messages can quote SQL parameters or user input.
 */
export function describeError(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error_name: typeof error };
  let root: Error = error;
  for (let depth = 0; depth < 5 && root.cause instanceof Error; depth++) root = root.cause;
  const code = (root as { code?: unknown }).code;
  return {
    error_name: error.name,
    cause_name: root === error ? undefined : root.name,
    error_code: typeof code === "string" ? code : undefined,
  };
}
