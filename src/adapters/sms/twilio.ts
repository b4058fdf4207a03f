import { UpstreamError } from "../../errors";
import type { SmsMessage, SmsSender } from "./sender";

const TWILIO_API_ORIGIN = "https://api.twilio.com";
export const TWILIO_TIMEOUT_MS = 8_000;

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  /** The sender number or alphanumeric sender id; used when no messaging service is set. */
  from: string | undefined;
  /** A messaging service, which picks the sender itself; preferred over `from` when both are set. */
  messagingServiceSid: string | undefined;
  timeoutMs?: number;
}

/**
 * Sends SMS through Twilio's Messages API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
 * HTTP Basic auth with the account SID and auth token, form-encoded `To`, `From` or
 * `MessagingServiceSid`, and `Body`). Twilio answers 201 Created when it has queued the message.
 */
export class TwilioSmsSender implements SmsSender {
  constructor(
    private readonly options: TwilioOptions,
    private readonly fetcher: typeof fetch = fetch,
  ) {}

  async send(message: SmsMessage): Promise<void> {
    const { accountSid, authToken, from, messagingServiceSid } = this.options;
    const form = new URLSearchParams({ To: message.to, Body: message.text });
    if (messagingServiceSid !== undefined) form.set("MessagingServiceSid", messagingServiceSid);
    else if (from !== undefined) form.set("From", from);

    const url = `${TWILIO_API_ORIGIN}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`;
    let response: Response;
    try {
      response = await this.fetcher(url, {
        method: "POST",
        headers: {
          authorization: `Basic ${btoa(`${accountSid}:${authToken}`)}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: form,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? TWILIO_TIMEOUT_MS),
      });
    } catch (error) {
      // The message text holds the code and the error may quote the request, so neither is kept.
      throw new UpstreamError("sms", "Twilio request failed or timed out", { cause: error });
    }

    // Twilio's error body names the recipient; it is discarded unread.
    await response.body?.cancel();
    if (!response.ok) {
      throw new UpstreamError("sms", `Twilio returned HTTP ${response.status}`);
    }
  }
}
