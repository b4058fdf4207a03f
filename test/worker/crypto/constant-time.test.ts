import { describe, expect, it } from "vitest";
import { constantTimeEqual, constantTimeEqualStrings } from "../../../src/crypto/constant-time";

describe("constantTimeEqual", () => {
  it("accepts identical bytes", () => {
    expect(constantTimeEqual(new Uint8Array([1, 2, 3, 255]), new Uint8Array([1, 2, 3, 255]))).toBe(true);
  });

  it("accepts two empty arrays", () => {
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it("rejects a difference in the first byte", () => {
    expect(constantTimeEqual(new Uint8Array([0, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(false);
  });

  it("rejects a difference in the last byte", () => {
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
  });

  it("rejects a single flipped bit", () => {
    const a = crypto.getRandomValues(new Uint8Array(32));
    const b = a.slice();
    b[17] = (b[17] as number) ^ 0x01;

    expect(constantTimeEqual(a, b)).toBe(false);
  });

  it("rejects a prefix of the other", () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
  });

  it("rejects empty against non-empty", () => {
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array([0]))).toBe(false);
  });
});

describe("constantTimeEqualStrings", () => {
  it("accepts equal hex digests", () => {
    const digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    expect(constantTimeEqualStrings(digest, digest.slice())).toBe(true);
  });

  it("rejects digests differing in one character", () => {
    const digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    expect(constantTimeEqualStrings(digest, `${digest.slice(0, -1)}e`)).toBe(false);
  });

  it("rejects strings of different lengths", () => {
    expect(constantTimeEqualStrings("123456", "1234567")).toBe(false);
    expect(constantTimeEqualStrings("", "0")).toBe(false);
  });

  it("compares non-ASCII text by its UTF-8 bytes", () => {
    expect(constantTimeEqualStrings("pässwörd", "pässwörd")).toBe(true);
    expect(constantTimeEqualStrings("pässwörd", "passwörd")).toBe(false);
  });
});
