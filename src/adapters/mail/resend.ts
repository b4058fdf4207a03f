import { UpstreamError } from "../../errors";
import type { MailMessage, Mailer } from "./mailer";

const RESEND_EMAILS_URL = "https://api.resend.com/emails";
const RESEND_TIMEOUT_MS = 8_000;

/**
 * Sends mail through Resend's REST API with plain fetch. The official SDK pulls in a MIME parser
 * the Worker never uses, so calling the one endpoint directly keeps the bundle small.
 */
export class ResendMailer implements Mailer {
  constructor(
    private readonly options: {
      apiKey: string;
      from: string;
      replyTo: string | undefined;
      /** Defaults to 8 s; fault tests shorten it. */
      timeoutMs?: number;
    },
    private readonly fetcher: typeof fetch = fetch,
  ) {}

  async send(message: MailMessage): Promise<void> {
    const body: Record<string, unknown> = {
      from: this.options.from,
      to: [message.to],
      subject: message.subject,
      text: message.text,
      html: message.html,
    };
    if (this.options.replyTo !== undefined) body.reply_to = this.options.replyTo;

    let response: Response;
    try {
      response = await this.fetcher(RESEND_EMAILS_URL, {
        method: "POST",
        headers: { authorization: `Bearer ${this.options.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? RESEND_TIMEOUT_MS),
      });
    } catch (error) {
      throw new UpstreamError("mail", "Resend request failed", { cause: error });
    }

    // The body is never shown to clients; it is read only so the connection can be reused.
    await response.body?.cancel();
    if (!response.ok) throw new UpstreamError("mail", `Resend returned HTTP ${response.status}`);
  }
}
