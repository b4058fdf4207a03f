import { sql } from "drizzle-orm";
import type { Caller, Dependencies } from "../http/context";
import { callerSessionIsLive } from "./sessions";
import { isUniqueViolation } from "./postgres-errors";
import { toUserView, type UserRow, type UserView, userColumnsOf } from "./user-view";

export type ChangeUsernameResult =
  | { ok: true; user: UserView }
  | { ok: false; reason: "unauthorized" | "username_taken" };

/**
 * Set the caller's username in one statement. The unique index on `lower(username)` decides
 * races, so two accounts can never have "Asha" and "asha". Changing only the case of one's own
 * username is allowed.
 */
export async function changeUsername(
  deps: Dependencies,
  caller: Caller,
  username: string,
): Promise<ChangeUsernameResult> {
  const now = deps.clock.now();
  let rows: UserRow[];
  try {
    const result = await deps.db.execute<UserRow>(sql`
      UPDATE users AS u
      SET username = ${username}, updated_at = ${now.toISOString()}::timestamptz
      WHERE u.id = ${caller.userId} AND ${callerSessionIsLive(caller, now)}
      RETURNING ${userColumnsOf("u")}`);
    rows = result.rows;
  } catch (error) {
    if (isUniqueViolation(error, "users_username_lower_key")) return { ok: false, reason: "username_taken" };
    throw error;
  }

  const row = rows[0];
  if (row === undefined) return { ok: false, reason: "unauthorized" };
  deps.log.info("username_changed", { user_id: caller.userId });
  return { ok: true, user: toUserView(row) };
}
