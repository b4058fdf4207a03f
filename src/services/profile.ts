import { sql } from "drizzle-orm";
import { toIsoString } from "../db/rows";
import type { FieldError } from "../errors";
import type { Caller, Dependencies } from "../http/context";
import { normalizeBusinessPhoneNumber } from "../lib/business-phone";
import { liveCallerQuery } from "./access";
import { auditEventStatement } from "./audit";
import type { ProfileView } from "./me";
import { isForeignKeyViolation, isUniqueViolation } from "./postgres-errors";

export interface ProfileInput {
  full_name: string;
  country_code: string;
  address?: string | null | undefined;
  company_name?: string | null | undefined;
  mobile_number?: string | null | undefined;
  profile_img_url?: string | null | undefined;
}

export type ReadProfileResult =
  | { ok: true; profile: ProfileView }
  | { ok: false; reason: "unauthorized" }
  | { ok: false; reason: "not_found" };

export type SaveProfileResult =
  | { ok: true; profile: ProfileView }
  | { ok: false; reason: "unauthorized" }
  | { ok: false; reason: "mobile_taken" }
  | { ok: false; reason: "invalid"; error: FieldError };

type ProfileRow = Omit<ProfileView, "created_at" | "updated_at"> & { created_at: string; updated_at: string };

const UNKNOWN_COUNTRY: FieldError = { path: "country_code", message: "No country has this ISO 3166-1 alpha-3 code." };

function toProfileView(row: ProfileRow): ProfileView {
  return {
    full_name: row.full_name,
    country_code: row.country_code,
    address: row.address,
    company_name: row.company_name,
    mobile_number: row.mobile_number,
    profile_img_url: row.profile_img_url,
    created_at: toIsoString(row.created_at) ?? "",
    updated_at: toIsoString(row.updated_at) ?? "",
  };
}

/** Read the caller's business profile in one round trip. */
export async function readProfile(deps: Dependencies, caller: Caller): Promise<ReadProfileResult> {
  const result = await deps.db.execute<{ caller_live: boolean; profile: ProfileRow | null }>(sql`
    WITH caller AS (${liveCallerQuery(deps, caller)})
    SELECT EXISTS (SELECT 1 FROM caller) AS caller_live,
           (SELECT to_jsonb(p) FROM user_profile AS p WHERE p.user_id IN (SELECT id FROM caller)) AS profile`);

  const row = result.rows[0];
  if (row === undefined || !row.caller_live) return { ok: false, reason: "unauthorized" };
  if (row.profile === null) return { ok: false, reason: "not_found" };
  return { ok: true, profile: toProfileView(row.profile) };
}

/**
 * Create or replace the caller's business profile in one statement. PUT semantics: an omitted
 * optional field is cleared. The country must exist in the `country` table, checked in the same
 * statement as the write. A profile is complete once it has a full name and a country, which every
 * accepted request carries, so the first successful save sets `users.profile_setup_at`.
 */
export async function saveProfile(deps: Dependencies, caller: Caller, input: ProfileInput): Promise<SaveProfileResult> {
  let mobileNumber: string | null = null;
  if (input.mobile_number !== undefined && input.mobile_number !== null) {
    mobileNumber = normalizeBusinessPhoneNumber(input.mobile_number, deps.config.defaultPhoneRegion);
    if (mobileNumber === null) {
      return {
        ok: false,
        reason: "invalid",
        error: {
          path: "mobile_number",
          message: `Enter a valid phone number in international format (+91…) or as a national number of ${deps.config.defaultPhoneRegion}.`,
        },
      };
    }
  }

  const now = deps.clock.now().toISOString();
  let result: { rows: { caller_live: boolean; country_exists: boolean; profile: ProfileRow | null }[] };
  try {
    result = await deps.db.execute(sql`
      WITH caller AS (${liveCallerQuery(deps, caller)}),
      known_country AS (SELECT code FROM country WHERE code = ${input.country_code}),
      saved AS (
        INSERT INTO user_profile AS p
          (user_id, full_name, country_code, address, company_name, mobile_number, profile_img_url, created_at, updated_at)
        SELECT caller.id, ${input.full_name}, known_country.code, ${input.address ?? null}, ${input.company_name ?? null},
               ${mobileNumber}, ${input.profile_img_url ?? null}, ${now}::timestamptz, ${now}::timestamptz
        FROM caller, known_country
        ON CONFLICT (user_id) DO UPDATE SET
          full_name = EXCLUDED.full_name, country_code = EXCLUDED.country_code, address = EXCLUDED.address,
          company_name = EXCLUDED.company_name, mobile_number = EXCLUDED.mobile_number,
          profile_img_url = EXCLUDED.profile_img_url, updated_at = EXCLUDED.updated_at
        RETURNING p.*),
      first_setup AS (
        UPDATE users SET profile_setup_at = ${now}::timestamptz, updated_at = ${now}::timestamptz
        WHERE id IN (SELECT user_id FROM saved) AND profile_setup_at IS NULL
        RETURNING id),
      audit AS (${auditEventStatement(
        deps,
        { action: "profile.updated", actorUserId: caller.userId },
        sql`SELECT user_id AS id FROM saved`,
      )})
      SELECT EXISTS (SELECT 1 FROM caller) AS caller_live,
             EXISTS (SELECT 1 FROM known_country) AS country_exists,
             (SELECT to_jsonb(saved) FROM saved) AS profile`);
  } catch (error) {
    if (isUniqueViolation(error, "user_profile_mobile_number_unique")) return { ok: false, reason: "mobile_taken" };
    // Countries are never deleted, but a foreign key failure would mean the same as a missing row.
    if (isForeignKeyViolation(error, "user_profile_country_code_country_code_fk")) {
      return { ok: false, reason: "invalid", error: UNKNOWN_COUNTRY };
    }
    throw error;
  }

  const row = result.rows[0];
  if (row === undefined || !row.caller_live) return { ok: false, reason: "unauthorized" };
  if (!row.country_exists || row.profile === null) return { ok: false, reason: "invalid", error: UNKNOWN_COUNTRY };
  deps.log.info("profile_saved", { user_id: caller.userId });
  return { ok: true, profile: toProfileView(row.profile) };
}
