import { describe, expect, it } from "vitest";
import { parseMobileNumber } from "../../../src/lib/phone";

describe("parseMobileNumber", () => {
  it.each([
    ["+919876543210", "IN", "+919876543210"],
    ["+91 98765 43210", "IN", "+919876543210"],
    ["98765 43210", "IN", "+919876543210"],
    ["09876543210", "IN", "+919876543210"],
    ["+447911123456", "IN", "+447911123456"],
    ["07911 123456", "GB", "+447911123456"],
    ["+1 201 555 0123", "IN", "+12015550123"],
    ["+61 412 345 678", "IN", "+61412345678"],
  ])("normalises %s read in %s", (input, region, expected) => {
    expect(parseMobileNumber(input, region)).toEqual({ ok: true, e164: expected });
  });

  it.each([
    ["+912223456789", "an Indian fixed line"],
    ["022 2345 6789", "a national fixed line"],
    ["+442079460000", "a London fixed line"],
    ["1800123456", "an Indian toll-free number"],
  ])("rejects %s, %s", (input) => {
    const result = parseMobileNumber(input, "IN");
    expect(result.ok).toBe(false);
  });

  it.each(["", "   ", "12345", "abc", "+91 98765 43210 ext 5", "call +919876543210", "+".padEnd(40, "9")])(
    "rejects %j",
    (input) => {
      expect(parseMobileNumber(input, "IN").ok).toBe(false);
    },
  );

  it("reads national numbers in the given region", () => {
    expect(parseMobileNumber("7911 123456", "GB")).toEqual({ ok: true, e164: "+447911123456" });
    expect(parseMobileNumber("7911 123456", "IN").ok).toBe(false);
  });
});
