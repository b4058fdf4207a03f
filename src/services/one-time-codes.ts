import { sql, type SQL } from "drizzle-orm";
import { emailChangeCodeMail, signInCodeMail, verificationCodeMail } from "../adapters/mail/templates";
import { oneTimeCodeSms } from "../adapters/sms/templates";
import { hmacSha256Hex } from "../crypto/hashing";
import { generateNumericCode } from "../crypto/random";
import { toDate } from "../db/rows";
import type { VERIFICATION_CHANNELS, VERIFICATION_PURPOSES } from "../db/schema";
import type { Dependencies } from "../http/context";
import { describeError } from "../lib/logger";
import { codeResendIntervalSeconds } from "./rate-limit";

export const CODE_TTL_SECONDS = 10 * 60;
export const CODE_MAX_ATTEMPTS = 5;

export type CodePurpose = (typeof VERIFICATION_PURPOSES)[number];
/** The channel as `verifications.type` stores it; the API calls the mobile channel "sms". */
export type CodeChannel = (typeof VERIFICATION_CHANNELS)[number];
export type ApiCodeChannel = "email" | "sms";

/** The binding of a code, which verifies only for the same purpose, channel and destination. */
export interface CodeBinding {
  purpose: CodePurpose;
  channel: CodeChannel;
  destination: string;
}

export function codeChannelOf(channel: ApiCodeChannel): CodeChannel {
  return channel === "sms" ? "mobile" : "email";
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
 *
 * With `minimumIntervalSeconds`, a live code younger than that is kept and nothing is stored, so
 * parallel requests cannot send two codes to one destination within the interval, whatever KV
 * counted. Append `RETURNING id` to learn whether a code was stored.
 */
export function upsertCodeStatement(
  binding: CodeBinding,
  codeHash: string,
  now: Date,
  userSelect: SQL,
  options: { minimumIntervalSeconds?: number } = {},
): SQL {
  const expiresAt = new Date(now.getTime() + CODE_TTL_SECONDS * 1000).toISOString();
  const intervalSeconds = options.minimumIntervalSeconds ?? 0;
  const olderThan = new Date(now.getTime() - intervalSeconds * 1000).toISOString();
  const keepRecentCode = intervalSeconds > 0 ? sql`WHERE verifications.created_at <= ${olderThan}::timestamptz` : sql``;
  return sql`
    INSERT INTO verifications (identifier, code_hash, type, purpose, user_id, attempts, expires_at, created_at)
    SELECT ${binding.destination}, ${codeHash}, ${binding.channel}, ${binding.purpose}, selected.id, 0,
           ${expiresAt}::timestamptz, ${now.toISOString()}::timestamptz
    FROM (${userSelect}) AS selected
    ON CONFLICT (purpose, type, identifier) WHERE consumed_at IS NULL
    DO UPDATE SET code_hash = EXCLUDED.code_hash, user_id = EXCLUDED.user_id, attempts = 0,
                  expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at
    ${keepRecentCode}`;
}

/** Build the condition on `verifications` that matches the live (unconsumed) code of `binding`. */
function isLiveCodeOf(binding: CodeBinding): SQL {
  return sql`purpose = ${binding.purpose} AND type = ${binding.channel}
             AND identifier = ${binding.destination} AND consumed_at IS NULL`;
}

/** Build a query for the live code of `binding` if its hash is `codeHash`: one row, or none. */
export function liveCodeQuery(binding: CodeBinding, codeHash: string): SQL {
  return sql`SELECT 1 FROM verifications WHERE ${isLiveCodeOf(binding)} AND code_hash = ${codeHash}`;
}

/**
 * Build a scalar subquery for the creation time of the live code of `binding`, as the statement's
 * snapshot shows it. Beside an upsert that stored nothing, it is the time of the code that blocked it.
 */
export function liveCodeCreatedAtQuery(binding: CodeBinding): SQL {
  return sql`(SELECT created_at FROM verifications WHERE ${isLiveCodeOf(binding)})`;
}

/** Seconds until a destination may get a new code, given when its live code was created. */
export function secondsUntilNextCode(liveCreatedAt: Date | string | null, intervalSeconds: number, now: Date): number {
  if (liveCreatedAt === null) return 1;
  const nextAtMs = toDate(liveCreatedAt).getTime() + intervalSeconds * 1000;
  return Math.max(1, Math.ceil((nextAtMs - now.getTime()) / 1000));
}

/**
 * Build the conditional UPDATE that checks a code in one step, so it is exact under concurrency.
 * It matches only a live code (unconsumed, unexpired, under 5 attempts) for `binding` and `guard`,
 * an extra condition on the row aliased `v`. Every check counts an attempt, so the fifth wrong code
 * burns it; the right code also sets `consumed_at`. Of two parallel checks of one code, the second
 * waits for the first's row lock and then no longer matches, so exactly one succeeds.
 * Returns `id, user_id, identifier, matched` for the code it checked, or no row.
 */
export function consumeCodeStatement(binding: CodeBinding, codeHash: string, now: Date, guard?: SQL): SQL {
  const nowText = now.toISOString();
  return sql`
    UPDATE verifications AS v
    SET attempts = v.attempts + 1,
        consumed_at = CASE WHEN v.code_hash = ${codeHash} THEN ${nowText}::timestamptz END
    WHERE v.purpose = ${binding.purpose} AND v.type = ${binding.channel} AND v.identifier = ${binding.destination}
      AND v.consumed_at IS NULL AND v.expires_at > ${nowText}::timestamptz AND v.attempts < ${CODE_MAX_ATTEMPTS}
      ${guard === undefined ? sql`` : sql`AND (${guard})`}
    RETURNING v.id, v.user_id, v.identifier, v.code_hash = ${codeHash} AS matched`;
}

/** Wording choices for a code mail beyond its purpose. */
export interface CodeMailOptions {
  /** The sign-up replaced the password of a pending account, and the mail warns about it. */
  repeatedSignUp?: boolean;
}

/** Send a code by email or SMS, worded for its purpose. Throws `UpstreamError` when sending fails. */
export async function deliverCode(
  deps: Dependencies,
  binding: CodeBinding,
  code: string,
  options: CodeMailOptions = {},
): Promise<void> {
  const minutes = CODE_TTL_SECONDS / 60;
  if (binding.channel === "mobile") {
    await deps.sms.send(oneTimeCodeSms(binding.destination, code, minutes, deps.config.appUrl));
    return;
  }
  const content =
    binding.purpose === "login"
      ? signInCodeMail(code, minutes)
      : binding.purpose === "email_change"
        ? emailChangeCodeMail(code, minutes)
        : verificationCodeMail(code, minutes, options);
  await deps.mailer.send({ to: binding.destination, ...content });
}

/** Build the DELETE of a stored code that was never sent, matched by its hash so a newer code stays. */
export function discardUndeliveredCodeStatement(binding: CodeBinding, codeHash: string): SQL {
  return sql`DELETE FROM verifications WHERE ${isLiveCodeOf(binding)} AND code_hash = ${codeHash}`;
}

/**
 * Send a code that is already stored, and run `discardStatement` when sending fails. By default it
 * deletes the code again, so a failed send leaves no undelivered live code and does not hold the
 * resend interval. The code it replaced stays replaced, because a client that saw the failure
 * requests a new one. Rethrows the send error.
 */
export async function deliverStoredCode(
  deps: Dependencies,
  binding: CodeBinding,
  code: string,
  codeHash: string,
  discardStatement: SQL = discardUndeliveredCodeStatement(binding, codeHash),
  mailOptions: CodeMailOptions = {},
): Promise<void> {
  try {
    await deliverCode(deps, binding, code, mailOptions);
  } catch (error) {
    deps.log.error("code_delivery_failed", {
      purpose: binding.purpose,
      channel: binding.channel,
      ...describeError(error),
    });
    try {
      await deps.db.execute(discardStatement);
    } catch (deleteError) {
      // What the statement would delete stays. The code is unknown to anyone, so it only blocks the
      // next send until it expires.
      deps.log.error("undelivered_code_delete_failed", { purpose: binding.purpose, ...describeError(deleteError) });
    }
    throw error;
  }
}

export type IssueCodeResult = { ok: true } | { ok: false; reason: "too_soon"; retryAfterSeconds: number };

/**
 * Store a new code for `binding` and send it: one database round trip, plus one more only when
 * sending fails. Refuses with `too_soon` while the destination's previous code for this purpose is
 * younger than the resend interval.
 */
export async function issueCode(deps: Dependencies, binding: CodeBinding, userSelect: SQL): Promise<IssueCodeResult> {
  const now = deps.clock.now();
  const intervalSeconds = codeResendIntervalSeconds(deps);
  const { code, codeHash } = await createCode(deps.config.codeHashKey, binding);

  const result = await deps.db.execute<{ stored_id: number | null; live_created_at: string | null }>(sql`
    WITH stored AS (${upsertCodeStatement(binding, codeHash, now, userSelect, { minimumIntervalSeconds: intervalSeconds })} RETURNING id)
    SELECT (SELECT id FROM stored) AS stored_id, ${liveCodeCreatedAtQuery(binding)} AS live_created_at`);
  const row = result.rows[0];
  if (row?.stored_id === null || row?.stored_id === undefined) {
    const retryAfterSeconds = secondsUntilNextCode(row?.live_created_at ?? null, intervalSeconds, now);
    return { ok: false, reason: "too_soon", retryAfterSeconds };
  }

  await deliverStoredCode(deps, binding, code, codeHash);
  return { ok: true };
}
