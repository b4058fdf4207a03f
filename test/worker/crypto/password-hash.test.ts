import { describe, expect, it } from "vitest";
import {
  hashPassword,
  MAX_PBKDF2_ITERATIONS_ON_WORKERS,
  PASSWORD_HASH_ALGORITHM,
  PASSWORD_HASH_ITERATIONS,
  verifyPassword,
  verifyPasswordAgainstDummyHash,
} from "../../../src/crypto/password-hash";

const PEPPER = "test pepper, a server secret of at least 32 characters";
const PASSWORD = "correct horse battery staple";
const STORED_FORMAT = /^\$pbkdf2-sha512\$i=([0-9]+)\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{86})$/;

function encodeBase64NoPadding(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

function decodeBase64(encoded: string): Uint8Array {
  return Uint8Array.from(atob(encoded.padEnd(Math.ceil(encoded.length / 4) * 4, "=")), (c) => c.charCodeAt(0));
}

/**
 * Builds a stored hash from the documented recipe with Web Crypto directly, so the tests check
 * the format against an independent implementation and can make hashes with old parameters.
 */
async function buildStoredHash(password: string, pepper: string, iterations: number): Promise<string> {
  const utf8 = new TextEncoder();
  const hmacKey = await crypto.subtle.importKey("raw", utf8.encode(pepper), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const peppered = await crypto.subtle.sign("HMAC", hmacKey, utf8.encode(password.normalize("NFKC")));
  const baseKey = await crypto.subtle.importKey("raw", peppered, "PBKDF2", false, ["deriveBits"]);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-512", salt, iterations }, baseKey, 512);

  return `$pbkdf2-sha512$i=${iterations}$${encodeBase64NoPadding(salt)}$${encodeBase64NoPadding(new Uint8Array(hash))}`;
}

describe("hashPassword", () => {
  it("stores the self-describing PBKDF2 format", async () => {
    const { hash, algo } = await hashPassword(PASSWORD, PEPPER);

    expect(algo).toBe("pbkdf2-sha512");
    expect(algo).toBe(PASSWORD_HASH_ALGORITHM);
    const match = STORED_FORMAT.exec(hash);
    expect(match).not.toBeNull();
    expect(match?.[1]).toBe("100000");
    expect(decodeBase64(match?.[2] ?? "").length).toBe(16);
    expect(decodeBase64(match?.[3] ?? "").length).toBe(64);
  });

  it("follows the documented recipe", async () => {
    // A hash made by the recipe with Web Crypto alone verifies, so the format is fully described.
    const independent = await buildStoredHash(PASSWORD, PEPPER, PASSWORD_HASH_ITERATIONS);

    expect(await verifyPassword(PASSWORD, independent, PEPPER)).toEqual({ ok: true, needsRehash: false });
  });

  it("salts one password differently per user", async () => {
    const first = await hashPassword(PASSWORD, PEPPER);
    const second = await hashPassword(PASSWORD, PEPPER);

    expect(first.hash).not.toBe(second.hash);
    expect(first.hash.split("$")[3]).not.toBe(second.hash.split("$")[3]);
  });

  it("stays within the Workers iteration limit", async () => {
    // Local workerd accepts any count, but Workers in production rejects PBKDF2 above 100,000,
    // so raising the constant would break every login only after deployment.
    expect(MAX_PBKDF2_ITERATIONS_ON_WORKERS).toBe(100_000);
    expect(PASSWORD_HASH_ITERATIONS).toBeLessThanOrEqual(MAX_PBKDF2_ITERATIONS_ON_WORKERS);

    const { hash } = await hashPassword(PASSWORD, PEPPER);
    const iterations = Number(STORED_FORMAT.exec(hash)?.[1]);
    expect(iterations).toBeLessThanOrEqual(100_000);
    expect(iterations).toBe(PASSWORD_HASH_ITERATIONS);
  });
});

describe("verifyPassword", () => {
  it("accepts the right password", async () => {
    const { hash } = await hashPassword(PASSWORD, PEPPER);

    expect(await verifyPassword(PASSWORD, hash, PEPPER)).toEqual({ ok: true, needsRehash: false });
  });

  it("rejects a wrong password", async () => {
    const { hash } = await hashPassword(PASSWORD, PEPPER);

    expect(await verifyPassword("correct horse battery stapler", hash, PEPPER)).toEqual({
      ok: false,
      needsRehash: false,
    });
    expect((await verifyPassword("", hash, PEPPER)).ok).toBe(false);
  });

  it("rejects the password under another pepper", async () => {
    const { hash } = await hashPassword(PASSWORD, PEPPER);

    expect((await verifyPassword(PASSWORD, hash, `${PEPPER}!`)).ok).toBe(false);
  });

  it("treats NFKC-equivalent passwords alike", async () => {
    // U+FB01 (the "ﬁ" ligature) and fullwidth letters normalise to plain ASCII under NFKC.
    const { hash } = await hashPassword("\uFB01nancial statements 2024", PEPPER);

    expect((await verifyPassword("financial statements 2024", hash, PEPPER)).ok).toBe(true);
    expect((await verifyPassword("\uFF46\uFF49nancial statements 2024", hash, PEPPER)).ok).toBe(true);
    expect((await verifyPassword("fjnancial statements 2024", hash, PEPPER)).ok).toBe(false);
  });

  it("accepts Cyrillic, CJK and emoji passwords", async () => {
    for (const password of ["пароль очень длинный", "長いパスワードです一二三", "🔐🦄🌍 guarded vault 🗝️"]) {
      const { hash } = await hashPassword(password, PEPPER);

      expect((await verifyPassword(password, hash, PEPPER)).ok).toBe(true);
      expect((await verifyPassword(password.slice(0, -1), hash, PEPPER)).ok).toBe(false);
    }
  });

  it("never truncates a long password", async () => {
    // Longer than bcrypt's 72 bytes, SHA-512's 128-byte block and the 128-character policy.
    const password = `${"long passphrase ".repeat(40)}end`;
    const { hash } = await hashPassword(password, PEPPER);

    expect((await verifyPassword(password, hash, PEPPER)).ok).toBe(true);
    expect((await verifyPassword(password.slice(0, -1), hash, PEPPER)).ok).toBe(false);
    expect((await verifyPassword(`${password.slice(0, -1)}D`, hash, PEPPER)).ok).toBe(false);
  });

  it("keeps leading and trailing spaces", async () => {
    const { hash } = await hashPassword(" spaced out passphrase ", PEPPER);

    expect((await verifyPassword(" spaced out passphrase ", hash, PEPPER)).ok).toBe(true);
    expect((await verifyPassword("spaced out passphrase", hash, PEPPER)).ok).toBe(false);
  });

  it("flags a 50,000-iteration hash for rehash", async () => {
    const oldHash = await buildStoredHash(PASSWORD, PEPPER, 50_000);

    expect(await verifyPassword(PASSWORD, oldHash, PEPPER)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword("wrong password here", oldHash, PEPPER)).toEqual({ ok: false, needsRehash: false });
  });

  it("rejects hashes above the Workers limit", async () => {
    const tooMany = await buildStoredHash(PASSWORD, PEPPER, 100_001);

    await expect(verifyPassword(PASSWORD, tooMany, PEPPER)).rejects.toThrow(/100001 PBKDF2 iterations/);
  });

  it("throws on a malformed stored hash", async () => {
    const { hash } = await hashPassword(PASSWORD, PEPPER);
    const malformed = [
      "",
      "plaintext password",
      hash.replace("$pbkdf2-sha512$", "$pbkdf2-sha256$"),
      hash.replace("i=100000", "i=0100000"),
      hash.replace("i=100000", "i=abc"),
      hash.replace("i=100000", "rounds=100000"),
      `${hash}$extra`,
      hash.replace(/\$[^$]+$/, "$not*base64"),
      hash.replace(/\$[^$]+$/, "$"),
    ];

    for (const storedHash of malformed) {
      await expect(verifyPassword(PASSWORD, storedHash, PEPPER)).rejects.toThrow(/not in the \$pbkdf2-sha512\$/);
    }
  });
});

describe("verifyPasswordAgainstDummyHash", () => {
  it("always fails", async () => {
    expect(await verifyPasswordAgainstDummyHash(PASSWORD, PEPPER)).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPasswordAgainstDummyHash("", PEPPER)).toEqual({ ok: false, needsRehash: false });
  });

  it("takes as long as a real check", async () => {
    // Interleaved samples, so load from other test files slows both paths alike.
    const { hash } = await hashPassword(PASSWORD, PEPPER);
    const realMilliseconds: number[] = [];
    const dummyMilliseconds: number[] = [];
    for (let i = 0; i < 9; i++) {
      let start = performance.now();
      await verifyPassword("a wrong guess at the password", hash, PEPPER);
      realMilliseconds.push(performance.now() - start);

      start = performance.now();
      await verifyPasswordAgainstDummyHash("a wrong guess at the password", PEPPER);
      dummyMilliseconds.push(performance.now() - start);
    }

    const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] as number;
    const ratio = median(dummyMilliseconds) / median(realMilliseconds);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});
