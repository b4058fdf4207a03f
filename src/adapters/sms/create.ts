import type { Config } from "../../config";
import type { Clock } from "../../lib/clock";
import { DevelopmentOutbox } from "../outbox";
import { OutboxSmsSender } from "./outbox-sms";
import type { SmsSender } from "./sender";
import { TwilioSmsSender } from "./twilio";

/**
 * Choose the SMS sender for this deployment: the development outbox in development (and in tests
 * without credentials), otherwise the configured provider. A new provider gets its branch here.
 */
export function createSmsSender(config: Config, kv: KVNamespace, clock: Clock): SmsSender {
  const { twilio } = config.sms;
  if (config.isDevelopment || twilio === undefined) return new OutboxSmsSender(new DevelopmentOutbox(kv), clock);
  switch (config.sms.provider) {
    case "twilio":
      return new TwilioSmsSender(twilio);
  }
}
