import type { Clock } from "../../lib/clock";
import type { DevelopmentOutbox } from "../outbox";
import type { SmsMessage, SmsSender } from "./sender";

/** Delivers SMS into the development outbox instead of sending them. */
export class OutboxSmsSender implements SmsSender {
  constructor(
    private readonly outbox: DevelopmentOutbox,
    private readonly clock: Clock,
  ) {}

  async send(message: SmsMessage): Promise<void> {
    await this.outbox.add({ channel: "sms", to: message.to, subject: null, text: message.text }, this.clock.now());
  }
}
