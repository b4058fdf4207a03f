/** What an SMS says, named so that providers sending registered templates can map it. */
export interface SmsTemplate {
  name: "one_time_code";
  variables: { code: string; expires_in_minutes: string };
}

export interface SmsMessage {
  /** The recipient in E.164 format. */
  to: string;
  /** The rendered text, for providers that send free text. */
  text: string;
  /**
   * The same message as a template name and variables. India's DLT rules require commercial SMS to
   * match a registered template, so a provider such as MSG91 sends the template id it has
   * configured for `name` with these variables instead of `text`.
   */
  template: SmsTemplate;
}

/** Sends one SMS. Implementations throw `UpstreamError("sms", …)` when delivery fails. */
export interface SmsSender {
  send(message: SmsMessage): Promise<void>;
}

/** Keeps every SMS in memory, for tests that read what the service sent. */
export class MemorySmsSender implements SmsSender {
  readonly messages: SmsMessage[] = [];

  async send(message: SmsMessage): Promise<void> {
    this.messages.push(message);
  }

  messagesTo(number: string): SmsMessage[] {
    return this.messages.filter((message) => message.to === number);
  }
}
