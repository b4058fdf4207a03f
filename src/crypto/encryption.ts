import {
  decodeBase64IgnorePadding,
  decodeBase64urlIgnorePadding,
  encodeBase64,
  encodeBase64urlNoPadding,
} from "@oslojs/encoding";

/**
 * AES-256-GCM encryption for secrets stored in the database, such as provider tokens and
 * government id numbers. A ciphertext reads
 *
 *     v1.<key id>.<12-byte IV, base64url>.<ciphertext and 16-byte tag, base64url>
 *
 * The key id lets old rows decrypt after a new key becomes current. With random 96-bit IVs,
 * NIST SP 800-38D (section 8.3) allows at most 2^32 encryptions under one key, so rotate before then.
 */

/** Name of the setting that contains the keyring JSON, used in configuration error messages. */
export const ENCRYPTION_KEYS_SETTING = "ENCRYPTION_KEYS";

/** AES-256 keys by id; `currentKeyId` encrypts, every key in `keys` decrypts. */
export interface EncryptionKeyring {
  currentKeyId: string;
  // A Map, not an object, so that a key id read from a ciphertext such as "__proto__" or
  // "constructor" cannot reach inherited properties.
  keys: ReadonlyMap<string, Uint8Array>;
}

export type EncryptionKeyringParseResult = { ok: true; keyring: EncryptionKeyring } | { ok: false; message: string };

export type DecryptFailureReason = "malformed" | "unsupported_version" | "unknown_key_id" | "decryption_failed";

export type DecryptSecretResult =
  | { ok: true; plaintext: string; needsReencryption: boolean }
  | { ok: false; reason: DecryptFailureReason };

const FORMAT_VERSION = "v1";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF that was part of the secret instead of stripping it.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Parses a keyring such as `{"current": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}`,
 * where each key is 32 random bytes in standard base64 (`openssl rand -base64 32`).
 */
export function parseEncryptionKeyring(json: string): EncryptionKeyringParseResult {
  const fail = (problem: string): EncryptionKeyringParseResult => ({
    ok: false,
    message: `${ENCRYPTION_KEYS_SETTING} ${problem}`,
  });

  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return fail('is not valid JSON; expected {"current": "<key id>", "keys": {"<key id>": "<base64 of 32 bytes>"}}');
  }
  if (!isPlainObject(parsed) || typeof parsed.current !== "string" || !isPlainObject(parsed.keys)) {
    return fail('must be an object {"current": "<key id>", "keys": {"<key id>": "<base64 of 32 bytes>"}}');
  }

  const keys = new Map<string, Uint8Array>();
  for (const [keyId, encodedKey] of Object.entries(parsed.keys)) {
    if (!KEY_ID_PATTERN.test(keyId)) {
      return fail(`has key id "${keyId.slice(0, 64)}"; key ids must be 1 to 64 letters, digits, "_" or "-"`);
    }
    const key = typeof encodedKey === "string" ? decodeBase64Strictly(encodedKey) : null;
    if (key === null || key.length !== KEY_BYTES) {
      return fail(`key "${keyId}" must be ${KEY_BYTES} random bytes in standard base64`);
    }
    keys.set(keyId, key);
  }

  if (!keys.has(parsed.current)) {
    return fail(`names current key "${parsed.current.slice(0, 64)}", which is not among its keys`);
  }
  return { ok: true, keyring: { currentKeyId: parsed.current, keys } };
}

/**
 * Encrypts a secret under the keyring's current key. Pass the same `associatedData` (for
 * example the owning user's id) to {@link decryptSecret}, so that a ciphertext copied to
 * another row fails to decrypt there.
 */
export async function encryptSecret(
  plaintext: string,
  keyring: EncryptionKeyring,
  associatedData?: string,
): Promise<string> {
  const keyId = keyring.currentKeyId;
  const keyBytes = keyring.keys.get(keyId);
  if (keyBytes === undefined) {
    throw new Error(`Encryption keyring has no key for its current key id "${keyId}"`);
  }

  const key = await importAesKey(keyBytes, "encrypt");
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = await crypto.subtle.encrypt(aesGcmParameters(iv, associatedData), key, utf8.encode(plaintext));

  return [
    FORMAT_VERSION,
    keyId,
    encodeBase64urlNoPadding(iv),
    encodeBase64urlNoPadding(new Uint8Array(ciphertext)),
  ].join(".");
}

/**
 * Decrypts a value made by {@link encryptSecret}. A wrong key, altered bytes and mismatched
 * associated data all fail GCM authentication and are reported alike as `decryption_failed`.
 */
export async function decryptSecret(
  ciphertext: string,
  keyring: EncryptionKeyring,
  associatedData?: string,
): Promise<DecryptSecretResult> {
  const parts = ciphertext.split(".");
  if (parts.length !== 4) {
    return { ok: false, reason: "malformed" };
  }
  const [version, keyId, encodedIv, encodedCiphertext] = parts as [string, string, string, string];
  if (version !== FORMAT_VERSION) {
    return { ok: false, reason: "unsupported_version" };
  }

  const keyBytes = keyring.keys.get(keyId);
  if (keyBytes === undefined) {
    return { ok: false, reason: "unknown_key_id" };
  }
  const iv = decodeBase64urlStrictly(encodedIv);
  const sealed = decodeBase64urlStrictly(encodedCiphertext);
  if (iv === null || iv.length !== IV_BYTES || sealed === null || sealed.length < TAG_BYTES) {
    return { ok: false, reason: "malformed" };
  }

  const key = await importAesKey(keyBytes, "decrypt");
  let plaintextBytes: ArrayBuffer;
  try {
    plaintextBytes = await crypto.subtle.decrypt(aesGcmParameters(iv, associatedData), key, sealed);
  } catch {
    return { ok: false, reason: "decryption_failed" };
  }

  // GCM has authenticated these bytes, and encryptSecret only encrypts UTF-8 strings.
  const plaintext = strictUtf8.decode(plaintextBytes);
  return { ok: true, plaintext, needsReencryption: keyId !== keyring.currentKeyId };
}

/** Generates a one-key keyring JSON for local development secrets. */
export function generateEncryptionKeyringJson(keyId = "k1"): string {
  if (!KEY_ID_PATTERN.test(keyId)) {
    throw new RangeError(`Key id must be 1 to 64 letters, digits, "_" or "-", got "${keyId}"`);
  }

  const key = encodeBase64(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
  return JSON.stringify({ current: keyId, keys: { [keyId]: key } });
}

function importAesKey(keyBytes: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", keyBytes, { name: "AES-GCM" }, false, [usage]);
}

function aesGcmParameters(iv: Uint8Array, associatedData: string | undefined): SubtleCryptoEncryptAlgorithm {
  if (associatedData === undefined) {
    return { name: "AES-GCM", iv };
  }
  return { name: "AES-GCM", iv, additionalData: utf8.encode(associatedData) };
}

function decodeBase64Strictly(encoded: string): Uint8Array | null {
  if (!BASE64_PATTERN.test(encoded)) {
    return null;
  }
  try {
    return decodeBase64IgnorePadding(encoded);
  } catch {
    return null;
  }
}

function decodeBase64urlStrictly(encoded: string): Uint8Array | null {
  if (!BASE64URL_PATTERN.test(encoded)) {
    return null;
  }
  try {
    return decodeBase64urlIgnorePadding(encoded);
  } catch {
    return null;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
