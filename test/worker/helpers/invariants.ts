// Whole-database checks for the reliability tests: a digest that shows whether a request changed
// anything, and consistency rules that must hold after any mix of requests and faults.
import type { TestApp } from "./app";

/** Row count and content hash of one table. */
export interface TableDigest {
  rows: number;
  hash: string;
}

/** Tables the migrations fill and no request changes. */
const STATIC_TABLES = new Set(["country"]);

/** Tables of the public schema, which are the ones the service writes. */
export async function serviceTables(t: TestApp): Promise<string[]> {
  const rows = await t.sql`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`;
  return rows.map((row) => String(row.table_name)).filter((name) => !STATIC_TABLES.has(name));
}

/** A digest of every service table in one query, to compare before and after a request. */
export async function databaseDigest(t: TestApp, tables?: string[]): Promise<Record<string, TableDigest>> {
  const names = tables ?? (await serviceTables(t));
  const parts = names.map(
    (name) =>
      `SELECT '${name}' AS name, count(*)::int AS rows, coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS hash FROM "${name}" AS x`,
  );
  const rows = await t.sql.query(parts.join(" UNION ALL "));
  return Object.fromEntries(rows.map((row) => [String(row.name), { rows: Number(row.rows), hash: String(row.hash) }]));
}

/** Row counts of every service table. */
export async function rowCounts(t: TestApp, tables?: string[]): Promise<Record<string, number>> {
  const digest = await databaseDigest(t, tables);
  return Object.fromEntries(Object.entries(digest).map(([name, table]) => [name, table.rows]));
}

/** The tables whose content differs between two digests. */
export function changedTables(before: Record<string, TableDigest>, after: Record<string, TableDigest>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((name) => before[name]?.hash !== after[name]?.hash).sort();
}

/**
 * Consistency rules of the data model, as queries that return the offending rows. Each must return
 * nothing after any sequence of requests, faults and races.
 */
const CONSISTENCY_RULES: { rule: string; query: string }[] = [
  {
    rule: "an account awaiting verification has no session",
    query: `SELECT s.id FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE u.status = 'pending_verification'`,
  },
  {
    rule: "a suspended or deleted account has no live session",
    query: `SELECT s.id FROM auth_sessions s JOIN users u ON u.id = s.user_id
            WHERE u.status IN ('suspended', 'deleted') AND s.revoked_at IS NULL`,
  },
  {
    rule: "an account signed up with a password has its credential",
    query: `SELECT u.id FROM users u
            WHERE u.status = 'pending_verification' AND u.email IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM auth_credentials c WHERE c.user_id = u.id)
              AND NOT EXISTS (SELECT 1 FROM oauth_accounts o WHERE o.user_id = u.id)`,
  },
  {
    rule: "an active account has a verified way to sign in",
    query: `SELECT u.id FROM users u
            WHERE u.status = 'active' AND NOT u.is_email_verified AND NOT u.is_mobile_verified
              AND NOT EXISTS (SELECT 1 FROM oauth_accounts o WHERE o.user_id = u.id)`,
  },
  {
    rule: "a destination has at most one live code per purpose",
    query: `SELECT purpose, type, identifier FROM verifications WHERE consumed_at IS NULL
            GROUP BY purpose, type, identifier HAVING count(*) > 1`,
  },
  {
    rule: "a code never has more than five attempts",
    query: `SELECT id FROM verifications WHERE attempts > 5`,
  },
  {
    rule: "a session's current and previous refresh token hashes differ",
    query: `SELECT id FROM auth_sessions WHERE refresh_token_hash = previous_refresh_token_hash`,
  },
  {
    rule: "a refresh token hash belongs to one session only",
    query: `WITH hashes AS (
              SELECT id, refresh_token_hash AS hash FROM auth_sessions
              UNION ALL SELECT id, previous_refresh_token_hash FROM auth_sessions WHERE previous_refresh_token_hash IS NOT NULL
              UNION ALL SELECT id, unnest(retired_refresh_token_hashes) FROM auth_sessions)
            SELECT hash FROM hashes GROUP BY hash HAVING count(DISTINCT id) > 1`,
  },
  {
    rule: "a revoked session says when",
    query: `SELECT id FROM auth_sessions WHERE revoked_reason IS NOT NULL AND revoked_at IS NULL`,
  },
];

/** Run every consistency rule and return the broken ones with a sample of offending rows. */
export async function consistencyViolations(t: TestApp): Promise<string[]> {
  const violations: string[] = [];
  for (const { rule, query } of CONSISTENCY_RULES) {
    const rows = await t.sql.query(`${query} LIMIT 5`);
    if (rows.length > 0) violations.push(`${rule}: ${JSON.stringify(rows)}`);
  }
  return violations;
}
