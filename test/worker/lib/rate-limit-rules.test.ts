import { describe, expect, it } from "vitest";
import { parseRateLimitSetting, parseRateLimitSettings } from "../../../src/lib/rate-limit-rules";

describe("parseRateLimitSetting", () => {
  it("reads rules with units", () => {
    expect(parseRateLimitSetting("X", "1/60s, 5/1h,10/1d")).toEqual({
      ok: true,
      rules: [
        { limit: 1, windowSeconds: 60 },
        { limit: 5, windowSeconds: 3600 },
        { limit: 10, windowSeconds: 86400 },
      ],
    });
    expect(parseRateLimitSetting("X", "20/15M")).toEqual({ ok: true, rules: [{ limit: 20, windowSeconds: 900 }] });
  });

  it("switches a limit off", () => {
    expect(parseRateLimitSetting("X", " off ")).toEqual({ ok: true, rules: [] });
  });

  it.each(["", "5", "5/h", "5/1w", "0/1h", "5/0s", "5/8d", "1001/1h", "-1/1h", "1/60s;5/1h"])(
    "rejects %j with the setting's name",
    (value) => {
      const parsed = parseRateLimitSetting("RATE_LIMIT_X", value);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toContain("RATE_LIMIT_X");
    },
  );
});

describe("parseRateLimitSettings", () => {
  it("defaults to the contract's limits", () => {
    const problems: string[] = [];
    const settings = parseRateLimitSettings({}, problems);

    expect(problems).toEqual([]);
    expect(settings).toEqual({
      codeSendsPerDestination: [
        { limit: 1, windowSeconds: 60 },
        { limit: 5, windowSeconds: 3600 },
        { limit: 10, windowSeconds: 86400 },
      ],
      codeSendsPerClient: [{ limit: 20, windowSeconds: 3600 }],
      codeChecksPerClient: [{ limit: 60, windowSeconds: 3600 }],
      signUpsPerClient: [{ limit: 20, windowSeconds: 3600 }],
      forgotPasswordPerEmail: [{ limit: 3, windowSeconds: 3600 }],
      authRequestsPerClient: [{ limit: 300, windowSeconds: 3600 }],
    });
  });

  it("collects a problem per invalid setting", () => {
    const problems: string[] = [];
    parseRateLimitSettings({ RATE_LIMIT_SIGNUPS_PER_CLIENT: "many", RATE_LIMIT_CODE_SENDS_PER_CLIENT: "2" }, problems);

    expect(problems).toHaveLength(2);
  });
});
