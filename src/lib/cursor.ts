import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from "@oslojs/encoding";

/**
 * Opaque pagination cursors: the sort key of the last item on a page, as a JSON array in base64url.
 * Clients must not build them, and a decoded cursor is checked part by part before it reaches SQL,
 * so an edited cursor is a 400, never a database error.
 */
export function encodeCursor(parts: string[]): string {
  return encodeBase64urlNoPadding(new TextEncoder().encode(JSON.stringify(parts)));
}

/** Decode a cursor whose parts must pass `checks` one for one; returns null when it does not. */
export function decodeCursor(cursor: string, checks: ((part: string) => boolean)[]): string[] | null {
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) return null;
  let parts: unknown;
  try {
    parts = JSON.parse(
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(decodeBase64urlIgnorePadding(cursor)),
    );
  } catch {
    return null;
  }
  if (!Array.isArray(parts) || parts.length !== checks.length) return null;
  const valid = parts.every((part, index) => typeof part === "string" && checks[index]?.(part) === true);
  return valid ? (parts as string[]) : null;
}

const TIMESTAMP_PATTERN = /^((?:19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3})[0-9]{3}Z$/;

/** Check that `part` is a real UTC instant with microseconds, as `cursorTimestampSql` formats it. */
export function isCursorTimestamp(part: string): boolean {
  const milliseconds = TIMESTAMP_PATTERN.exec(part)?.[1];
  if (milliseconds === undefined) return false;
  // A round trip through Date rejects impossible dates such as February 30th.
  const parsed = new Date(`${milliseconds}Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString() === `${milliseconds}Z`;
}

export function isCursorUuid(part: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(part);
}

export function isCursorInteger(part: string): boolean {
  return /^[1-9][0-9]{0,17}$/.test(part);
}
