import { errors, jwtVerify, SignJWT } from "jose";
import { generateRandomToken } from "./random";
import type { JWSHeaderParameters, JWTPayload } from "jose";

/**
 * Access tokens: ES256 JWTs with the RFC 9068 `typ` of `at+jwt`, so that no other token signed
 * with these keys (an OAuth state, say) passes as a bearer token.
 *
 * NOTE: the claims omit RFC 9068's `client_id`, because this service issues access tokens only
 * to its own clients and not as an OAuth authorization server.
 */

/** Name of the setting that contains the private JWK set, used in configuration error messages. */
export const JWT_SIGNING_KEYS_SETTING = "JWT_SIGNING_KEYS";

export const ACCESS_TOKEN_TYPE = "at+jwt";
export const ACCESS_TOKEN_ALGORITHM = "ES256";
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 900;

/** Tolerated difference between the issuer's clock and the verifier's. */
export const MAX_CLOCK_SKEW_SECONDS = 30;

// Tokens from signAccessToken are about 500 characters long. The cap bounds the base64 and JSON
// decoding that a hostile bearer header can cause before the signature check rejects it.
const MAX_ACCESS_TOKEN_LENGTH = 8192;

const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const P256_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };

/** Public half of a signing key as published at `/.well-known/jwks.json`. */
export interface PublicSigningJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
  kid: string;
  alg: "ES256";
  use: "sig";
}

/** Private signing key in the form `JWT_SIGNING_KEYS` stores it. */
export interface PrivateSigningJwk extends PublicSigningJwk {
  d: string;
}

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: PublicSigningJwk;
}

/** Configured signing keys: the first signs new tokens, and every key verifies. */
export type SigningKeys = readonly [SigningKey, ...SigningKey[]];

export type SigningKeysParseResult = { ok: true; keys: SigningKeys } | { ok: false; message: string };

/** Identity that an access token carries. */
export interface AccessTokenSubject {
  /** User id. */
  sub: string;
  /** Session id, so a revoked session can be recognised. */
  sid: string;
  role: string;
}

export interface AccessTokenClaims extends AccessTokenSubject {
  iss: string;
  aud: string | string[];
  /** Issue time in seconds since the Unix epoch. */
  iat: number;
  /** Expiry time in seconds since the Unix epoch. */
  exp: number;
  jti: string;
}

export interface SignAccessTokenOptions {
  issuer: string;
  audience: string;
  now: Date;
  ttlSeconds?: number;
}

export interface VerifyAccessTokenOptions {
  issuer: string;
  audience: string;
  /** The verifier's current time; a frozen test clock passes its own. */
  now: Date;
}

export type AccessTokenFailureReason =
  | "malformed"
  | "algorithm_not_allowed"
  | "unknown_key"
  | "invalid_signature"
  | "wrong_type"
  | "missing_claim"
  | "invalid_claims"
  | "expired"
  | "wrong_issuer"
  | "wrong_audience";

export type VerifyAccessTokenResult =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; reason: AccessTokenFailureReason };

/**
 * Parses and imports a JWK set of P-256 private keys, such as
 * `{"keys": [{"kty": "EC", "crv": "P-256", "kid": "2025-06", "x": …, "y": …, "d": …}, …]}`,
 * with the current key first and previous keys after it.
 */
export async function parseSigningKeys(jwksJson: string): Promise<SigningKeysParseResult> {
  const fail = (problem: string): SigningKeysParseResult => ({
    ok: false,
    message: `${JWT_SIGNING_KEYS_SETTING} ${problem}`,
  });

  let parsed: unknown;
  try {
    parsed = JSON.parse(jwksJson);
  } catch {
    return fail('is not valid JSON; expected a JWK set {"keys": [<current key>, <previous keys>…]}');
  }
  if (!isPlainObject(parsed) || !Array.isArray(parsed.keys) || parsed.keys.length === 0) {
    return fail('must be a JWK set {"keys": [<current key>, <previous keys>…]} with at least one key');
  }

  const keys: SigningKey[] = [];
  for (const [index, jwk] of parsed.keys.entries()) {
    const checked = checkPrivateSigningJwk(jwk);
    if (typeof checked === "string") {
      return fail(`key ${index + 1}: ${checked}`);
    }
    if (keys.some((key) => key.kid === checked.kid)) {
      return fail(`has more than one key with kid "${checked.kid}"; each kid must be unique`);
    }

    const key = await importSigningKey(checked);
    if (key === null) {
      return fail(`key "${checked.kid}" is not a valid P-256 key pair; generate a new one`);
    }
    keys.push(key);
  }

  // The loop above ran at least once, because an empty key list was rejected before it.
  return { ok: true, keys: keys as [SigningKey, ...SigningKey[]] };
}

/** Signs an access token with the current (first) key. */
export async function signAccessToken(
  keys: SigningKeys,
  subject: AccessTokenSubject,
  options: SignAccessTokenOptions,
): Promise<string> {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`Access token lifetime must be a positive whole number of seconds, got ${ttlSeconds}`);
  }
  const signingKey = keys[0];
  const issuedAt = Math.floor(options.now.getTime() / 1000);

  return new SignJWT({ sid: subject.sid, role: subject.role })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: signingKey.kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(subject.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .setJti(generateRandomToken(16))
    .sign(signingKey.privateKey);
}

/**
 * Verifies an access token. Every rejection, garbage input included, comes back as a reason.
 * Only an error that jose does not raise as a JOSEError (a bug) is thrown.
 *
 * The algorithm is pinned to ES256, which rejects `none` and HMAC tokens forged with a public
 * key as the secret. The key is chosen only by `kid` among the configured keys. The `jwk`, `jku`,
 * `x5u` and `x5c` headers are never read, because trusting them lets the sender pick the key.
 */
export async function verifyAccessToken(
  keys: SigningKeys,
  token: string,
  options: VerifyAccessTokenOptions,
): Promise<VerifyAccessTokenResult> {
  if (token.length > MAX_ACCESS_TOKEN_LENGTH) {
    return { ok: false, reason: "malformed" };
  }

  const findConfiguredKey = (header: JWSHeaderParameters): CryptoKey => {
    const key = keys.find((candidate) => candidate.kid === header.kid);
    if (key === undefined) {
      throw new errors.JWKSNoMatchingKey();
    }
    return key.publicKey;
  };

  let payload: JWTPayload;
  try {
    const verified = await jwtVerify(token, findConfiguredKey, {
      algorithms: [ACCESS_TOKEN_ALGORITHM],
      typ: ACCESS_TOKEN_TYPE,
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ["exp", "iat", "sub", "sid", "role", "jti"],
      currentDate: options.now,
      clockTolerance: MAX_CLOCK_SKEW_SECONDS,
    });
    payload = verified.payload;
  } catch (error) {
    if (error instanceof errors.JOSEError) {
      return { ok: false, reason: reasonForJoseError(error) };
    }
    throw error;
  }

  const claims = readAccessTokenClaims(payload);
  if (claims === null) {
    return { ok: false, reason: "invalid_claims" };
  }
  return { ok: true, claims };
}

/** Lists the public halves of the configured keys, for `/.well-known/jwks.json`. */
export function publicJwks(keys: SigningKeys): { keys: PublicSigningJwk[] } {
  return { keys: keys.map((key) => ({ ...key.publicJwk })) };
}

/** Generates a P-256 private JWK for local development secrets. */
export async function generateSigningKeyJwk(kid: string): Promise<PrivateSigningJwk> {
  if (!KEY_ID_PATTERN.test(kid)) {
    throw new RangeError(`Key id must be 1 to 64 letters, digits, ".", "_" or "-", got "${kid}"`);
  }

  const pair = (await crypto.subtle.generateKey(P256_ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
  const exported = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  if (exported.x === undefined || exported.y === undefined || exported.d === undefined) {
    throw new Error("Web Crypto exported a P-256 private key without x, y or d");
  }
  return { kty: "EC", crv: "P-256", x: exported.x, y: exported.y, d: exported.d, kid, alg: "ES256", use: "sig" };
}

/** Returns the checked JWK, or a sentence saying what is wrong with it. */
function checkPrivateSigningJwk(jwk: unknown): PrivateSigningJwk | string {
  if (!isPlainObject(jwk)) {
    return "is not a JSON object";
  }
  if (typeof jwk.kid !== "string" || !KEY_ID_PATTERN.test(jwk.kid)) {
    return 'needs a "kid" of 1 to 64 letters, digits, ".", "_" or "-"';
  }
  const kid = jwk.kid;
  if (jwk.kty !== "EC" || jwk.crv !== "P-256") {
    return `key "${kid}" must be an ES256 key ("kty": "EC", "crv": "P-256")`;
  }
  if (jwk.alg !== undefined && jwk.alg !== ACCESS_TOKEN_ALGORITHM) {
    return `key "${kid}" has "alg" other than "ES256"`;
  }
  if (jwk.use !== undefined && jwk.use !== "sig") {
    return `key "${kid}" has "use" other than "sig"`;
  }
  if (typeof jwk.x !== "string" || typeof jwk.y !== "string" || typeof jwk.d !== "string") {
    return `key "${kid}" must be a private key with "x", "y" and "d"`;
  }
  return { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, d: jwk.d, kid, alg: "ES256", use: "sig" };
}

async function importSigningKey(jwk: PrivateSigningJwk): Promise<SigningKey | null> {
  const coordinates = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };

  // importKey rejects coordinates off the curve and a d that does not belong to x and y (checked
  // on workerd and Node 24), so a broken secret fails at startup and not at the first login.
  let privateKey: CryptoKey;
  let publicKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey("jwk", { ...coordinates, d: jwk.d }, P256_ALGORITHM, false, ["sign"]);
    publicKey = await crypto.subtle.importKey("jwk", coordinates, P256_ALGORITHM, true, ["verify"]);
  } catch {
    return null;
  }

  const publicJwk: PublicSigningJwk = { ...coordinates, kid: jwk.kid, alg: jwk.alg, use: jwk.use };
  return { kid: jwk.kid, privateKey, publicKey, publicJwk };
}

function reasonForJoseError(error: InstanceType<typeof errors.JOSEError>): AccessTokenFailureReason {
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "typ") return "wrong_type";
    if (error.reason === "missing") return "missing_claim";
    if (error.claim === "iss") return "wrong_issuer";
    if (error.claim === "aud") return "wrong_audience";
    return "invalid_claims";
  }
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JOSEAlgNotAllowed) return "algorithm_not_allowed";
  if (error instanceof errors.JWKSNoMatchingKey) return "unknown_key";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "invalid_signature";
  return "malformed";
}

function readAccessTokenClaims(payload: JWTPayload): AccessTokenClaims | null {
  const { iss, aud, sub, sid, role, iat, exp, jti } = payload;
  if (
    !isNonEmptyString(iss) ||
    !isUuid(sub) ||
    !isUuid(sid) ||
    !isNonEmptyString(role) ||
    !isNonEmptyString(jti) ||
    typeof iat !== "number" ||
    typeof exp !== "number" ||
    aud === undefined
  ) {
    return null;
  }
  return { iss, aud, sub, sid, role, iat, exp, jti };
}

// The service issues user and session ids as UUIDs; anything else in a validly signed token is
// rejected here rather than reaching a uuid column.
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID_PATTERN.test(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
