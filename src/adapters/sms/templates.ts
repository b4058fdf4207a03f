import type { SmsMessage } from "./sender";

const PRODUCT_NAME = "Trade Identity";

/**
 * A one-time code by SMS. The last line is the origin-bound format of the WebOTP API
 * (`@host #code`), which lets a browser on that site offer the code for autofill and stops other
 * sites from reading it.
 */
export function oneTimeCodeSms(to: string, code: string, expiresInMinutes: number, appUrl: string): SmsMessage {
  const host = new URL(appUrl).host;
  const text =
    `${code} is your ${PRODUCT_NAME} code. It expires in ${expiresInMinutes} minutes. Do not share it with anyone.\n\n` +
    `@${host} #${code}`;
  return {
    to,
    text,
    template: { name: "one_time_code", variables: { code, expires_in_minutes: String(expiresInMinutes) } },
  };
}
