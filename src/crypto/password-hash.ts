import { decodeBase64IgnorePadding, encodeBase64NoPadding } from "@oslojs/encoding";
import { constantTimeEqual } from "./constant-time";
import { hmacSha256 } from "./hashing";

/**
 * Password hashing with PBKDF2-HMAC-SHA-512 behind an HMAC-SHA-256 pepper.
 *
 * Stored format, in the PHC string style (salt and hash are standard base64 without padding):
 *
 *     $pbkdf2-sha512$i=100000$<16-byte salt>$<64-byte hash>
 *
 * The PBKDF2 input is HMAC-SHA-256(pepper, UTF-8 of the NFKC-normalised password), not the
 * password itself. The pepper lives in a secret outside the database, so a leaked table alone
 * cannot be cracked offline. The HMAC step also reads the whole password, so nothing is truncated.
 *
 * NOTE: the format has no pepper id, so rotating the pepper would make every stored hash
 * unverifiable. To add rotation, give new hashes a `k=<pepper id>` parameter and read hashes
 * without one as made by the original pepper.
 */

export const PASSWORD_HASH_ALGORITHM = "pbkdf2-sha512";

/** PBKDF2 iterations used for new hashes. */
export const PASSWORD_HASH_ITERATIONS = 100_000;

/**
 * Highest iteration count that Web Crypto PBKDF2 accepts on Cloudflare Workers in production.
 * Local workerd does not enforce it, so only a test catches a constant raised above it.
 */
export const MAX_PBKDF2_ITERATIONS_ON_WORKERS = 100_000;

const SALT_BYTES = 16;
const HASH_BYTES = 64;
const utf8 = new TextEncoder();

// `i` must not have leading zeros so that one iteration count has exactly one encoding.
const STORED_HASH_PATTERN = /^\$pbkdf2-sha512\$i=([1-9][0-9]{0,8})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export interface PasswordHash {
  /** The self-describing stored string, for `auth_credentials.password_hash`. */
  hash: string;
  /** The scheme name, for `auth_credentials.password_algo`. */
  algo: string;
}

export interface PasswordVerification {
  ok: boolean;
  /** True when the password matched but the stored hash uses weaker parameters than new hashes. */
  needsRehash: boolean;
}

interface StoredPasswordHash {
  iterations: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

/** Hashes a password for storage with a fresh random salt and the current parameters. */
export async function hashPassword(password: string, pepper: string): Promise<PasswordHash> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derivePasswordHash(password, pepper, salt, PASSWORD_HASH_ITERATIONS, HASH_BYTES);

  return {
    hash: formatStoredHash({ iterations: PASSWORD_HASH_ITERATIONS, salt, hash }),
    algo: PASSWORD_HASH_ALGORITHM,
  };
}

/**
 * Checks a password against a stored hash in constant time and reports whether the stored hash
 * should be replaced by a fresh {@link hashPassword} result.
 *
 * Throws when the stored hash is malformed or needs more iterations than Workers allows, because
 * that means a corrupt row or a migration bug, not a wrong password.
 */
export async function verifyPassword(
  password: string,
  storedHash: string,
  pepper: string,
): Promise<PasswordVerification> {
  const stored = parseStoredHash(storedHash);
  if (typeof stored === "string") {
    throw new Error(`Stored password hash ${stored}`);
  }

  const candidate = await derivePasswordHash(password, pepper, stored.salt, stored.iterations, stored.hash.length);
  if (!constantTimeEqual(candidate, stored.hash)) {
    return { ok: false, needsRehash: false };
  }

  const needsRehash =
    stored.iterations < PASSWORD_HASH_ITERATIONS || stored.salt.length < SALT_BYTES || stored.hash.length < HASH_BYTES;
  return { ok: true, needsRehash };
}

/**
 * Does the same work as {@link verifyPassword} against a random hash and always fails. Call it
 * when the login identifier matches no account, so that response time does not reveal which
 * identifiers exist.
 */
export async function verifyPasswordAgainstDummyHash(
  password: string,
  pepper: string,
): Promise<{ ok: false; needsRehash: false }> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const dummyHash = crypto.getRandomValues(new Uint8Array(HASH_BYTES));

  const candidate = await derivePasswordHash(password, pepper, salt, PASSWORD_HASH_ITERATIONS, HASH_BYTES);
  constantTimeEqual(candidate, dummyHash);
  return { ok: false, needsRehash: false };
}

async function derivePasswordHash(
  password: string,
  pepper: string,
  salt: Uint8Array,
  iterations: number,
  hashBytes: number,
): Promise<Uint8Array> {
  // NFKC makes visually equal input typed on different keyboards or IMEs, such as the "ﬁ"
  // ligature and "fi", hash alike.
  const pepperedPassword = await hmacSha256(pepper, utf8.encode(password.normalize("NFKC")));

  const baseKey = await crypto.subtle.importKey("raw", pepperedPassword, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-512", salt, iterations },
    baseKey,
    hashBytes * 8,
  );
  return new Uint8Array(bits);
}

function formatStoredHash(stored: StoredPasswordHash): string {
  const salt = encodeBase64NoPadding(stored.salt);
  const hash = encodeBase64NoPadding(stored.hash);
  return `$${PASSWORD_HASH_ALGORITHM}$i=${stored.iterations}$${salt}$${hash}`;
}

/** Returns the parsed hash, or the end of a sentence saying why it cannot be verified. */
function parseStoredHash(storedHash: string): StoredPasswordHash | string {
  const malformed = "is not in the $pbkdf2-sha512$i=<iterations>$<salt>$<hash> format";
  const match = STORED_HASH_PATTERN.exec(storedHash);
  if (match === null) {
    return malformed;
  }

  const iterations = Number(match[1]);
  if (iterations > MAX_PBKDF2_ITERATIONS_ON_WORKERS) {
    return `uses ${iterations} PBKDF2 iterations, above the ${MAX_PBKDF2_ITERATIONS_ON_WORKERS} that Workers allows`;
  }

  let salt: Uint8Array;
  let hash: Uint8Array;
  try {
    salt = decodeBase64IgnorePadding(match[2] as string);
    hash = decodeBase64IgnorePadding(match[3] as string);
  } catch {
    return malformed;
  }

  // Shorter salts and hashes come only from a corrupt row. PBKDF2 runs one full iteration chain
  // per 64 bytes of SHA-512 output, so a longer hash would double the work for no gain.
  if (salt.length < 8 || hash.length < 16 || hash.length > HASH_BYTES) {
    return malformed;
  }
  return { iterations, salt, hash };
}
