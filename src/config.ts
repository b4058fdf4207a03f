import { type EncryptionKeyring, parseEncryptionKeyring } from "./crypto/encryption";
import { parseSigningKeys, type SigningKeys } from "./crypto/jwt";
import { COMMON_PASSWORDS_MIN_LENGTH } from "./data/common-passwords";
import { OAUTH_PROVIDERS } from "./db/schema";
import { parseRateLimitSettings, type RateLimitSettingBindings, type RateLimitSettings } from "./lib/rate-limit-rules";
import { parseSmsSettings, type SmsSettingBindings, type SmsSettings } from "./lib/sms-settings";

export const ENVIRONMENTS = ["development", "test", "preview", "production"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Secrets arrive through `wrangler secret put` or `.dev.vars`, so `wrangler types` cannot see them. */
export interface SecretBindings {
  DATABASE_URL?: string;
  JWT_SIGNING_KEYS?: string;
  PASSWORD_PEPPER?: string;
  CODE_HASH_KEY?: string;
  REFRESH_TOKEN_KEY?: string;
  ENCRYPTION_KEYS?: string;
  RESEND_API_KEY?: string;
  GOOGLE_CLIENT_SECRET?: string;
  GITHUB_CLIENT_SECRET?: string;
  FACEBOOK_CLIENT_SECRET?: string;
}

/** Plain settings from `[vars]` in wrangler.toml or `.dev.vars`; every one is optional here. */
export interface SettingBindings {
  ENVIRONMENT?: string;
  APP_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  NEON_FETCH_ENDPOINT?: string;
  CORS_ORIGINS?: string;
  ALLOWED_REDIRECT_ORIGINS?: string;
  MAIL_FROM?: string;
  MAIL_REPLY_TO?: string;
  PASSWORD_MIN_LENGTH?: string;
  DEFAULT_PHONE_REGION?: string;
  REVOKED_SESSION_RETENTION_DAYS?: string;
  AUDIT_RETENTION_DAYS?: string;
  GOOGLE_CLIENT_ID?: string;
  GITHUB_CLIENT_ID?: string;
  FACEBOOK_CLIENT_ID?: string;
  OAUTH_STORE_PROVIDER_TOKENS?: string;
  BREACHED_PASSWORD_CHECK?: string;
  KYC_RETENTION_DAYS?: string;
}

export type Bindings = Env & SecretBindings & SettingBindings & SmsSettingBindings & RateLimitSettingBindings;

export interface Config {
  environment: Environment;
  isDevelopment: boolean;
  appUrl: string;
  jwt: { issuer: string; audience: string; keys: SigningKeys; accessTokenTtlSeconds: number };
  database: { url: string; fetchEndpoint: string | undefined };
  passwordPepper: string;
  codeHashKey: string;
  refreshTokenKey: string;
  /** AES-256-GCM keys for secrets at rest (government id numbers, provider tokens). */
  encryptionKeys: EncryptionKeyring;
  corsOrigins: string[];
  allowedRedirectOrigins: string[];
  mail: { from: string; replyTo: string | undefined; resendApiKey: string | undefined };
  passwordMinLength: number;
  defaultPhoneRegion: string;
  sms: SmsSettings;
  rateLimits: RateLimitSettings;
  /** Whether new passwords are checked against the Pwned Passwords range API (fails open). */
  breachedPasswordCheck: boolean;
  /** Days KYC details and documents outlive a deleted account; 0 deletes them with it. */
  kycRetentionDays: number;
  /** How long the scheduled cleanup keeps revoked sessions and audit events, in days. */
  retention: { revokedSessionDays: number; auditEventDays: number };
  oauth: OAuthConfig;
}

export type OAuthProviderName = (typeof OAUTH_PROVIDERS)[number];

export interface OAuthClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface OAuthConfig {
  /** Providers with real credentials. In development the others are served by the fake provider. */
  providers: Partial<Record<OAuthProviderName, OAuthClientCredentials>>;
  /** Whether provider access and refresh tokens are kept (encrypted) in oauth_accounts. */
  storeProviderTokens: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const DEVELOPMENT_ORIGINS = ["http://localhost:3000", "http://localhost:5173"];
const MIN_SECRET_LENGTH = 32;

/**
 * Parse and check every setting once. A problem stops the Worker with a message that names each
 * missing or invalid setting, so a misconfigured deploy fails loudly instead of half-working.
 */
export async function parseConfig(bindings: Bindings): Promise<Config> {
  const problems: string[] = [];
  const environment = parseEnvironment(bindings.ENVIRONMENT, problems);
  const isDevelopment = environment === "development";
  const isLocal = isDevelopment || environment === "test";

  const requireSetting = (name: keyof Bindings, value: string | undefined): string => {
    if (value === undefined || value.trim() === "") {
      problems.push(`${name} is not set`);
      return "";
    }
    return value.trim();
  };
  const requireSecret = (name: keyof SecretBindings): string => {
    const value = requireSetting(name, bindings[name]);
    if (value !== "" && value.length < MIN_SECRET_LENGTH) {
      problems.push(`${name} must be at least ${MIN_SECRET_LENGTH} characters long`);
    }
    return value;
  };

  const appUrl = parseHttpsOrigin("APP_URL", requireSetting("APP_URL", bindings.APP_URL), isLocal, problems);
  const databaseUrl = requireSetting("DATABASE_URL", bindings.DATABASE_URL);
  const fetchEndpoint = bindings.NEON_FETCH_ENDPOINT?.trim() || undefined;
  if (fetchEndpoint !== undefined && !isLocal) {
    problems.push("NEON_FETCH_ENDPOINT is for local development and tests only; unset it in this environment");
  }

  const signingKeysJson = requireSetting("JWT_SIGNING_KEYS", bindings.JWT_SIGNING_KEYS);
  let keys: SigningKeys | undefined;
  if (signingKeysJson !== "") {
    const parsed = await parseSigningKeys(signingKeysJson);
    if (parsed.ok) keys = parsed.keys;
    else problems.push(parsed.message);
  }

  const passwordPepper = requireSecret("PASSWORD_PEPPER");
  const codeHashKey = requireSecret("CODE_HASH_KEY");
  const refreshTokenKey = requireSecret("REFRESH_TOKEN_KEY");

  const encryptionKeysJson = requireSetting("ENCRYPTION_KEYS", bindings.ENCRYPTION_KEYS);
  let encryptionKeys: EncryptionKeyring | undefined;
  if (encryptionKeysJson !== "") {
    const parsed = parseEncryptionKeyring(encryptionKeysJson);
    if (parsed.ok) encryptionKeys = parsed.keyring;
    else problems.push(parsed.message);
  }

  const resendApiKey = bindings.RESEND_API_KEY?.trim() || undefined;
  if (resendApiKey === undefined && !isLocal) problems.push("RESEND_API_KEY is not set");
  const mailFrom = requireSetting("MAIL_FROM", bindings.MAIL_FROM);

  const corsOrigins = parseOriginList("CORS_ORIGINS", bindings.CORS_ORIGINS, isDevelopment, isLocal, problems);
  const allowedRedirectOrigins = parseOriginList(
    "ALLOWED_REDIRECT_ORIGINS",
    bindings.ALLOWED_REDIRECT_ORIGINS,
    isDevelopment,
    isLocal,
    problems,
  );
  const passwordMinLength = parseIntegerSetting(
    "PASSWORD_MIN_LENGTH",
    bindings.PASSWORD_MIN_LENGTH,
    12,
    COMMON_PASSWORDS_MIN_LENGTH,
    64,
    problems,
  );
  const defaultPhoneRegion = (bindings.DEFAULT_PHONE_REGION?.trim() || "IN").toUpperCase();
  if (!/^[A-Z]{2}$/.test(defaultPhoneRegion)) {
    problems.push(`DEFAULT_PHONE_REGION must be an ISO 3166-1 alpha-2 code such as IN, got "${defaultPhoneRegion}"`);
  }

  const retention = {
    revokedSessionDays: parseIntegerSetting(
      "REVOKED_SESSION_RETENTION_DAYS",
      bindings.REVOKED_SESSION_RETENTION_DAYS,
      30,
      1,
      3650,
      problems,
    ),
    auditEventDays: parseIntegerSetting("AUDIT_RETENTION_DAYS", bindings.AUDIT_RETENTION_DAYS, 400, 1, 3650, problems),
  };
  const oauth = parseOAuthConfig(bindings, problems);
  const kycRetentionDays = parseIntegerSetting("KYC_RETENTION_DAYS", bindings.KYC_RETENTION_DAYS, 0, 0, 3650, problems);
  const breachedPasswordCheck = parseBooleanSetting(
    "BREACHED_PASSWORD_CHECK",
    bindings.BREACHED_PASSWORD_CHECK,
    problems,
  );
  const sms = parseSmsSettings(bindings, isLocal, problems);
  const rateLimits = parseRateLimitSettings(bindings, problems);

  if (problems.length > 0 || keys === undefined || encryptionKeys === undefined) {
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}.`);
  }

  return {
    environment,
    isDevelopment,
    appUrl,
    jwt: {
      issuer: bindings.JWT_ISSUER?.trim() || appUrl,
      audience: bindings.JWT_AUDIENCE?.trim() || appUrl,
      keys,
      accessTokenTtlSeconds: 15 * 60,
    },
    database: { url: databaseUrl, fetchEndpoint },
    passwordPepper,
    codeHashKey,
    refreshTokenKey,
    encryptionKeys,
    corsOrigins,
    allowedRedirectOrigins,
    mail: { from: mailFrom, replyTo: bindings.MAIL_REPLY_TO?.trim() || undefined, resendApiKey },
    passwordMinLength,
    defaultPhoneRegion,
    retention,
    oauth,
    breachedPasswordCheck,
    kycRetentionDays,
    sms,
    rateLimits,
  };
}

const OAUTH_CREDENTIAL_SETTINGS = {
  google: { id: "GOOGLE_CLIENT_ID", secret: "GOOGLE_CLIENT_SECRET" },
  github: { id: "GITHUB_CLIENT_ID", secret: "GITHUB_CLIENT_SECRET" },
  facebook: { id: "FACEBOOK_CLIENT_ID", secret: "FACEBOOK_CLIENT_SECRET" },
} as const satisfies Record<OAuthProviderName, { id: keyof Bindings; secret: keyof Bindings }>;

/** Read each provider's client id and secret. Set both or neither, because one alone is a mistake. */
function parseOAuthConfig(bindings: Bindings, problems: string[]): OAuthConfig {
  const providers: OAuthConfig["providers"] = {};
  for (const provider of OAUTH_PROVIDERS) {
    const names = OAUTH_CREDENTIAL_SETTINGS[provider];
    const clientId = bindings[names.id]?.trim() || undefined;
    const clientSecret = bindings[names.secret]?.trim() || undefined;
    if (clientId !== undefined && clientSecret !== undefined) {
      providers[provider] = { clientId, clientSecret };
    } else if (clientId !== undefined || clientSecret !== undefined) {
      const [set, missing] = clientId !== undefined ? [names.id, names.secret] : [names.secret, names.id];
      problems.push(`${missing} is not set but ${set} is; set both to enable ${provider} sign-in, or neither`);
    }
  }

  const storeTokens = (bindings.OAUTH_STORE_PROVIDER_TOKENS?.trim() || "false").toLowerCase();
  if (storeTokens !== "true" && storeTokens !== "false") {
    problems.push(`OAUTH_STORE_PROVIDER_TOKENS must be true or false, got "${storeTokens}"`);
  }
  return { providers, storeProviderTokens: storeTokens === "true" };
}

function parseEnvironment(value: string | undefined, problems: string[]): Environment {
  const environment = (value ?? "production").trim();
  if ((ENVIRONMENTS as readonly string[]).includes(environment)) return environment as Environment;
  problems.push(`ENVIRONMENT must be one of ${ENVIRONMENTS.join(", ")}, got "${environment}"`);
  return "production";
}

function parseHttpsOrigin(name: string, value: string, allowHttp: boolean, problems: string[]): string {
  if (value === "") return "";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name} must be an absolute URL, got "${value}"`);
    return "";
  }
  if (url.protocol !== "https:" && !(allowHttp && url.protocol === "http:")) {
    problems.push(`${name} must use https, got "${value}"`);
  }
  return url.origin;
}

function parseOriginList(
  name: string,
  value: string | undefined,
  isDevelopment: boolean,
  allowHttp: boolean,
  problems: string[],
): string[] {
  if (value === undefined || value.trim() === "") return isDevelopment ? DEVELOPMENT_ORIGINS : [];
  return value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => parseHttpsOrigin(name, entry, allowHttp, problems))
    .filter((origin) => origin !== "");
}

function parseIntegerSetting(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  if (value === undefined || value.trim() === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    return fallback;
  }
  return parsed;
}

function parseBooleanSetting(name: string, value: string | undefined, problems: string[]): boolean {
  const text = value?.trim().toLowerCase() ?? "";
  if (text === "" || text === "false") return false;
  if (text === "true") return true;
  problems.push(`${name} must be true or false, got "${value}"`);
  return false;
}
