import { type SQL, sql } from "drizzle-orm";
import { toIsoString } from "../db/rows";
import type { USER_ROLES, USER_STATUSES } from "../db/schema";

export type UserStatus = (typeof USER_STATUSES)[number];
export type UserRole = (typeof USER_ROLES)[number];

/** A users row as raw SQL returns it (snake_case, timestamps as text or Date). */
export type UserRow = {
  id: string;
  username: string | null;
  email: string | null;
  mobile_number: string | null;
  status: UserStatus;
  role: UserRole;
  is_email_verified: boolean;
  is_mobile_verified: boolean;
  profile_setup_at: Date | string | null;
  last_login_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
};

/** The public `User` shape of the API. */
export interface UserView {
  id: string;
  username: string | null;
  email: string | null;
  mobile_number: string | null;
  status: UserStatus;
  role: UserRole;
  is_email_verified: boolean;
  is_mobile_verified: boolean;
  profile_setup_at: string | null;
  last_login_at: string | null;
  created_at: string;
  updated_at: string;
}

/** The column list that `UserRow` expects, for raw SQL that returns a user. */
export const USER_COLUMNS =
  "id, username, email, mobile_number, status, role, is_email_verified, is_mobile_verified, profile_setup_at, last_login_at, created_at, updated_at";

/** Build the `UserRow` column list prefixed with a table alias, for statements that join users to other tables. */
export function userColumnsOf(alias: string): SQL {
  return sql.raw(
    USER_COLUMNS.split(", ")
      .map((column) => `${alias}.${column}`)
      .join(", "),
  );
}

export function toUserView(row: UserRow): UserView {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    mobile_number: row.mobile_number,
    status: row.status,
    role: row.role,
    is_email_verified: row.is_email_verified,
    is_mobile_verified: row.is_mobile_verified,
    profile_setup_at: toIsoString(row.profile_setup_at),
    last_login_at: toIsoString(row.last_login_at),
    created_at: toIsoString(row.created_at) ?? "",
    updated_at: toIsoString(row.updated_at) ?? "",
  };
}
