import { encodeBase64urlNoPadding } from "@oslojs/encoding";

const MIN_TOKEN_BYTES = 16;

// Web Crypto fills at most 65,536 bytes per getRandomValues call.
const MAX_TOKEN_BYTES = 65_536;

// 250 is the largest multiple of 10 that fits in a byte. Bytes 250–255 are drawn again, because
// mapping them with `% 10` would make the digits 0–5 slightly more likely than 6–9.
const UNBIASED_BYTE_LIMIT = 250;

/**
 * Generates a token from a CSPRNG, encoded as base64url without padding. The default 32 bytes
 * give 256 bits; anything under 16 bytes (128 bits) is rejected as too guessable for a secret.
 */
export function generateRandomToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < MIN_TOKEN_BYTES || bytes > MAX_TOKEN_BYTES) {
    throw new RangeError(
      `Token length must be an integer from ${MIN_TOKEN_BYTES} to ${MAX_TOKEN_BYTES} bytes, got ${bytes}`,
    );
  }

  return encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * Generates a decimal one-time code with every digit uniform and independent, leading zeros kept.
 * Each digit comes from one random byte below 250 (rejection sampling), so no digit is favoured.
 */
export function generateNumericCode(digits = 6): string {
  if (!Number.isInteger(digits) || digits < 1) {
    throw new RangeError(`Code length must be a positive integer, got ${digits}`);
  }

  // About 2.3 % of bytes are rejected, so two bytes per digit almost always fill the code at once.
  const randomBytes = new Uint8Array(digits * 2);
  let code = "";
  while (code.length < digits) {
    crypto.getRandomValues(randomBytes);
    for (const byte of randomBytes) {
      if (code.length === digits) {
        break;
      }
      if (byte < UNBIASED_BYTE_LIMIT) {
        code += String(byte % 10);
      }
    }
  }
  return code;
}
