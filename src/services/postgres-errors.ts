export { isUniqueViolation } from "./sign-up";

/** Whether an error (or its cause) is a Postgres foreign key violation on the named constraint. */
export function isForeignKeyViolation(error: unknown, constraint: string): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const fields = current as { code?: unknown; constraint?: unknown };
    if (fields.code === "23503" && fields.constraint === constraint) return true;
    current = current.cause;
  }
  return false;
}
