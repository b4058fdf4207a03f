import { type CountryCode, isSupportedCountry, parsePhoneNumberFromString } from "libphonenumber-js/min";

/**
 * Normalise a business contact number to E.164. A national number is read in `defaultRegion`
 * (ISO 3166-1 alpha-2). Returns null for anything that is not one valid number on its own: text
 * around the number, an extension, or a number that is impossible for its country.
 */
export function normalizeBusinessPhoneNumber(input: string, defaultRegion: string): string | null {
  const defaultCountry: CountryCode | undefined = isSupportedCountry(defaultRegion) ? defaultRegion : undefined;
  const parsed = parsePhoneNumberFromString(input.trim(), { defaultCountry, extract: false });
  if (parsed === undefined || !parsed.isValid() || parsed.ext !== undefined) return null;
  return parsed.number;
}
