import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { KvRateLimiter } from "../../../src/adapters/rate-limit";
import { UpstreamError } from "../../../src/errors";

const START = new Date("2026-12-01T09:00:00.000Z");

function at(seconds: number): Date {
  return new Date(START.getTime() + seconds * 1000);
}

function uniqueKey(): string {
  return `test:${crypto.randomUUID()}`;
}

async function storedEvents(counterKey: string) {
  return (await env.OTP_KV.list({ prefix: `rate-limit:${counterKey}:` })).keys;
}

describe("KvRateLimiter", () => {
  const limiter = new KvRateLimiter(env.OTP_KV);

  it("allows up to the limit in a window", async () => {
    const counter = { key: uniqueKey(), rules: [{ limit: 3, windowSeconds: 3600 }] };

    for (let i = 0; i < 3; i++) {
      expect(await limiter.consume([counter], at(i))).toEqual({ allowed: true });
    }
    expect(await limiter.consume([counter], at(10))).toEqual({ allowed: false, retryAfterSeconds: 3590 });
  });

  it("slides the window", async () => {
    const counter = { key: uniqueKey(), rules: [{ limit: 1, windowSeconds: 60 }] };

    expect((await limiter.consume([counter], at(0))).allowed).toBe(true);
    expect(await limiter.consume([counter], at(59))).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect((await limiter.consume([counter], at(60))).allowed).toBe(true);
  });

  it("applies every rule of a counter", async () => {
    const counter = {
      key: uniqueKey(),
      rules: [
        { limit: 1, windowSeconds: 60 },
        { limit: 2, windowSeconds: 3600 },
      ],
    };

    expect((await limiter.consume([counter], at(0))).allowed).toBe(true);
    expect((await limiter.consume([counter], at(61))).allowed).toBe(true);
    expect(await limiter.consume([counter], at(122))).toEqual({ allowed: false, retryAfterSeconds: 3600 - 122 });
  });

  it("counts nothing when one counter refuses", async () => {
    const open = { key: uniqueKey(), rules: [{ limit: 5, windowSeconds: 3600 }] };
    const full = { key: uniqueKey(), rules: [{ limit: 1, windowSeconds: 3600 }] };
    await limiter.consume([full], at(0));

    expect((await limiter.consume([open, full], at(1))).allowed).toBe(false);
    expect((await limiter.consume([open, full], at(2))).allowed).toBe(false);

    expect(await storedEvents(open.key)).toHaveLength(0);
  });

  it("stores one empty key per event", async () => {
    const counter = { key: uniqueKey(), rules: [{ limit: 2, windowSeconds: 60 }] };
    await limiter.consume([counter], at(0));
    await limiter.consume([counter], at(5));

    const events = await storedEvents(counter.key);
    expect(events).toHaveLength(2);
    for (const event of events) {
      expect(event.name).toMatch(new RegExp(`^rate-limit:${counter.key}:\\d{13}:[0-9a-f-]{36}$`));
      expect(await env.OTP_KV.get(event.name)).toBe("");
    }
  });

  it("counts every event of a parallel burst", async () => {
    const counter = { key: uniqueKey(), rules: [{ limit: 5, windowSeconds: 3600 }] };

    await Promise.all(Array.from({ length: 4 }, () => limiter.consume([counter], at(0))));

    expect(await storedEvents(counter.key)).toHaveLength(4);
    expect((await limiter.consume([counter], at(1))).allowed).toBe(true);
    expect((await limiter.consume([counter], at(2))).allowed).toBe(false);
  });

  it("treats no rules as no limit", async () => {
    const counter = { key: uniqueKey(), rules: [] };

    for (let i = 0; i < 5; i++) expect((await limiter.consume([counter], at(0))).allowed).toBe(true);
    expect(await storedEvents(counter.key)).toHaveLength(0);
  });

  it("throws an upstream error when KV fails", async () => {
    const broken = new KvRateLimiter({
      list: async () => {
        throw new Error("KV LIST failed: 500");
      },
    } as unknown as KVNamespace);

    await expect(
      broken.consume([{ key: uniqueKey(), rules: [{ limit: 1, windowSeconds: 60 }] }], at(0)),
    ).rejects.toThrow(UpstreamError);
  });
});
