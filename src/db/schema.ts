import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  char,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  serial,
  text,
  timestamp,
  uniqueIndex,
  unique,
  uuid,
  varchar,
} from "drizzle-orm/pg-core";

// Every timestamp is timestamptz. The seed used timestamp without time zone, which silently
// shifts values when a session's TimeZone differs from the writer's.
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
const createdAt = () => timestamptz("created_at").notNull().defaultNow();
const updatedAt = () => timestamptz("updated_at").notNull().defaultNow();

export const USER_STATUSES = ["pending_verification", "active", "suspended", "deleted"] as const;
export const USER_ROLES = ["user", "reviewer", "admin"] as const;
export const OAUTH_PROVIDERS = ["google", "github", "facebook"] as const;
export const VERIFICATION_CHANNELS = ["email", "mobile"] as const;
export const VERIFICATION_PURPOSES = ["signup", "login", "email_change", "mobile_change"] as const;
export const GOVERNMENT_ID_TYPES = [
  "pan",
  "aadhaar",
  "passport",
  "voter_id",
  "driving_licence",
  "national_id",
] as const;
export const TRADER_TYPES = ["importer", "exporter", "both"] as const;
export const KYC_STATUSES = ["draft", "pending", "approved", "rejected"] as const;

const inList = (column: string, values: readonly string[]) =>
  sql.raw(`${column} IN (${values.map((value) => `'${value}'`).join(", ")})`);

export const country = pgTable("country", {
  code: char("code", { length: 3 }).primaryKey(),
  alpha2: char("alpha2", { length: 2 }).notNull().unique(),
  numericCode: char("numeric_code", { length: 3 }).notNull(),
  name: text("name").notNull(),
  dialCode: text("dial_code"),
});

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    username: text("username"),
    email: text("email").unique(),
    mobileNumber: text("mobile_number").unique(),
    status: text("status", { enum: USER_STATUSES }).notNull().default("pending_verification"),
    role: text("role", { enum: USER_ROLES }).notNull().default("user"),
    profileSetupAt: timestamptz("profile_setup_at"),
    lastLoginAt: timestamptz("last_login_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    isEmailVerified: boolean("is_email_verified").notNull().default(false),
    isMobileVerified: boolean("is_mobile_verified").notNull().default(false),
  },
  (table) => [
    // Usernames are public handles, so "Asha" and "asha" must not belong to two people.
    uniqueIndex("users_username_lower_key").on(sql`lower(${table.username})`),
    // The admin search matches prefixes with LIKE; text_pattern_ops lets an index serve them
    // whatever the database's collation.
    index("users_email_prefix_idx").on(table.email.op("text_pattern_ops")),
    index("users_username_lower_prefix_idx").on(sql`lower(${table.username}) text_pattern_ops`),
    // The scheduled cleanup looks for accounts deleted before a cutoff.
    index("users_deleted_updated_at_idx").on(table.updatedAt).where(sql`${table.status} = 'deleted'`),
    check("users_status_check", inList("status", USER_STATUSES)),
    check("users_role_check", inList("role", USER_ROLES)),
    check("users_email_lowercase_check", sql`email = lower(email)`),
    check("users_mobile_number_e164_check", sql`mobile_number ~ '^\\+[1-9][0-9]{6,14}$'`),
    check("users_username_format_check", sql`username ~ '^[A-Za-z0-9_.-]{3,32}$'`),
  ],
);

export const authCredentials = pgTable(
  "auth_credentials",
  {
    userId: uuid("user_id")
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    passwordHash: text("password_hash").notNull(),
    passwordAlgo: text("password_algo").notNull(),
    passwordSetAt: timestamptz("password_set_at").notNull().defaultNow(),
    passwordResetTokenHash: text("password_reset_token_hash").unique(),
    passwordResetExpires: timestamptz("password_reset_expires"),
    failedAttempts: integer("failed_attempts").notNull().default(0),
    lastFailedAt: timestamptz("last_failed_at"),
    lockedUntil: timestamptz("locked_until"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [check("auth_credentials_failed_attempts_check", sql`${table.failedAttempts} >= 0`)],
);

export const oauthAccounts = pgTable(
  "oauth_accounts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    provider: text("provider", { enum: OAUTH_PROVIDERS }).notNull(),
    providerUserId: text("provider_user_id").notNull(),
    email: text("email"),
    emailVerified: boolean("email_verified").notNull().default(false),
    // AES-256-GCM ciphertext prefixed with its key id, or null when token storage is off.
    accessTokenEncrypted: text("access_token_encrypted"),
    refreshTokenEncrypted: text("refresh_token_encrypted"),
    tokenExpiresAt: timestamptz("token_expires_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    unique("oauth_accounts_provider_user_key").on(table.provider, table.providerUserId),
    unique("oauth_accounts_user_provider_key").on(table.userId, table.provider),
    check("oauth_accounts_provider_check", inList("provider", OAUTH_PROVIDERS)),
  ],
);

export const authSessions = pgTable(
  "auth_sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // SHA-256 of the refresh token the client holds now.
    refreshTokenHash: text("refresh_token_hash").notNull().unique(),
    // The token retired by the latest rotation, accepted again only inside the grace window.
    previousRefreshTokenHash: text("previous_refresh_token_hash").unique(),
    rotatedAt: timestamptz("rotated_at"),
    // Older retired tokens, newest first and capped, so replaying any of them revokes the session.
    retiredRefreshTokenHashes: text("retired_refresh_token_hashes").array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
    expiresAt: timestamptz("expires_at").notNull(),
    lastUsedAt: timestamptz("last_used_at").notNull().defaultNow(),
    revokedAt: timestamptz("revoked_at"),
    revokedReason: text("revoked_reason"),
    userAgent: varchar("user_agent", { length: 512 }),
  },
  (table) => [
    index("auth_sessions_user_id_idx").on(table.userId),
    index("auth_sessions_retired_hashes_idx").using("gin", table.retiredRefreshTokenHashes),
    index("auth_sessions_expires_at_idx").on(table.expiresAt),
  ],
);

export const oauthLoginCodes = pgTable(
  "oauth_login_codes",
  {
    // SHA-256 (hex) of the code. The code has 256 random bits, so a hash without a key is enough.
    codeHash: text("code_hash").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    provider: text("provider", { enum: OAUTH_PROVIDERS }).notNull(),
    createdAt: createdAt(),
    expiresAt: timestamptz("expires_at").notNull(),
  },
  (table) => [
    index("oauth_login_codes_user_id_idx").on(table.userId),
    index("oauth_login_codes_expires_at_idx").on(table.expiresAt),
    check("oauth_login_codes_provider_check", inList("provider", OAUTH_PROVIDERS)),
  ],
);

export const userProfile = pgTable(
  "user_profile",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .unique()
      .references(() => users.id, { onDelete: "cascade" }),
    fullName: varchar("full_name", { length: 150 }).notNull(),
    profileImgUrl: text("profile_img_url"),
    mobileNumber: varchar("mobile_number", { length: 20 }).unique(),
    countryCode: char("country_code", { length: 3 }).references(() => country.code),
    address: text("address"),
    companyName: varchar("company_name", { length: 255 }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index("user_profile_country_code_idx").on(table.countryCode),
    check("user_profile_mobile_number_e164_check", sql`${table.mobileNumber} ~ '^\\+[1-9][0-9]{6,14}$'`),
    check("user_profile_profile_img_url_https_check", sql`${table.profileImgUrl} LIKE 'https://%'`),
  ],
);

export const userKyc = pgTable(
  "user_kyc",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .unique()
      .references(() => users.id, { onDelete: "cascade" }),

    governmentIdType: varchar("government_id_type", { length: 50, enum: GOVERNMENT_ID_TYPES }),
    // AES-256-GCM ciphertext prefixed with its key id; the plain number is never stored.
    governmentIdNumberEncrypted: text("government_id_number_encrypted"),
    governmentIdNumberLast4: varchar("government_id_number_last4", { length: 4 }),

    // R2 object keys chosen by the server, never a public URL, with what the upload check recorded.
    governmentIdObjectKey: text("government_id_object_key"),
    governmentIdContentType: text("government_id_content_type"),
    governmentIdSizeBytes: integer("government_id_size_bytes"),
    governmentIdSha256: char("government_id_sha256", { length: 64 }),
    governmentIdUploadedAt: timestamptz("government_id_uploaded_at"),

    gstinNumber: varchar("gstin_number", { length: 15 }),
    businessCertObjectKey: text("business_cert_object_key"),
    businessCertContentType: text("business_cert_content_type"),
    businessCertSizeBytes: integer("business_cert_size_bytes"),
    businessCertSha256: char("business_cert_sha256", { length: 64 }),
    businessCertUploadedAt: timestamptz("business_cert_uploaded_at"),

    authorizedPersonName: varchar("authorized_person_name", { length: 150 }),
    traderType: varchar("trader_type", { length: 50, enum: TRADER_TYPES }),

    status: varchar("status", { length: 20, enum: KYC_STATUSES }).notNull().default("draft"),
    submittedAt: timestamptz("submitted_at"),
    verifiedAt: timestamptz("verified_at"),
    rejectionReason: text("rejection_reason"),
    reviewedBy: uuid("reviewed_by").references(() => users.id, { onDelete: "set null" }),
    reviewedAt: timestamptz("reviewed_at"),

    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index("user_kyc_status_submitted_at_idx").on(table.status, table.submittedAt, table.userId),
    check("user_kyc_status_check", inList("status", KYC_STATUSES)),
    check("user_kyc_trader_type_check", inList("trader_type", TRADER_TYPES)),
    check("user_kyc_government_id_type_check", inList("government_id_type", GOVERNMENT_ID_TYPES)),
    check(
      "user_kyc_document_size_check",
      sql`${table.governmentIdSizeBytes} BETWEEN 1 AND 10485760 AND ${table.businessCertSizeBytes} BETWEEN 1 AND 10485760`,
    ),
  ],
);

export const verifications = pgTable(
  "verifications",
  {
    id: serial("id").primaryKey(),
    // The destination the code was sent to: a lower-cased email or an E.164 number.
    identifier: varchar("identifier", { length: 255 }).notNull(),
    // HMAC-SHA-256 (hex) of the code under a server secret; a plain hash of 6 digits is reversible.
    codeHash: varchar("code_hash", { length: 64 }).notNull(),
    type: varchar("type", { length: 10, enum: VERIFICATION_CHANNELS }).notNull(),
    purpose: varchar("purpose", { length: 20, enum: VERIFICATION_PURPOSES }).notNull(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "cascade" }),
    attempts: integer("attempts").notNull().default(0),
    consumedAt: timestamptz("consumed_at"),
    expiresAt: timestamptz("expires_at").notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    // At most one live code per destination and purpose, so a new code replaces the old one.
    uniqueIndex("verifications_live_code_key")
      .on(table.purpose, table.type, table.identifier)
      .where(sql`consumed_at IS NULL`),
    index("verifications_user_id_idx").on(table.userId),
    index("verifications_expires_at_idx").on(table.expiresAt),
    check("verifications_type_check", inList("type", VERIFICATION_CHANNELS)),
    check("verifications_purpose_check", inList("purpose", VERIFICATION_PURPOSES)),
    check("verifications_attempts_check", sql`${table.attempts} >= 0`),
  ],
);

export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    occurredAt: timestamptz("occurred_at").notNull().defaultNow(),
    action: text("action").notNull(),
    actorUserId: uuid("actor_user_id").references(() => users.id, { onDelete: "set null" }),
    targetUserId: uuid("target_user_id").references(() => users.id, { onDelete: "set null" }),
    requestId: text("request_id"),
    // Non-secret context only: ids, reasons, counts. Never an email, number, token or code.
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
  },
  (table) => [
    index("audit_events_occurred_at_idx").on(table.occurredAt),
    index("audit_events_target_user_id_idx").on(table.targetUserId, table.occurredAt),
    index("audit_events_actor_user_id_idx").on(table.actorUserId),
  ],
);
