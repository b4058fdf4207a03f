import type { Dependencies } from "../http/context";
import { maskEmail, maskPhoneNumber } from "../lib/mask";
import { parseMobileNumber } from "../lib/phone";
import { type ApiCodeChannel, CODE_TTL_SECONDS } from "./one-time-codes";

/** The 202 body of every request that sends a code. */
export interface CodeSent {
  status: "code_sent";
  channel: ApiCodeChannel;
  destination: string;
  expires_in: number;
}

export type DestinationResult = { ok: true; destination: string } | { ok: false; message: string };

/**
 * Normalise a destination for its channel: emails arrive lower-cased from the request schema, and
 * mobile numbers become E.164, read in the default region when they have no country code.
 */
export function normaliseDestination(
  deps: Dependencies,
  channel: ApiCodeChannel,
  destination: string,
): DestinationResult {
  if (channel === "email") return { ok: true, destination };
  const parsed = parseMobileNumber(destination, deps.config.defaultPhoneRegion);
  return parsed.ok ? { ok: true, destination: parsed.e164 } : { ok: false, message: parsed.message };
}

export function codeSent(channel: ApiCodeChannel, destination: string): CodeSent {
  return {
    status: "code_sent",
    channel,
    destination: channel === "email" ? maskEmail(destination) : maskPhoneNumber(destination),
    expires_in: CODE_TTL_SECONDS,
  };
}
