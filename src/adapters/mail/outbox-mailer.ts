import type { Clock } from "../../lib/clock";
import type { DevelopmentOutbox } from "../outbox";
import type { MailMessage, Mailer } from "./mailer";

/** Delivers mail into the development outbox instead of sending it. */
export class OutboxMailer implements Mailer {
  constructor(
    private readonly outbox: DevelopmentOutbox,
    private readonly clock: Clock,
  ) {}

  async send(message: MailMessage): Promise<void> {
    await this.outbox.add(
      { channel: "email", to: message.to, subject: message.subject, text: message.text },
      this.clock.now(),
    );
  }
}
