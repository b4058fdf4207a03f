// The "mobile" metadata set validates mobile number ranges exactly and leaves out the other number
// types, so it is smaller than "max" while still telling a mobile number from a fixed line, which
// the default "min" set cannot do.
import { parsePhoneNumberFromString } from "libphonenumber-js/mobile";
import type { CountryCode } from "libphonenumber-js/mobile";

const MAX_PHONE_INPUT_LENGTH = 32;

export type MobileNumberResult = { ok: true; e164: string } | { ok: false; message: string };

/**
 * Parse a number that must be able to receive SMS and normalise it to E.164. A number without a
 * leading `+` is read as a national number of `defaultRegion`. Invalid numbers, fixed lines, toll-free
 * and other non-mobile numbers, and numbers with an extension are rejected.
 */
export function parseMobileNumber(input: string, defaultRegion: string): MobileNumberResult {
  const text = input.trim();
  if (text === "" || text.length > MAX_PHONE_INPUT_LENGTH) {
    return { ok: false, message: "Enter a mobile number in international format, such as +919876543210." };
  }

  // extract: false reads the whole input as one number instead of searching text for one.
  const parsed = parsePhoneNumberFromString(text, { defaultCountry: defaultRegion as CountryCode, extract: false });
  if (parsed === undefined || !parsed.isValid()) {
    return { ok: false, message: "This is not a valid mobile number." };
  }
  if (parsed.ext !== undefined) {
    return { ok: false, message: "Mobile numbers cannot have an extension." };
  }
  // With mobile metadata, getType() returns MOBILE only for ranges assigned to mobile networks. In
  // the North American plan fixed and mobile ranges overlap, so it returns MOBILE there too.
  if (parsed.getType() !== "MOBILE") {
    return { ok: false, message: "This number cannot receive SMS. Enter a mobile number." };
  }
  return { ok: true, e164: parsed.number };
}
