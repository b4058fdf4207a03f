import { describe, expect, it } from "vitest";
import { findRepeatedMemberName, findTextWithNul } from "../../../src/lib/json-body-checks";

describe("findRepeatedMemberName", () => {
  it.each([
    ['{"a": 1, "a": 2}', "a"],
    ['{"a": 1, "b": {"c": 1, "c": 2}}', "c"],
    ['[{"a": 1}, {"b": [1, {"d": 1, "d": 1}]}]', "d"],
    ['{"email": "x", "\\u0065mail": "y"}', "email"],
    ['{"a\\"b": 1, "a\\u0022b": 2}', 'a"b'],
    ['{"": 1, "": 2}', ""],
  ])("finds the repeated name in %s", (text, name) => {
    expect(findRepeatedMemberName(text)).toBe(name);
  });

  it.each([
    '{"a": 1, "b": 2}',
    '{"a": {"a": {"a": 1}}}',
    '[{"a": 1}, {"a": 2}]',
    '{"a": "a", "b": "a", "c": ["a", "a"]}',
    '{"a": "\\\\", "b": "{\\"a\\": 1}", "c": 1}',
    '{"list": [1, 2], "next": {"list": 3}}',
    '"a"',
    "[]",
    "{}",
    "42",
  ])("accepts %s", (text) => {
    expect(findRepeatedMemberName(text)).toBeNull();
  });

  it("agrees with JSON.parse on which names are the same", () => {
    const text = '{"caf\\u00e9": 1, "café": 2}';
    expect(Object.keys(JSON.parse(text))).toHaveLength(1);
    expect(findRepeatedMemberName(text)).toBe("café");
  });
});

describe("findTextWithNul", () => {
  it.each([
    [{ identifier: "a\u0000@example.com" }, "identifier"],
    [{ profile: { names: ["ok", "b\u0000"] } }, "profile.names.1"],
    [{ "na\u0000me": "value" }, "na\u0000me"],
    ["\u0000", ""],
  ])("finds the text with U+0000 in %j", (value, path) => {
    expect(findTextWithNul(value)).toBe(path);
  });

  it.each([[{ a: "b", c: [1, true, null, { d: "\\u0000 as six characters" }] }], ["text"], [42], [null]])(
    "accepts %j",
    (value) => {
      expect(findTextWithNul(value)).toBeNull();
    },
  );
});
