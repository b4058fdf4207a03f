import type { Mailer } from "../adapters/mail/mailer";
import type { RateLimiter } from "../adapters/rate-limit";
import type { SmsSender } from "../adapters/sms/sender";
import type { Bindings, Config } from "../config";
import type { Database } from "../db/client";
import type { Clock } from "../lib/clock";
import type { Logger } from "../lib/logger";

/** Everything a request handler reaches outside its own code, built once per request. */
export interface Dependencies {
  requestId: string;
  config: Config;
  db: Database;
  mailer: Mailer;
  sms: SmsSender;
  rateLimiter: RateLimiter;
  /** The client address from `CF-Connecting-IP` only, canonicalised; null when absent or invalid. */
  clientIp: string | null;
  clock: Clock;
  log: Logger;
  kv: KVNamespace;
  bucket: R2Bucket;
  waitUntil: (promise: Promise<unknown>) => void;
}

/** The signed-in caller, read from a verified access token without a database call. */
export interface Caller {
  userId: string;
  sessionId: string;
  role: "user" | "reviewer" | "admin";
}

export type AppEnv = {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    deps: Dependencies;
    caller: Caller;
  };
};
