/**
 * Raw SQL through drizzle's neon-http driver returns timestamptz columns as Postgres text
 * (`2026-12-04 20:50:00.123+00`), while the query builder returns Date objects; this accepts both.
 */
export function toDate(value: Date | string): Date;
export function toDate(value: Date | string | null): Date | null;
export function toDate(value: Date | string | null): Date | null {
  if (value === null) return null;
  if (value instanceof Date) return value;
  // Postgres writes "YYYY-MM-DD hh:mm:ss[.fff]+HH[:MM]"; ISO 8601 needs the "T" and a full offset.
  const iso = value.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00");
  return new Date(iso);
}

export function toIsoString(value: Date | string | null): string | null {
  return value === null ? null : toDate(value).toISOString();
}
