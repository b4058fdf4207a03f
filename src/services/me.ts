import { sql } from "drizzle-orm";
import { toIsoString } from "../db/rows";
import type { Caller, Dependencies } from "../http/context";
import { toUserView, type UserRow, type UserView } from "./user-view";

export interface ProfileView {
  full_name: string;
  country_code: string | null;
  address: string | null;
  company_name: string | null;
  mobile_number: string | null;
  profile_img_url: string | null;
  created_at: string;
  updated_at: string;
}

export interface MeView {
  user: UserView;
  profile: ProfileView | null;
  kyc: { status: string } | null;
  login_methods: { password: boolean; oauth: string[] };
}

type MeRow = UserRow & {
  profile: (Omit<ProfileView, "created_at" | "updated_at"> & { created_at: string; updated_at: string }) | null;
  kyc_status: string | null;
  has_password: boolean;
  oauth_providers: string[];
};

/**
 * Read the caller's account, profile, KYC status and sign-in methods in one round trip. The join on
 * the session makes a token of a revoked session stop working here at once, not only at expiry.
 */
export async function readMe(deps: Dependencies, caller: Caller): Promise<MeView | null> {
  const now = deps.clock.now().toISOString();
  const result = await deps.db.execute<MeRow>(sql`
    SELECT u.id, u.username, u.email, u.mobile_number, u.status, u.role, u.is_email_verified, u.is_mobile_verified,
           u.profile_setup_at, u.last_login_at, u.created_at, u.updated_at,
           (SELECT json_build_object('full_name', p.full_name, 'country_code', p.country_code, 'address', p.address,
                                     'company_name', p.company_name, 'mobile_number', p.mobile_number,
                                     'profile_img_url', p.profile_img_url, 'created_at', p.created_at, 'updated_at', p.updated_at)
              FROM user_profile AS p WHERE p.user_id = u.id) AS profile,
           (SELECT k.status FROM user_kyc AS k WHERE k.user_id = u.id) AS kyc_status,
           EXISTS (SELECT 1 FROM auth_credentials AS c WHERE c.user_id = u.id) AS has_password,
           coalesce((SELECT array_agg(o.provider ORDER BY o.provider) FROM oauth_accounts AS o WHERE o.user_id = u.id), '{}') AS oauth_providers
    FROM users AS u
    JOIN auth_sessions AS s ON s.user_id = u.id
    WHERE u.id = ${caller.userId} AND u.status = 'active'
      AND s.id = ${caller.sessionId} AND s.revoked_at IS NULL AND s.expires_at > ${now}::timestamptz`);

  const row = result.rows[0];
  if (row === undefined) return null;
  return {
    user: toUserView(row),
    profile:
      row.profile === null
        ? null
        : {
            ...row.profile,
            created_at: toIsoString(row.profile.created_at) ?? "",
            updated_at: toIsoString(row.profile.updated_at) ?? "",
          },
    kyc: row.kyc_status === null ? null : { status: row.kyc_status },
    login_methods: { password: row.has_password, oauth: row.oauth_providers },
  };
}
