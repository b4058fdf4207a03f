import { sql, type SQL } from "drizzle-orm";
import type { OAuthProviderName } from "../config";
import { sha256Hex } from "../crypto/hashing";
import { generateRandomToken } from "../crypto/random";

/** How long a one-time login code can be exchanged for tokens. */
export const LOGIN_CODE_TTL_SECONDS = 60;

/** A login code the callback hands to the client, and the hash and expiry that Postgres stores. */
export interface NewLoginCode {
  code: string;
  codeHash: string;
  expiresAt: Date;
}

/**
 * Create the one-time code that an OAuth callback hands to the client instead of tokens. The code
 * has 256 random bits, so its plain SHA-256 is enough to store.
 */
export async function prepareLoginCode(now: Date): Promise<NewLoginCode> {
  const code = generateRandomToken(32);
  return {
    code,
    codeHash: await sha256Hex(code),
    expiresAt: new Date(now.getTime() + LOGIN_CODE_TTL_SECONDS * 1000),
  };
}

/**
 * Build the INSERT that stores a login code for the user ids that `userSelect` returns (one `id`
 * column, at most one row), returning `user_id`. The callback embeds it in the statement or batch
 * that resolves the account, so storing the code costs no extra round trip.
 */
export function storeLoginCodeStatement(
  loginCode: NewLoginCode,
  provider: OAuthProviderName,
  userSelect: SQL,
  now: Date,
): SQL {
  return sql`
    INSERT INTO oauth_login_codes (code_hash, user_id, provider, created_at, expires_at)
    SELECT ${loginCode.codeHash}, selected.id, ${provider}, ${now.toISOString()}::timestamptz,
           ${loginCode.expiresAt.toISOString()}::timestamptz
    FROM (${userSelect}) AS selected
    RETURNING user_id`;
}

/**
 * Build the DELETE that consumes a login code unless it has expired by `now` (the app clock). It
 * returns `user_id` and `provider`, or no row for an unknown, used or expired code. Of parallel
 * statements with one code, only one deletes the row, because Postgres makes the others wait on
 * the row lock and then find the row gone.
 */
export async function consumeLoginCodeStatement(code: string, now: Date): Promise<SQL> {
  return sql`
    DELETE FROM oauth_login_codes
    WHERE code_hash = ${await sha256Hex(code)} AND expires_at > ${now.toISOString()}::timestamptz
    RETURNING user_id, provider`;
}
