export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Sends one email. Implementations throw `UpstreamError("mail", …)` when delivery fails. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** Keeps every message in memory, for tests that read what the service sent. */
export class MemoryMailer implements Mailer {
  readonly messages: MailMessage[] = [];

  async send(message: MailMessage): Promise<void> {
    this.messages.push(message);
  }

  messagesTo(address: string): MailMessage[] {
    return this.messages.filter((message) => message.to === address);
  }
}
