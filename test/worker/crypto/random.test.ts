import { afterEach, describe, expect, it, vi } from "vitest";
import { generateNumericCode, generateRandomToken } from "../../../src/crypto/random";

// χ² critical value for 9 degrees of freedom at p = 0.001, so a fair generator fails this test
// about once in a thousand runs.
const CHI_SQUARE_CRITICAL_9_DOF = 27.88;

function decodeBase64url(encoded: string): Uint8Array {
  const base64 = encoded.replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")), (c) => c.charCodeAt(0));
}

describe("generateRandomToken", () => {
  it("encodes 32 bytes by default", () => {
    const token = generateRandomToken();

    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeBase64url(token).length).toBe(32);
  });

  it("encodes the requested byte count", () => {
    const token = generateRandomToken(16);

    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(decodeBase64url(token).length).toBe(16);
  });

  it("rejects tokens under 128 bits", () => {
    expect(() => generateRandomToken(15)).toThrow(RangeError);
    expect(() => generateRandomToken(0)).toThrow(RangeError);
    expect(() => generateRandomToken(16.5)).toThrow(RangeError);
  });

  it("never repeats a token", () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => generateRandomToken()));
    expect(tokens.size).toBe(1000);
  });
});

describe("generateNumericCode", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("makes 1,000 six-digit codes", () => {
    const codes = Array.from({ length: 1000 }, () => generateNumericCode());

    for (const code of codes) {
      expect(code).toMatch(/^[0-9]{6}$/);
    }
    expect(codes.some((code) => code.startsWith("0"))).toBe(true);
  });

  it("spreads digits uniformly by χ²", () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 1000; i++) {
      for (const digit of generateNumericCode()) {
        counts[Number(digit)] = (counts[Number(digit)] as number) + 1;
      }
    }

    const expected = 6000 / 10;
    const chiSquare = counts.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
    expect(chiSquare).toBeLessThan(CHI_SQUARE_CRITICAL_9_DOF);
  });

  it("skips bytes that would bias digits", () => {
    // Bytes 250–255 come first. With `byte % 10` and no rejection they would give "012345".
    vi.spyOn(crypto, "getRandomValues").mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      const bytes = array as unknown as Uint8Array;
      bytes.set([250, 251, 252, 253, 254, 255, 7, 18, 29, 30, 41, 52].slice(0, bytes.length));
      return array;
    });

    expect(generateNumericCode(6)).toBe("789012");
  });

  it("draws again when a batch runs short", () => {
    const batches = [
      [255, 255, 255, 255, 3, 255],
      [4, 5, 6, 7, 8, 9],
    ];
    vi.spyOn(crypto, "getRandomValues").mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      (array as unknown as Uint8Array).set(batches.shift() ?? []);
      return array;
    });

    expect(generateNumericCode(3)).toBe("345");
  });

  it("makes codes of other lengths", () => {
    expect(generateNumericCode(8)).toMatch(/^[0-9]{8}$/);
    expect(generateNumericCode(1)).toMatch(/^[0-9]$/);
  });

  it("rejects a non-positive length", () => {
    expect(() => generateNumericCode(0)).toThrow(RangeError);
    expect(() => generateNumericCode(-6)).toThrow(RangeError);
    expect(() => generateNumericCode(2.5)).toThrow(RangeError);
  });
});
