import { UpstreamError } from "../errors";
import type { RateLimitRule } from "../lib/rate-limit-rules";

/** One subject's counter (a hashed key) and the rules that apply to it. */
export interface RateLimitCounter {
  key: string;
  rules: readonly RateLimitRule[];
}

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Counts events per key under sliding-window rules. Callers go through this interface only, so a
 * backend with exact global counts (a Durable Object per key, or the Workers Rate Limiting binding
 * for windows it supports) can replace the KV one without changing them.
 */
export interface RateLimiter {
  /**
   * Count one event against every counter if all of their rules allow it, and count nothing
   * otherwise. Throws `UpstreamError("kv")` when the store fails, so each caller chooses whether
   * its limit fails open or closed.
   */
  consume(counters: readonly RateLimitCounter[], now: Date): Promise<RateLimitDecision>;
}

const KEY_PREFIX = "rate-limit:";
// KV refuses an expirationTtl under 60 seconds.
const MIN_KV_TTL_SECONDS = 60;
// Event keys sort by this inverted time, so a KV list returns the newest events first.
const MAX_TIMESTAMP_MS = 9_999_999_999_999;

/**
 * A sliding-log limiter in KV with one key per allowed event, named by its inverted time under the
 * counter's prefix. One list of the newest events decides every rule exactly on one node.
 *
 * A key per event, not one counter value per subject, because KV has no atomic increment. With a
 * shared value, parallel requests would read the same count and each write back count + 1. A
 * burst of N requests would then count once, and repeated bursts would never be limited. KV also accepts
 * about one write per second to a key, which a shared value under load would exceed. With a key
 * per event no count is lost. What remains: requests that list before each other's writes land all pass, so a burst of
 * N parallel requests can overshoot a limit by up to N − 1 once per window, and a location may not
 * see another location's events for up to about a minute. Limits that must be exact live in
 * Postgres instead.
 */
export class KvRateLimiter implements RateLimiter {
  constructor(private readonly kv: KVNamespace) {}

  async consume(counters: readonly RateLimitCounter[], now: Date): Promise<RateLimitDecision> {
    const active = counters.filter((counter) => counter.rules.length > 0);
    if (active.length === 0) return { allowed: true };
    const nowMs = now.getTime();

    const recentEvents = await Promise.all(active.map((counter) => this.readNewestEvents(counter)));

    let retryAfterMs = 0;
    for (const [index, counter] of active.entries()) {
      const events = recentEvents[index] ?? [];
      for (const rule of counter.rules) retryAfterMs = Math.max(retryAfterMs, waitUntilAllowedMs(events, rule, nowMs));
    }
    if (retryAfterMs > 0) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };

    await Promise.all(active.map((counter) => this.recordEvent(counter, nowMs)));
    return { allowed: true };
  }

  /** Read the times of the counter's newest events, newest first, as many as its largest limit. */
  private async readNewestEvents(counter: RateLimitCounter): Promise<number[]> {
    const maxLimit = Math.max(...counter.rules.map((rule) => rule.limit));
    let listed: KVNamespaceListResult<unknown, string>;
    try {
      listed = await this.kv.list({ prefix: eventPrefix(counter.key), limit: maxLimit });
    } catch (error) {
      throw new UpstreamError("kv", "Listing rate-limit events failed", { cause: error });
    }
    return listed.keys.map((key) => eventTime(key.name)).filter((time): time is number => time !== null);
  }

  private async recordEvent(counter: RateLimitCounter, nowMs: number): Promise<void> {
    const longestWindowSeconds = Math.max(...counter.rules.map((rule) => rule.windowSeconds));
    const invertedTime = String(MAX_TIMESTAMP_MS - nowMs).padStart(13, "0");
    const key = `${eventPrefix(counter.key)}${invertedTime}:${crypto.randomUUID()}`;
    try {
      await this.kv.put(key, "", { expirationTtl: Math.max(MIN_KV_TTL_SECONDS, longestWindowSeconds) });
    } catch (error) {
      throw new UpstreamError("kv", "Recording a rate-limit event failed", { cause: error });
    }
  }
}

function eventPrefix(counterKey: string): string {
  return `${KEY_PREFIX}${counterKey}:`;
}

function eventTime(keyName: string): number | null {
  const invertedTime = keyName.split(":").at(-2);
  if (invertedTime === undefined || !/^\d{13}$/.test(invertedTime)) return null;
  return MAX_TIMESTAMP_MS - Number(invertedTime);
}

/** Compute how long until `rule` allows one more event, from the newest event times (newest first). */
function waitUntilAllowedMs(newestFirst: readonly number[], rule: RateLimitRule, nowMs: number): number {
  const windowMs = rule.windowSeconds * 1000;
  const inWindow = newestFirst.filter((time) => time > nowMs - windowMs);
  if (inWindow.length < rule.limit) return 0;
  // One more event fits once the oldest event that keeps the window full has left it.
  const oldestBlocking = inWindow[rule.limit - 1] as number;
  return oldestBlocking + windowMs - nowMs;
}
