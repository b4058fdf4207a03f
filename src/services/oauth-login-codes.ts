import type { OAuthProviderName } from "../config";
import { sha256Hex } from "../crypto/hashing";
import { generateRandomToken } from "../crypto/random";
import { UpstreamError } from "../errors";

/** A one-time login code lives this long; 60 s is also the shortest TTL KV accepts. */
export const LOGIN_CODE_TTL_SECONDS = 60;

const LOGIN_CODE_KEY_PREFIX = "oauth-login-code:";

interface StoredLoginCode {
  userId: string;
  provider: OAuthProviderName;
  expiresAt: string;
}

/**
 * Issue the one-time code that an OAuth callback hands to the client instead of tokens. KV
 * stores only the code's SHA-256 as the key; the code has 256 random bits, so a plain hash is
 * enough.
 */
export async function issueLoginCode(
  kv: KVNamespace,
  input: { userId: string; provider: OAuthProviderName; now: Date },
): Promise<string> {
  const code = generateRandomToken(32);
  const stored: StoredLoginCode = {
    userId: input.userId,
    provider: input.provider,
    expiresAt: new Date(input.now.getTime() + LOGIN_CODE_TTL_SECONDS * 1000).toISOString(),
  };
  try {
    await kv.put(await loginCodeKey(code), JSON.stringify(stored), { expirationTtl: LOGIN_CODE_TTL_SECONDS });
  } catch (error) {
    throw new UpstreamError("kv", "Storing the login code failed", { cause: error });
  }
  return code;
}

/**
 * Redeem a login code: look it up, delete it so it works once, and check its expiry against the
 * app clock. Returns null for an unknown, used or expired code.
 *
 * NOTE: KV has no atomic get-and-delete, so two exchanges racing with one code inside KV's
 * propagation delay can both succeed; both sign in the same user, the only one who has the code.
 */
export async function consumeLoginCode(
  kv: KVNamespace,
  code: string,
  now: Date,
): Promise<{ userId: string; provider: OAuthProviderName } | null> {
  const key = await loginCodeKey(code);
  let stored: StoredLoginCode | null;
  try {
    stored = await kv.get<StoredLoginCode>(key, "json");
    if (stored !== null) await kv.delete(key);
  } catch (error) {
    throw new UpstreamError("kv", "Reading the login code failed", { cause: error });
  }

  if (stored === null || new Date(stored.expiresAt).getTime() <= now.getTime()) return null;
  return { userId: stored.userId, provider: stored.provider };
}

async function loginCodeKey(code: string): Promise<string> {
  return `${LOGIN_CODE_KEY_PREFIX}${await sha256Hex(code)}`;
}
