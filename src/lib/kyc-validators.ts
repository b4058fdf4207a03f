import type { GOVERNMENT_ID_TYPES } from "../db/schema";

export type GovernmentIdType = (typeof GOVERNMENT_ID_TYPES)[number];

// PAN: five letters, four digits, one letter. The fourth letter is the holder type: P person,
// C company, H Hindu undivided family, F firm, A association of persons, T trust, B body of
// individuals, L local authority, J artificial juridical person, G government.
const PAN_PATTERN = /^[A-Z]{3}[PCHFATBLJG][A-Z][0-9]{4}[A-Z]$/;

// Aadhaar: 12 digits; UIDAI never issues numbers starting with 0 or 1, and the last is a Verhoeff check digit.
const AADHAAR_PATTERN = /^[2-9][0-9]{11}$/;

// GSTIN: state code, the holder's PAN, entity number (1-9, then A-Z past nine registrations in
// one state), the letter Z, and a mod-36 check character.
const GSTIN_PATTERN = /^([0-9]{2})([A-Z0-9]{10})[1-9A-Z]Z[0-9A-Z]$/;

// GST state codes: 01 to 38 for the states and union territories, 97 for "Other Territory"
// and 99 for "Centre Jurisdiction", as the GST Council publishes them.
const GSTIN_STATE_CODES = new Set([
  ...Array.from({ length: 38 }, (_, index) => String(index + 1).padStart(2, "0")),
  "97",
  "99",
]);
const GSTIN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

// Passport: the document number field of ICAO 9303 travel documents is at most 9 characters of
// A-Z and 0-9. Traders come from many countries, so any issuer's format of 6 to 9 such characters
// with at least one digit is accepted; Indian passports (a letter and 7 digits) are a subset.
const PASSPORT_PATTERN = /^(?=.*[0-9])[A-Z0-9]{6,9}$/;

// Voter id: the Election Commission of India's EPIC number, three letters and seven digits.
const VOTER_ID_PATTERN = /^[A-Z]{3}[0-9]{7}$/;

// Driving licence: the Indian Sarathi format once spaces and hyphens are removed: a two-letter
// state code, a two-digit RTO code, the four-digit year of issue and a seven-digit serial.
const DRIVING_LICENCE_PATTERN = /^[A-Z]{2}[0-9]{2}(?:19|20)[0-9]{2}[0-9]{7}$/;

// National id of another country: formats differ too much to check more than 4 to 20 letters
// and digits with at least one digit.
const NATIONAL_ID_PATTERN = /^(?=.*[0-9])[A-Z0-9]{4,20}$/;

// Verhoeff tables: multiplication in the dihedral group D5, and the position permutation.
const VERHOEFF_MULTIPLICATION = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_PERMUTATION = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/**
 * Bring an id number to its canonical form: NFKC (so full-width digits become ASCII), upper case,
 * and without the spaces and hyphens people type between groups, as in `2345 6789 0124`.
 */
export function normalizeIdNumber(value: string): string {
  return value.normalize("NFKC").toUpperCase().replace(/[\s-]/g, "");
}

export function isValidPan(pan: string): boolean {
  return PAN_PATTERN.test(pan);
}

/** Check a string of decimal digits whose last digit is a Verhoeff check digit. */
export function hasValidVerhoeffCheckDigit(digits: string): boolean {
  if (!/^[0-9]+$/.test(digits)) return false;
  let check = 0;
  for (let position = 0; position < digits.length; position++) {
    const digit = Number(digits[digits.length - 1 - position]);
    const permuted = VERHOEFF_PERMUTATION[position % 8]?.[digit] ?? 0;
    check = VERHOEFF_MULTIPLICATION[check]?.[permuted] ?? 0;
  }
  return check === 0;
}

export function isValidAadhaar(aadhaar: string): boolean {
  return AADHAAR_PATTERN.test(aadhaar) && hasValidVerhoeffCheckDigit(aadhaar);
}

/**
 * Compute the GSTIN check character of the first 14 characters: a Luhn mod-36 sum over the
 * alphabet 0-9A-Z, doubling every second character from the left.
 */
export function computeGstinCheckCharacter(first14: string): string {
  let sum = 0;
  for (let index = 0; index < first14.length; index++) {
    const value = GSTIN_ALPHABET.indexOf(first14.charAt(index));
    if (value < 0) throw new RangeError("A GSTIN contains only the characters 0-9 and A-Z.");
    const product = value * (index % 2 === 0 ? 1 : 2);
    sum += Math.floor(product / 36) + (product % 36);
  }
  return GSTIN_ALPHABET.charAt((36 - (sum % 36)) % 36);
}

export function isValidGstin(gstin: string): boolean {
  const match = GSTIN_PATTERN.exec(gstin);
  if (match === null) return false;
  const [, stateCode = "", pan = ""] = match;
  return (
    GSTIN_STATE_CODES.has(stateCode) && isValidPan(pan) && computeGstinCheckCharacter(gstin.slice(0, 14)) === gstin[14]
  );
}

/** Return the PAN embedded in a valid GSTIN (characters 3 to 12). */
export function panOfGstin(gstin: string): string {
  return gstin.slice(2, 12);
}

export function isValidPassportNumber(value: string): boolean {
  return PASSPORT_PATTERN.test(value);
}

export function isValidVoterId(value: string): boolean {
  return VOTER_ID_PATTERN.test(value);
}

export function isValidDrivingLicence(value: string): boolean {
  return DRIVING_LICENCE_PATTERN.test(value);
}

export function isValidNationalId(value: string): boolean {
  return NATIONAL_ID_PATTERN.test(value);
}

const GOVERNMENT_ID_RULES: Record<GovernmentIdType, { isValid: (value: string) => boolean; message: string }> = {
  pan: {
    isValid: isValidPan,
    message: "A PAN is 5 letters, 4 digits and a letter (AAAAA9999A), with a valid holder type as its fourth letter.",
  },
  aadhaar: {
    isValid: isValidAadhaar,
    message: "An Aadhaar number is 12 digits, does not start with 0 or 1, and ends with a valid check digit.",
  },
  passport: { isValid: isValidPassportNumber, message: "A passport number is 6 to 9 letters and digits." },
  voter_id: { isValid: isValidVoterId, message: "A voter id (EPIC) number is 3 letters followed by 7 digits." },
  driving_licence: {
    isValid: isValidDrivingLicence,
    message: "A driving licence number is a 2-letter state code, a 2-digit RTO code, a 4-digit year and 7 digits.",
  },
  national_id: { isValid: isValidNationalId, message: "A national id number is 4 to 20 letters and digits." },
};

/** Validate a normalised id number for its type; returns the problem, or null when it is valid. */
export function checkGovernmentIdNumber(type: GovernmentIdType, normalized: string): string | null {
  const rule = GOVERNMENT_ID_RULES[type];
  return rule.isValid(normalized) ? null : rule.message;
}
