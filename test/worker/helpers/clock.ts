import type { Clock } from "../../../src/lib/clock";

/** A clock that stands still until a test moves it. */
export class FrozenClock implements Clock {
  private current: Date;

  constructor(start: Date | string = "2026-12-01T09:00:00.000Z") {
    this.current = new Date(start);
  }

  now(): Date {
    return new Date(this.current);
  }

  advanceSeconds(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }

  set(date: Date | string): void {
    this.current = new Date(date);
  }
}
