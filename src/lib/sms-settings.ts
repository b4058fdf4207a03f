export const SMS_PROVIDERS = ["twilio"] as const;
export type SmsProvider = (typeof SMS_PROVIDERS)[number];

export interface TwilioSettings {
  accountSid: string;
  authToken: string;
  from: string | undefined;
  messagingServiceSid: string | undefined;
}

/**
 * SMS settings. Only Twilio is implemented. An Indian DLT provider such as MSG91 would add its name
 * to SMS_PROVIDERS, its own settings here (an auth key and the DLT template id registered for each
 * `SmsTemplate` name), and a sender in src/adapters/sms/ chosen by createSmsSender.
 */
export interface SmsSettings {
  provider: SmsProvider;
  /** Undefined only in development and tests, where SMS go to the outbox or to a test's capture. */
  twilio: TwilioSettings | undefined;
}

export type SmsSettingBindings = {
  SMS_PROVIDER?: string;
  TWILIO_ACCOUNT_SID?: string;
  TWILIO_AUTH_TOKEN?: string;
  TWILIO_FROM?: string;
  TWILIO_MESSAGING_SERVICE_SID?: string;
};

const ACCOUNT_SID_PATTERN = /^AC[0-9a-fA-F]{32}$/;
const MESSAGING_SERVICE_SID_PATTERN = /^MG[0-9a-fA-F]{32}$/;
// An E.164 number, or an alphanumeric sender id of at most 11 characters with at least one letter.
const SENDER_PATTERN = /^(\+[1-9][0-9]{6,14}|(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11})$/;

/** Parse the SMS settings; outside development and tests the provider's credentials are required. */
export function parseSmsSettings(bindings: SmsSettingBindings, isLocal: boolean, problems: string[]): SmsSettings {
  const provider = (bindings.SMS_PROVIDER?.trim() || "twilio").toLowerCase();
  if (!(SMS_PROVIDERS as readonly string[]).includes(provider)) {
    problems.push(`SMS_PROVIDER must be one of ${SMS_PROVIDERS.join(", ")}, got "${provider}"`);
  }

  const accountSid = bindings.TWILIO_ACCOUNT_SID?.trim() || undefined;
  const authToken = bindings.TWILIO_AUTH_TOKEN?.trim() || undefined;
  const from = bindings.TWILIO_FROM?.trim() || undefined;
  const messagingServiceSid = bindings.TWILIO_MESSAGING_SERVICE_SID?.trim() || undefined;
  const anySet = [accountSid, authToken, from, messagingServiceSid].some((value) => value !== undefined);
  if (isLocal && !anySet) return { provider: "twilio", twilio: undefined };

  if (accountSid === undefined) problems.push("TWILIO_ACCOUNT_SID is not set");
  else if (!ACCOUNT_SID_PATTERN.test(accountSid))
    problems.push("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits");
  if (authToken === undefined) problems.push("TWILIO_AUTH_TOKEN is not set");
  if (from === undefined && messagingServiceSid === undefined) {
    problems.push("Set TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM (the sender number or sender id)");
  }
  if (from !== undefined && !SENDER_PATTERN.test(from)) {
    problems.push("TWILIO_FROM must be an E.164 number or an alphanumeric sender id of at most 11 characters");
  }
  if (messagingServiceSid !== undefined && !MESSAGING_SERVICE_SID_PATTERN.test(messagingServiceSid)) {
    problems.push("TWILIO_MESSAGING_SERVICE_SID must be MG followed by 32 hex digits");
  }

  if (accountSid === undefined || authToken === undefined) return { provider: "twilio", twilio: undefined };
  return { provider: "twilio", twilio: { accountSid, authToken, from, messagingServiceSid } };
}
