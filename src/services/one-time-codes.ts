import { sql, type SQL } from "drizzle-orm";
import { hmacSha256Hex } from "../crypto/hashing";
import { generateNumericCode } from "../crypto/random";
import type { VERIFICATION_CHANNELS, VERIFICATION_PURPOSES } from "../db/schema";

export const CODE_TTL_SECONDS = 10 * 60;
export const CODE_MAX_ATTEMPTS = 5;

export type CodePurpose = (typeof VERIFICATION_PURPOSES)[number];
export type CodeChannel = (typeof VERIFICATION_CHANNELS)[number];

/** What a code is bound to: it verifies only for the same purpose, channel and destination. */
export interface CodeBinding {
  purpose: CodePurpose;
  channel: CodeChannel;
  destination: string;
}

/**
 * Hash a code with HMAC under a server secret. Six digits have only a million values, so a plain
 * hash could be reversed by trying them all; the binding goes into the MAC too.
 */
export function hashCode(codeHashKey: string, binding: CodeBinding, code: string): Promise<string> {
  const message = `${binding.purpose}\n${binding.channel}\n${binding.destination}\n${code}`;
  return hmacSha256Hex(new TextEncoder().encode(codeHashKey), message);
}

export async function createCode(
  codeHashKey: string,
  binding: CodeBinding,
): Promise<{ code: string; codeHash: string }> {
  const code = generateNumericCode(6);
  return { code, codeHash: await hashCode(codeHashKey, binding, code) };
}

/**
 * Build the statement that stores a new code for a user selected by `userSelect` (a query that
 * returns one `id` column, or none). The partial unique index on live codes makes the insert
 * replace any earlier live code for the same binding, which invalidates it.
 */
export function upsertCodeStatement(binding: CodeBinding, codeHash: string, now: Date, userSelect: SQL): SQL {
  const expiresAt = new Date(now.getTime() + CODE_TTL_SECONDS * 1000).toISOString();
  return sql`
    INSERT INTO verifications (identifier, code_hash, type, purpose, user_id, attempts, expires_at, created_at)
    SELECT ${binding.destination}, ${codeHash}, ${binding.channel}, ${binding.purpose}, selected.id, 0,
           ${expiresAt}::timestamptz, ${now.toISOString()}::timestamptz
    FROM (${userSelect}) AS selected
    ON CONFLICT (purpose, type, identifier) WHERE consumed_at IS NULL
    DO UPDATE SET code_hash = EXCLUDED.code_hash, user_id = EXCLUDED.user_id, attempts = 0,
                  expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at`;
}
