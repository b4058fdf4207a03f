import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/min";

/**
 * What a login identifier can match, normalised the way the users table stores it. A string of
 * digits can be both a national mobile number and a username, so then both are set. When each
 * matches a different account, the mobile number wins.
 */
export interface LoginIdentifier {
  email: string | null;
  mobileNumber: string | null;
  username: string | null;
  /** One spelling per identifier, for throttling counters kept outside the database. */
  throttleKey: string;
}

const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;
const PHONE_SHAPE = /^\+?[0-9][0-9 ().-]{5,24}$/;

/** The throttle key of a normalised email address or E.164 number, the same one login uses. */
export function throttleKeyForDestination(channel: "email" | "sms", destination: string): string {
  return channel === "email" ? `email:${destination}` : `mobile:${destination}`;
}

/**
 * Normalise an email, a username, or a mobile number (E.164, or a national number read in
 * `defaultRegion`). Emails and usernames compare case-insensitively.
 */
export function normaliseLoginIdentifier(identifier: string, defaultRegion: string): LoginIdentifier {
  const trimmed = identifier.trim();
  if (trimmed.includes("@")) {
    const email = trimmed.toLowerCase();
    return { email, mobileNumber: null, username: null, throttleKey: throttleKeyForDestination("email", email) };
  }

  const username = USERNAME_PATTERN.test(trimmed) ? trimmed.toLowerCase() : null;
  const mobileNumber = PHONE_SHAPE.test(trimmed) ? parseMobileNumber(trimmed, defaultRegion) : null;
  const throttleKey =
    mobileNumber !== null
      ? throttleKeyForDestination("sms", mobileNumber)
      : `username:${username ?? trimmed.toLowerCase()}`;
  return { email: null, mobileNumber, username, throttleKey };
}

// A region without metadata makes libphonenumber-js return undefined, so such text matches no number.
function parseMobileNumber(text: string, defaultRegion: string): string | null {
  const parsed = parsePhoneNumberFromString(text, defaultRegion as CountryCode);
  return parsed?.isValid() ? parsed.number : null;
}
