import { describe, expect, it } from "vitest";
import {
  decryptSecret,
  encryptSecret,
  generateEncryptionKeyringJson,
  parseEncryptionKeyring,
  type EncryptionKeyring,
} from "../../../src/crypto/encryption";

const USER_ID = "5b0f4c1e-2f6e-4c1a-9d0e-0f1c2b3a4d5e";
const OTHER_USER_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

function randomKeyBase64(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

function parseKeyring(json: string): EncryptionKeyring {
  const parsed = parseEncryptionKeyring(json);
  if (!parsed.ok) {
    throw new Error(parsed.message);
  }
  return parsed.keyring;
}

function keyringJson(current: string, keys: Record<string, string>): string {
  return JSON.stringify({ current, keys });
}

/** Replaces one base64url character of a ciphertext part with a different one. */
function alterPart(ciphertext: string, partIndex: number): string {
  const parts = ciphertext.split(".");
  const part = parts[partIndex] as string;
  const middle = Math.floor(part.length / 2);
  const replacement = part[middle] === "A" ? "B" : "A";
  parts[partIndex] = part.slice(0, middle) + replacement + part.slice(middle + 1);
  return parts.join(".");
}

describe("encryptSecret", () => {
  it("round-trips a secret", async () => {
    const keyring = parseKeyring(generateEncryptionKeyringJson("k1"));
    const ciphertext = await encryptSecret("ya29.provider-access-token", keyring, USER_ID);

    expect(await decryptSecret(ciphertext, keyring, USER_ID)).toEqual({
      ok: true,
      plaintext: "ya29.provider-access-token",
      needsReencryption: false,
    });
  });

  it("round-trips without associated data", async () => {
    const keyring = parseKeyring(generateEncryptionKeyringJson("k1"));
    const ciphertext = await encryptSecret("123456789012", keyring);

    expect(await decryptSecret(ciphertext, keyring)).toMatchObject({ ok: true, plaintext: "123456789012" });
  });

  it("round-trips Unicode, empty and BOM-led text", async () => {
    const keyring = parseKeyring(generateEncryptionKeyringJson("k1"));

    for (const plaintext of ["", "\uFEFFstarts with a byte order mark", "पासपोर्ट 🛂 номер"]) {
      const ciphertext = await encryptSecret(plaintext, keyring, USER_ID);
      expect(await decryptSecret(ciphertext, keyring, USER_ID)).toMatchObject({ ok: true, plaintext });
    }
  });

  it("writes version, key id, IV and ciphertext", async () => {
    const keyring = parseKeyring(generateEncryptionKeyringJson("k7"));
    const ciphertext = await encryptSecret("secret", keyring);

    // 12-byte IV → 16 characters; 6 bytes of text plus the 16-byte tag → 30 characters.
    expect(ciphertext).toMatch(/^v1\.k7\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{30}$/);
  });

  it("uses a fresh IV every time", async () => {
    const keyring = parseKeyring(generateEncryptionKeyringJson("k1"));
    const first = await encryptSecret("same secret", keyring, USER_ID);
    const second = await encryptSecret("same secret", keyring, USER_ID);

    expect(first).not.toBe(second);
    expect(first.split(".")[2]).not.toBe(second.split(".")[2]);
  });
});

describe("decryptSecret", () => {
  it("decrypts with a retired key", async () => {
    const oldKey = randomKeyBase64();
    const before = parseKeyring(keyringJson("k1", { k1: oldKey }));
    const after = parseKeyring(keyringJson("k2", { k1: oldKey, k2: randomKeyBase64() }));
    const ciphertext = await encryptSecret("rotated secret", before, USER_ID);

    expect(await decryptSecret(ciphertext, after, USER_ID)).toEqual({
      ok: true,
      plaintext: "rotated secret",
      needsReencryption: true,
    });
    expect((await encryptSecret("new secret", after, USER_ID)).startsWith("v1.k2.")).toBe(true);
  });

  it("rejects an unknown key id", async () => {
    const ciphertext = await encryptSecret("secret", parseKeyring(keyringJson("k1", { k1: randomKeyBase64() })));
    const otherKeyring = parseKeyring(keyringJson("k2", { k2: randomKeyBase64() }));

    expect(await decryptSecret(ciphertext, otherKeyring)).toEqual({ ok: false, reason: "unknown_key_id" });
  });

  it("rejects inherited property names as key ids", async () => {
    const keyring = parseKeyring(generateEncryptionKeyringJson("k1"));
    const ciphertext = await encryptSecret("secret", keyring);

    for (const keyId of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      const forged = ciphertext.replace("v1.k1.", `v1.${keyId}.`);
      expect(await decryptSecret(forged, keyring)).toEqual({ ok: false, reason: "unknown_key_id" });
    }
  });

  it("rejects a different key under one id", async () => {
    const ciphertext = await encryptSecret("secret", parseKeyring(keyringJson("k1", { k1: randomKeyBase64() })));
    const impostor = parseKeyring(keyringJson("k1", { k1: randomKeyBase64() }));

    expect(await decryptSecret(ciphertext, impostor)).toEqual({ ok: false, reason: "decryption_failed" });
  });

  it("rejects tampered ciphertext", async () => {
    const keyring = parseKeyring(generateEncryptionKeyringJson("k1"));
    const ciphertext = await encryptSecret("a government id number", keyring, USER_ID);

    expect(await decryptSecret(alterPart(ciphertext, 3), keyring, USER_ID)).toEqual({
      ok: false,
      reason: "decryption_failed",
    });
    expect(await decryptSecret(alterPart(ciphertext, 2), keyring, USER_ID)).toEqual({
      ok: false,
      reason: "decryption_failed",
    });
  });

  it("rejects a truncated authentication tag", async () => {
    const keyring = parseKeyring(generateEncryptionKeyringJson("k1"));
    const ciphertext = await encryptSecret("secret", keyring);

    expect((await decryptSecret(ciphertext.slice(0, -4), keyring)).ok).toBe(false);
  });

  it("rejects wrong associated data", async () => {
    const keyring = parseKeyring(generateEncryptionKeyringJson("k1"));
    const ciphertext = await encryptSecret("a provider refresh token", keyring, USER_ID);

    expect(await decryptSecret(ciphertext, keyring, OTHER_USER_ID)).toEqual({ ok: false, reason: "decryption_failed" });
    expect(await decryptSecret(ciphertext, keyring)).toEqual({ ok: false, reason: "decryption_failed" });
  });

  it("rejects associated data never bound", async () => {
    const keyring = parseKeyring(generateEncryptionKeyringJson("k1"));
    const ciphertext = await encryptSecret("secret", keyring);

    expect(await decryptSecret(ciphertext, keyring, USER_ID)).toEqual({ ok: false, reason: "decryption_failed" });
  });

  it("reports malformed input without throwing", async () => {
    const keyring = parseKeyring(generateEncryptionKeyringJson("k1"));
    const valid = await encryptSecret("secret", keyring);
    const [, , iv, sealed] = valid.split(".");

    const cases: Array<[string, string]> = [
      ["", "malformed"],
      ["plain text", "malformed"],
      ["v1.k1", "malformed"],
      [`${valid}.extra`, "malformed"],
      [`v2.k1.${iv}.${sealed}`, "unsupported_version"],
      [`v1.k1.${iv}!.${sealed}`, "malformed"],
      [`v1.k1.${iv}.${sealed}=`, "malformed"],
      [`v1.k1.${iv?.slice(0, 8)}.${sealed}`, "malformed"],
      [`v1.k1.${iv}.AAAA`, "malformed"],
      [`v1.k1..${sealed}`, "malformed"],
      [`v1.k1.${iv}.`, "malformed"],
    ];
    for (const [ciphertext, reason] of cases) {
      expect(await decryptSecret(ciphertext, keyring), ciphertext).toEqual({ ok: false, reason });
    }
  });
});

describe("parseEncryptionKeyring", () => {
  it("parses current and retired keys", () => {
    const parsed = parseEncryptionKeyring(keyringJson("k2", { k1: randomKeyBase64(), k2: randomKeyBase64() }));

    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.keyring.currentKeyId).toBe("k2");
      expect([...parsed.keyring.keys.keys()]).toEqual(["k1", "k2"]);
      expect(parsed.keyring.keys.get("k1")?.length).toBe(32);
    }
  });

  it("names the setting in every error", () => {
    const key = randomKeyBase64();
    const invalid = [
      "not json",
      "[]",
      JSON.stringify({ keys: { k1: key } }),
      JSON.stringify({ current: "k1" }),
      keyringJson("k2", { k1: key }),
      keyringJson("k1", { k1: btoa("sixteen byte key") }),
      keyringJson("k1", { k1: `${key.slice(0, -2)}*=` }),
      JSON.stringify({ current: "k1", keys: { k1: 42 } }),
      keyringJson("bad.id", { "bad.id": key }),
    ];

    for (const json of invalid) {
      const parsed = parseEncryptionKeyring(json);
      expect(parsed.ok, json).toBe(false);
      if (!parsed.ok) {
        expect(parsed.message).toMatch(/^ENCRYPTION_KEYS /);
        expect(parsed.message).not.toContain(key);
      }
    }
  });
});
