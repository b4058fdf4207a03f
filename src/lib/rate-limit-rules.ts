/** At most `limit` events in any window of `windowSeconds`. */
export interface RateLimitRule {
  limit: number;
  windowSeconds: number;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 60 * 60, d: 24 * 60 * 60 };
const RULE_PATTERN = /^(\d+)\s*\/\s*(\d+)\s*([smhd])$/;

// The KV limiter reads a counter's newest events with one list call, which returns at most 1,000 keys.
export const MAX_RATE_LIMIT = 1000;
const MAX_WINDOW_SECONDS = 7 * 24 * 60 * 60;

export type ParsedRateLimitSetting = { ok: true; rules: RateLimitRule[] } | { ok: false; message: string };

/**
 * Parse a rate-limit setting: comma-separated `COUNT/WINDOW` rules, where WINDOW is a number with
 * the unit s, m, h or d (`1/60s, 5/1h, 10/1d`), or `off` to switch the limit off.
 */
export function parseRateLimitSetting(name: string, value: string): ParsedRateLimitSetting {
  const text = value.trim().toLowerCase();
  if (text === "off") return { ok: true, rules: [] };

  const rules: RateLimitRule[] = [];
  for (const entry of text.split(",")) {
    const match = RULE_PATTERN.exec(entry.trim());
    if (match === null) {
      return {
        ok: false,
        message: `${name} must be "off" or rules such as "5/1h, 10/1d" (count/window with unit s, m, h or d), got "${value}"`,
      };
    }
    const limit = Number(match[1]);
    const windowSeconds = Number(match[2]) * (UNIT_SECONDS[match[3] as string] as number);
    if (limit < 1 || limit > MAX_RATE_LIMIT) {
      return { ok: false, message: `${name} counts must be from 1 to ${MAX_RATE_LIMIT}, got "${value}"` };
    }
    if (windowSeconds < 1 || windowSeconds > MAX_WINDOW_SECONDS) {
      return { ok: false, message: `${name} windows must be from 1 second to 7 days, got "${value}"` };
    }
    rules.push({ limit, windowSeconds });
  }
  return { ok: true, rules };
}

/** The limits of the API contract, each configurable by the setting named beside it. */
export interface RateLimitSettings {
  /** RATE_LIMIT_CODE_SENDS_PER_DESTINATION: codes (email or SMS, any purpose) sent to one address or number. */
  codeSendsPerDestination: RateLimitRule[];
  /** RATE_LIMIT_CODE_SENDS_PER_CLIENT: codes sent on behalf of one client IP (IPv6: one /64). */
  codeSendsPerClient: RateLimitRule[];
  /** RATE_LIMIT_CODE_CHECKS_PER_CLIENT: codes checked for one client IP. */
  codeChecksPerClient: RateLimitRule[];
  /** RATE_LIMIT_SIGNUPS_PER_CLIENT: sign-ups from one client IP. */
  signUpsPerClient: RateLimitRule[];
  /** RATE_LIMIT_FORGOT_PASSWORD_PER_EMAIL: password-reset requests for one email address. */
  forgotPasswordPerEmail: RateLimitRule[];
  /** RATE_LIMIT_AUTH_REQUESTS_PER_CLIENT: requests to /v1/auth/* from one client IP. */
  authRequestsPerClient: RateLimitRule[];
}

export type RateLimitSettingBindings = {
  RATE_LIMIT_CODE_SENDS_PER_DESTINATION?: string;
  RATE_LIMIT_CODE_SENDS_PER_CLIENT?: string;
  RATE_LIMIT_CODE_CHECKS_PER_CLIENT?: string;
  RATE_LIMIT_SIGNUPS_PER_CLIENT?: string;
  RATE_LIMIT_FORGOT_PASSWORD_PER_EMAIL?: string;
  RATE_LIMIT_AUTH_REQUESTS_PER_CLIENT?: string;
};

const DEFAULT_RATE_LIMITS: Record<keyof RateLimitSettingBindings, string> = {
  RATE_LIMIT_CODE_SENDS_PER_DESTINATION: "1/60s, 5/1h, 10/1d",
  RATE_LIMIT_CODE_SENDS_PER_CLIENT: "20/1h",
  RATE_LIMIT_CODE_CHECKS_PER_CLIENT: "60/1h",
  RATE_LIMIT_SIGNUPS_PER_CLIENT: "20/1h",
  RATE_LIMIT_FORGOT_PASSWORD_PER_EMAIL: "3/1h",
  RATE_LIMIT_AUTH_REQUESTS_PER_CLIENT: "300/1h",
};

/** Parse every rate-limit setting, using the contract's default for each one that is unset. */
export function parseRateLimitSettings(bindings: RateLimitSettingBindings, problems: string[]): RateLimitSettings {
  const read = (name: keyof RateLimitSettingBindings): RateLimitRule[] => {
    const value = bindings[name]?.trim() || DEFAULT_RATE_LIMITS[name];
    const parsed = parseRateLimitSetting(name, value);
    if (parsed.ok) return parsed.rules;
    problems.push(parsed.message);
    return [];
  };
  return {
    codeSendsPerDestination: read("RATE_LIMIT_CODE_SENDS_PER_DESTINATION"),
    codeSendsPerClient: read("RATE_LIMIT_CODE_SENDS_PER_CLIENT"),
    codeChecksPerClient: read("RATE_LIMIT_CODE_CHECKS_PER_CLIENT"),
    signUpsPerClient: read("RATE_LIMIT_SIGNUPS_PER_CLIENT"),
    forgotPasswordPerEmail: read("RATE_LIMIT_FORGOT_PASSWORD_PER_EMAIL"),
    authRequestsPerClient: read("RATE_LIMIT_AUTH_REQUESTS_PER_CLIENT"),
  };
}
