import { afterEach, describe, expect, it } from "vitest";
import { DatabaseDeadline } from "../../src/db/client";
import { createTestApp } from "./helpers/app";

// workerd allows 10,000 active timers per request context; the tests below share one context.
const WORKERD_TIMER_LIMIT = 10_000;
const heldTimers: ReturnType<typeof setTimeout>[] = [];

afterEach(() => {
  for (const timer of heldTimers.splice(0)) clearTimeout(timer);
});

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

describe("the database deadline", () => {
  it("aborts its signal once the time is up", async () => {
    const deadline = new DatabaseDeadline(20);
    const signal = deadline.signal;
    await sleep(60);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).name).toBe("TimeoutError");
  });

  it("never fires once released", async () => {
    const deadline = new DatabaseDeadline(20);
    const signal = deadline.signal;
    deadline.release();
    await sleep(60);
    expect(signal.aborted).toBe(false);
  });

  it("leaves no active timer behind a finished request", async () => {
    const t = await createTestApp();
    // Hold all but 10 of the context's timers; a request that kept its timer would use one up.
    for (let index = 0; index < WORKERD_TIMER_LIMIT - 10; index++) heldTimers.push(setTimeout(() => {}, 60_000));

    const statuses: number[] = [];
    for (let index = 0; index < 30; index++) statuses.push((await t.request("GET", "/v1/countries")).status);
    expect(statuses).toEqual(Array.from({ length: 30 }, () => 200));
  });
});
