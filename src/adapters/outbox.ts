import { UpstreamError } from "../errors";

export type OutboxChannel = "email" | "sms";

export interface OutboxMessage {
  channel: OutboxChannel;
  to: string;
  subject: string | null;
  text: string;
  created_at: string;
}

const KEY_PREFIX = "dev-outbox:";
const RETENTION_SECONDS = 24 * 60 * 60;
// Keys sort by this inverted timestamp, so a KV list returns the newest message first.
const MAX_TIMESTAMP_MS = 9_999_999_999_999;

/**
 * The development outbox: every email and SMS the service would have sent, kept in KV for a day
 * so a developer can read codes and links at `/dev/outbox`. Only development mode uses it.
 */
export class DevelopmentOutbox {
  constructor(private readonly kv: KVNamespace) {}

  async add(message: Omit<OutboxMessage, "created_at">, now: Date): Promise<void> {
    const stored: OutboxMessage = { ...message, created_at: now.toISOString() };
    const invertedTime = String(MAX_TIMESTAMP_MS - now.getTime()).padStart(13, "0");
    const key = `${KEY_PREFIX}${invertedTime}:${crypto.randomUUID()}`;
    try {
      await this.kv.put(key, JSON.stringify(stored), {
        expirationTtl: RETENTION_SECONDS,
        metadata: { to: message.to },
      });
    } catch (error) {
      throw new UpstreamError("kv", "Writing to the development outbox failed", { cause: error });
    }
  }

  async list(to: string | undefined): Promise<OutboxMessage[]> {
    const listed = await this.kv.list<{ to: string }>({ prefix: KEY_PREFIX, limit: 1000 });
    const keys = listed.keys.filter((key) => to === undefined || key.metadata?.to === to);
    const values = await Promise.all(keys.map((key) => this.kv.get<OutboxMessage>(key.name, "json")));
    return values.filter((value): value is OutboxMessage => value !== null);
  }

  async clear(): Promise<void> {
    const listed = await this.kv.list({ prefix: KEY_PREFIX, limit: 1000 });
    await Promise.all(listed.keys.map((key) => this.kv.delete(key.name)));
  }
}
