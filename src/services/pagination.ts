import { sql, type SQL } from "drizzle-orm";

/**
 * Format a timestamptz for a pagination cursor: UTC with all six fractional digits, so a cursor
 * compares exactly equal to the stored value (a JavaScript Date would drop the microseconds).
 */
export function cursorTimestampSql(column: SQL): SQL {
  return sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
