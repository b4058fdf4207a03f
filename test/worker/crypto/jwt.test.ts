import { beforeAll, describe, expect, it } from "vitest";
import {
  generateSigningKeyJwk,
  parseSigningKeys,
  publicJwks,
  signAccessToken,
  verifyAccessToken,
  type PrivateSigningJwk,
  type SigningKeys,
} from "../../../src/crypto/jwt";

const ISSUER = "https://id.example.test";
const AUDIENCE = "https://api.example.test";
const NOW = new Date("2026-03-01T12:00:00.000Z");
const NOW_SECONDS = NOW.getTime() / 1000;
const SUBJECT = {
  sub: "0b9c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3",
  sid: "7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918",
  role: "user",
};
const SIGN_OPTIONS = { issuer: ISSUER, audience: AUDIENCE, now: NOW };
const VERIFY_OPTIONS = { issuer: ISSUER, audience: AUDIENCE, now: NOW };
const P256 = { name: "ECDSA", namedCurve: "P-256" };
const ES256 = { name: "ECDSA", hash: "SHA-256" };
const utf8 = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function encodeJson(value: unknown): string {
  return base64url(utf8.encode(JSON.stringify(value)));
}

function decodeJson(part: string): Record<string, unknown> {
  const base64 = part.replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "="));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
}

function secondsAfter(date: Date, seconds: number): Date {
  return new Date(date.getTime() + seconds * 1000);
}

function validClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    ...SUBJECT,
    iat: NOW_SECONDS,
    exp: NOW_SECONDS + 900,
    jti: "test-token-id",
    ...overrides,
  };
}

/** Signs arbitrary header and claims with ES256, the way a forger holding a private key would. */
async function signCompactEs256(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  privateKey: CryptoKey,
): Promise<string> {
  const signingInput = `${encodeJson(header)}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign(ES256, privateKey, utf8.encode(signingInput));
  return `${signingInput}.${base64url(new Uint8Array(signature))}`;
}

async function signCompactHs256(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  secret: Uint8Array,
): Promise<string> {
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signingInput = `${encodeJson(header)}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign("HMAC", key, utf8.encode(signingInput));
  return `${signingInput}.${base64url(new Uint8Array(signature))}`;
}

async function importPrivateKey(jwk: PrivateSigningJwk): Promise<CryptoKey> {
  return crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d }, P256, false, [
    "sign",
  ]);
}

async function parseKeys(...jwks: PrivateSigningJwk[]): Promise<SigningKeys> {
  const parsed = await parseSigningKeys(JSON.stringify({ keys: jwks }));
  if (!parsed.ok) {
    throw new Error(parsed.message);
  }
  return parsed.keys;
}

let currentJwk: PrivateSigningJwk;
let previousJwk: PrivateSigningJwk;
let keys: SigningKeys;

beforeAll(async () => {
  currentJwk = await generateSigningKeyJwk("2026-03");
  previousJwk = await generateSigningKeyJwk("2025-12");
  keys = await parseKeys(currentJwk, previousJwk);
});

describe("signAccessToken", () => {
  it("writes the access token header", async () => {
    const token = await signAccessToken(keys, SUBJECT, SIGN_OPTIONS);

    expect(decodeJson(token.split(".")[0] as string)).toEqual({ alg: "ES256", kid: "2026-03", typ: "at+jwt" });
  });

  it("writes every required claim", async () => {
    const token = await signAccessToken(keys, SUBJECT, SIGN_OPTIONS);
    const claims = decodeJson(token.split(".")[1] as string);

    expect(claims).toMatchObject({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: SUBJECT.sub,
      sid: SUBJECT.sid,
      role: "user",
      iat: NOW_SECONDS,
      exp: NOW_SECONDS + 900,
    });
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Object.keys(claims).sort()).toEqual(["aud", "exp", "iat", "iss", "jti", "role", "sid", "sub"]);
  });

  it("honours a custom lifetime", async () => {
    const token = await signAccessToken(keys, SUBJECT, { ...SIGN_OPTIONS, ttlSeconds: 60 });

    expect(decodeJson(token.split(".")[1] as string).exp).toBe(NOW_SECONDS + 60);
  });

  it("gives each token its own jti", async () => {
    const first = await signAccessToken(keys, SUBJECT, SIGN_OPTIONS);
    const second = await signAccessToken(keys, SUBJECT, SIGN_OPTIONS);

    expect(decodeJson(first.split(".")[1] as string).jti).not.toBe(decodeJson(second.split(".")[1] as string).jti);
  });

  it("rejects a non-positive lifetime", async () => {
    await expect(signAccessToken(keys, SUBJECT, { ...SIGN_OPTIONS, ttlSeconds: 0 })).rejects.toThrow(RangeError);
    await expect(signAccessToken(keys, SUBJECT, { ...SIGN_OPTIONS, ttlSeconds: 1.5 })).rejects.toThrow(RangeError);
  });
});

describe("verifyAccessToken", () => {
  it("accepts its own token", async () => {
    const token = await signAccessToken(keys, SUBJECT, SIGN_OPTIONS);
    const result = await verifyAccessToken(keys, token, VERIFY_OPTIONS);

    expect(result).toEqual({
      ok: true,
      claims: expect.objectContaining({
        ...SUBJECT,
        iss: ISSUER,
        aud: AUDIENCE,
        iat: NOW_SECONDS,
        exp: NOW_SECONDS + 900,
      }),
    });
  });

  it("rejects alg none in any case", async () => {
    for (const alg of ["none", "NONE", "nOnE", "None"]) {
      const header = encodeJson({ alg, typ: "at+jwt", kid: "2026-03" });
      const unsigned = `${header}.${encodeJson(validClaims())}.`;

      expect(await verifyAccessToken(keys, unsigned, VERIFY_OPTIONS), alg).toEqual({
        ok: false,
        reason: "algorithm_not_allowed",
      });
    }
  });

  it("rejects HS256 keyed with the public key", async () => {
    // The classic algorithm confusion: the forger uses public key material as an HMAC secret and
    // hopes the verifier feeds the same bytes to HMAC.
    const publicJwk = publicJwks(keys).keys[0];
    const spki = (await crypto.subtle.exportKey("spki", keys[0].publicKey)) as ArrayBuffer;
    const raw = (await crypto.subtle.exportKey("raw", keys[0].publicKey)) as ArrayBuffer;
    const secrets = [utf8.encode(JSON.stringify(publicJwk)), new Uint8Array(spki), new Uint8Array(raw)];

    for (const secret of secrets) {
      const forged = await signCompactHs256({ alg: "HS256", typ: "at+jwt", kid: "2026-03" }, validClaims(), secret);
      expect(await verifyAccessToken(keys, forged, VERIFY_OPTIONS)).toEqual({
        ok: false,
        reason: "algorithm_not_allowed",
      });
    }
  });

  it("ignores an embedded attacker jwk", async () => {
    const attacker = await generateSigningKeyJwk("attacker");
    const attackerKey = await importPrivateKey(attacker);
    const { d: _attackerSecret, ...attackerPublicJwk } = attacker;

    const withConfiguredKid = await signCompactEs256(
      { alg: "ES256", typ: "at+jwt", kid: "2026-03", jwk: attackerPublicJwk },
      validClaims(),
      attackerKey,
    );
    const withAttackerKid = await signCompactEs256(
      { alg: "ES256", typ: "at+jwt", kid: "attacker", jwk: attackerPublicJwk },
      validClaims(),
      attackerKey,
    );
    const withoutKid = await signCompactEs256(
      { alg: "ES256", typ: "at+jwt", jwk: attackerPublicJwk },
      validClaims(),
      attackerKey,
    );

    expect(await verifyAccessToken(keys, withConfiguredKid, VERIFY_OPTIONS)).toEqual({
      ok: false,
      reason: "invalid_signature",
    });
    expect(await verifyAccessToken(keys, withAttackerKid, VERIFY_OPTIONS)).toEqual({
      ok: false,
      reason: "unknown_key",
    });
    expect(await verifyAccessToken(keys, withoutKid, VERIFY_OPTIONS)).toEqual({ ok: false, reason: "unknown_key" });
  });

  it("ignores jku, x5u and x5c headers", async () => {
    const attacker = await generateSigningKeyJwk("attacker");
    const attackerKey = await importPrivateKey(attacker);
    const headers = [
      { jku: "https://attacker.example/jwks.json" },
      { x5u: "https://attacker.example/cert.pem" },
      { x5c: ["MIIBszCCAVmgAwIBAgIUAttackerCertificate"] },
    ];

    for (const extra of headers) {
      const forged = await signCompactEs256(
        { alg: "ES256", typ: "at+jwt", kid: "2026-03", ...extra },
        validClaims(),
        attackerKey,
      );
      expect(await verifyAccessToken(keys, forged, VERIFY_OPTIONS)).toEqual({ ok: false, reason: "invalid_signature" });
    }
  });

  it("rejects an unknown kid", async () => {
    const stranger = await parseKeys(await generateSigningKeyJwk("2024-01"));
    const token = await signAccessToken(stranger, SUBJECT, SIGN_OPTIONS);

    expect(await verifyAccessToken(keys, token, VERIFY_OPTIONS)).toEqual({ ok: false, reason: "unknown_key" });
  });

  it("rejects SQL-shaped kids without throwing", async () => {
    const forgerKey = await importPrivateKey(currentJwk);
    for (const kid of ["' OR 1=1--", "2026-03' --", "__proto__", "constructor", { $ne: null }, ["2026-03"], 7, null]) {
      const token = await signCompactEs256({ alg: "ES256", typ: "at+jwt", kid }, validClaims(), forgerKey);

      expect(await verifyAccessToken(keys, token, VERIFY_OPTIONS), JSON.stringify(kid)).toEqual({
        ok: false,
        reason: "unknown_key",
      });
    }
  });

  it("rejects an expired token", async () => {
    const token = await signAccessToken(keys, SUBJECT, SIGN_OPTIONS);

    expect(await verifyAccessToken(keys, token, { ...VERIFY_OPTIONS, now: secondsAfter(NOW, 3600) })).toEqual({
      ok: false,
      reason: "expired",
    });
  });

  it("tolerates 30 s clock skew", async () => {
    // The token's last valid second is exp − 1. A verifier whose clock runs 30 s ahead reads that
    // second as exp + 29 and must still accept it.
    const token = await signAccessToken(keys, SUBJECT, SIGN_OPTIONS);
    const lastValidSecond = secondsAfter(NOW, 899);

    expect((await verifyAccessToken(keys, token, { ...VERIFY_OPTIONS, now: lastValidSecond })).ok).toBe(true);
    expect(
      (await verifyAccessToken(keys, token, { ...VERIFY_OPTIONS, now: secondsAfter(lastValidSecond, 30) })).ok,
    ).toBe(true);
  });

  it("rejects 31 s clock skew", async () => {
    const token = await signAccessToken(keys, SUBJECT, SIGN_OPTIONS);
    const lastValidSecond = secondsAfter(NOW, 899);

    expect(await verifyAccessToken(keys, token, { ...VERIFY_OPTIONS, now: secondsAfter(lastValidSecond, 31) })).toEqual(
      {
        ok: false,
        reason: "expired",
      },
    );
  });

  it("rejects a wrong issuer", async () => {
    const token = await signAccessToken(keys, SUBJECT, { ...SIGN_OPTIONS, issuer: "https://evil.example" });

    expect(await verifyAccessToken(keys, token, VERIFY_OPTIONS)).toEqual({ ok: false, reason: "wrong_issuer" });
  });

  it("rejects a wrong audience", async () => {
    const token = await signAccessToken(keys, SUBJECT, { ...SIGN_OPTIONS, audience: "https://other-api.example" });

    expect(await verifyAccessToken(keys, token, VERIFY_OPTIONS)).toEqual({ ok: false, reason: "wrong_audience" });
  });

  it("rejects missing required claims", async () => {
    // Signed with the real current key, so only the claim check can reject these.
    const signingKey = await importPrivateKey(currentJwk);
    const header = { alg: "ES256", typ: "at+jwt", kid: "2026-03" };

    for (const claim of ["exp", "iat", "iss", "aud", "sub", "sid", "role", "jti"]) {
      const { [claim]: _omitted, ...claims } = validClaims();
      const token = await signCompactEs256(header, claims, signingKey);

      expect(await verifyAccessToken(keys, token, VERIFY_OPTIONS), claim).toEqual({
        ok: false,
        reason: "missing_claim",
      });
    }
  });

  it("rejects claims of the wrong type", async () => {
    const signingKey = await importPrivateKey(currentJwk);
    const header = { alg: "ES256", typ: "at+jwt", kid: "2026-03" };

    for (const overrides of [{ exp: String(NOW_SECONDS + 900) }, { sub: 42 }, { role: "" }, { sid: null }]) {
      const token = await signCompactEs256(header, validClaims(overrides), signingKey);
      const result = await verifyAccessToken(keys, token, VERIFY_OPTIONS);

      expect(result.ok, JSON.stringify(overrides)).toBe(false);
    }
  });

  it("rejects non-UUID user and session ids", async () => {
    const signingKey = await importPrivateKey(currentJwk);
    const header = { alg: "ES256", typ: "at+jwt", kid: "2026-03" };

    for (const overrides of [{ sid: "not-a-uuid'" }, { sub: "x\u0000" }, { sub: `${SUBJECT.sub} ` }]) {
      const token = await signCompactEs256(header, validClaims(overrides), signingKey);
      const result = await verifyAccessToken(keys, token, VERIFY_OPTIONS);

      expect(result, JSON.stringify(overrides)).toEqual({ ok: false, reason: "invalid_claims" });
    }
  });

  it("rejects another token type", async () => {
    const signingKey = await importPrivateKey(currentJwk);

    for (const typ of ["JWT", "oauth-state+jwt", "at+jwe", undefined]) {
      const token = await signCompactEs256({ alg: "ES256", kid: "2026-03", typ }, validClaims(), signingKey);

      expect(await verifyAccessToken(keys, token, VERIFY_OPTIONS), String(typ)).toEqual({
        ok: false,
        reason: "wrong_type",
      });
    }
  });

  it("accepts the full media type", async () => {
    // RFC 7515 lets typ omit the "application/" prefix, so both spellings name one type.
    const signingKey = await importPrivateKey(currentJwk);
    const token = await signCompactEs256(
      { alg: "ES256", kid: "2026-03", typ: "application/at+jwt" },
      validClaims(),
      signingKey,
    );

    expect((await verifyAccessToken(keys, token, VERIFY_OPTIONS)).ok).toBe(true);
  });

  it("rejects a tampered payload", async () => {
    const token = await signAccessToken(keys, SUBJECT, SIGN_OPTIONS);
    const [header, , signature] = token.split(".");
    const elevated = `${header}.${encodeJson(validClaims({ role: "admin" }))}.${signature}`;

    expect(await verifyAccessToken(keys, elevated, VERIFY_OPTIONS)).toEqual({ ok: false, reason: "invalid_signature" });
  });

  it("rejects garbage without throwing", async () => {
    const header = encodeJson({ alg: "ES256", typ: "at+jwt", kid: "2026-03" });
    const garbage = [
      "",
      ".",
      "..",
      "a.b.c",
      "not a token",
      "eyJ.eyJ.eyJ",
      `${header}..`,
      `${header}.${encodeJson(validClaims())}`,
      `${header}.${encodeJson(validClaims())}.!!!`,
      `${header}.${encodeJson([1, 2, 3])}.AAAA`,
      `${encodeJson([])}.${encodeJson(validClaims())}.AAAA`,
      `${encodeJson("string header")}.${encodeJson(validClaims())}.AAAA`,
      `${encodeJson({ alg: "ES256", kid: "2026-03", typ: "at+jwt", crit: ["exp"] })}.${encodeJson(validClaims())}.AAAA`,
      `${encodeJson({ alg: "ES256", kid: "2026-03", typ: "at+jwt", b64: false, crit: ["b64"] })}.payload.AAAA`,
      `${header}.${encodeJson(validClaims())}.${"A".repeat(9000)}`,
      "\u0000\uFFFF\uD800",
    ];

    for (const token of garbage) {
      const result = await verifyAccessToken(keys, token, VERIFY_OPTIONS);
      expect(result.ok, token.slice(0, 80)).toBe(false);
    }
  });
});

describe("key rotation", () => {
  it("accepts tokens by a listed previous key", async () => {
    const signedBeforeRotation = await signAccessToken(await parseKeys(previousJwk), SUBJECT, SIGN_OPTIONS);

    expect((await verifyAccessToken(keys, signedBeforeRotation, VERIFY_OPTIONS)).ok).toBe(true);
  });

  it("rejects tokens by a removed key", async () => {
    const signedBeforeRotation = await signAccessToken(await parseKeys(previousJwk), SUBJECT, SIGN_OPTIONS);
    const afterRemoval = await parseKeys(currentJwk);

    expect(await verifyAccessToken(afterRemoval, signedBeforeRotation, VERIFY_OPTIONS)).toEqual({
      ok: false,
      reason: "unknown_key",
    });
  });

  it("signs new tokens with the first key", async () => {
    const token = await signAccessToken(keys, SUBJECT, SIGN_OPTIONS);

    expect(decodeJson(token.split(".")[0] as string).kid).toBe("2026-03");
  });
});

describe("publicJwks", () => {
  it("publishes only public members", () => {
    const jwks = publicJwks(keys);

    expect(jwks.keys.map((key) => key.kid)).toEqual(["2026-03", "2025-12"]);
    for (const key of jwks.keys) {
      expect(Object.keys(key).sort()).toEqual(["alg", "crv", "kid", "kty", "use", "x", "y"]);
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(key).not.toHaveProperty("d");
    }
    expect(JSON.stringify(jwks)).not.toContain(currentJwk.d);
    expect(JSON.stringify(jwks)).not.toContain(previousJwk.d);
  });

  it("verifies tokens with the published key", async () => {
    const token = await signAccessToken(keys, SUBJECT, SIGN_OPTIONS);
    const [published] = publicJwks(keys).keys;
    if (published === undefined) {
      throw new Error("publicJwks returned no keys");
    }
    const publicKey = await crypto.subtle.importKey("jwk", { ...published }, P256, false, ["verify"]);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const signatureBytes = Uint8Array.from(
      atob(signature.replaceAll("-", "+").replaceAll("_", "/").padEnd(88, "=")),
      (c) => c.charCodeAt(0),
    );

    expect(await crypto.subtle.verify(ES256, publicKey, signatureBytes, utf8.encode(`${header}.${payload}`))).toBe(
      true,
    );
  });
});

describe("parseSigningKeys", () => {
  async function parseFailure(json: string): Promise<string> {
    const parsed = await parseSigningKeys(json);
    if (parsed.ok) {
      throw new Error(`expected ${json.slice(0, 60)} to be rejected`);
    }
    return parsed.message;
  }

  it("keeps the configured order", async () => {
    expect(keys.map((key) => key.kid)).toEqual(["2026-03", "2025-12"]);
  });

  it("names the setting in every error", async () => {
    const { d: _secret, ...publicOnly } = currentJwk;
    const invalid = [
      "not json",
      "[]",
      JSON.stringify({ keys: [] }),
      JSON.stringify({ keys: [publicOnly] }),
      JSON.stringify({ keys: [{ ...currentJwk, kid: undefined }] }),
      JSON.stringify({ keys: [{ ...currentJwk, kid: "' OR 1=1--" }] }),
      JSON.stringify({ keys: [{ ...currentJwk, crv: "P-384" }] }),
      JSON.stringify({ keys: [{ ...currentJwk, alg: "HS256" }] }),
      JSON.stringify({ keys: [{ ...currentJwk, use: "enc" }] }),
      JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0", kid: "hmac" }] }),
      JSON.stringify({ keys: [currentJwk, { ...previousJwk, kid: currentJwk.kid }] }),
    ];

    for (const json of invalid) {
      const message = await parseFailure(json);
      expect(message, json.slice(0, 80)).toMatch(/^JWT_SIGNING_KEYS /);
      expect(message).not.toContain(currentJwk.d);
    }
  });

  it("rejects a mismatched key pair", async () => {
    const mismatched = { ...currentJwk, d: previousJwk.d };
    const message = await parseFailure(JSON.stringify({ keys: [mismatched] }));

    expect(message).toMatch(/^JWT_SIGNING_KEYS key "2026-03" is not a valid P-256 key pair/);
    expect(message).not.toContain(previousJwk.d);
  });

  it("rejects coordinates off the curve", async () => {
    const message = await parseFailure(JSON.stringify({ keys: [{ ...currentJwk, y: currentJwk.x }] }));

    expect(message).toMatch(/^JWT_SIGNING_KEYS key "2026-03" is not a valid P-256 key pair/);
  });
});

describe("generateSigningKeyJwk", () => {
  it("makes a complete ES256 private JWK", async () => {
    const jwk = await generateSigningKeyJwk("dev-1");

    expect(jwk).toMatchObject({ kty: "EC", crv: "P-256", kid: "dev-1", alg: "ES256", use: "sig" });
    expect(jwk.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(jwk.x).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(jwk.y).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("rejects an unusable kid", async () => {
    await expect(generateSigningKeyJwk("")).rejects.toThrow(RangeError);
    await expect(generateSigningKeyJwk("has space")).rejects.toThrow(RangeError);
  });
});
