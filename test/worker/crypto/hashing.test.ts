import { describe, expect, it } from "vitest";
import { hmacSha256, hmacSha256Hex, sha256Hex } from "../../../src/crypto/hashing";

describe("sha256Hex", () => {
  it("matches the FIPS 180-2 vector", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("hashes the UTF-8 bytes of text", async () => {
    // SHA-256 of the two UTF-8 bytes c3 a9.
    expect(await sha256Hex("é")).toBe("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c");
  });
});

describe("hmacSha256Hex", () => {
  it("matches the RFC 4231 vector", async () => {
    // RFC 4231 test case 2.
    expect(await hmacSha256Hex("Jefe", "what do ya want for nothing?")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  it("treats a string key as UTF-8 bytes", async () => {
    const keyBytes = new TextEncoder().encode("Jefe");
    expect(await hmacSha256Hex(keyBytes, "what do ya want for nothing?")).toBe(
      await hmacSha256Hex("Jefe", "what do ya want for nothing?"),
    );
  });

  it("differs under another key", async () => {
    expect(await hmacSha256Hex("key one", "123456")).not.toBe(await hmacSha256Hex("key two", "123456"));
  });

  it("differs from the plain digest", async () => {
    expect(await hmacSha256Hex("server secret", "123456")).not.toBe(await sha256Hex("123456"));
  });
});

describe("hmacSha256", () => {
  it("returns the 32 raw MAC bytes", async () => {
    const mac = await hmacSha256("Jefe", "what do ya want for nothing?");

    expect(mac).toBeInstanceOf(Uint8Array);
    expect(mac.length).toBe(32);
    expect(mac[0]).toBe(0x5b);
  });
});
