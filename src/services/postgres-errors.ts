/** Check whether an error, or one of its causes, carries SQLSTATE `code` on the named constraint. */
function hasConstraintViolation(error: unknown, code: string, constraint: string): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const fields = current as { code?: unknown; constraint?: unknown };
    if (fields.code === code && fields.constraint === constraint) return true;
    current = current.cause;
  }
  return false;
}

/** Check whether an error, or one of its causes, is a unique violation (23505) on the named constraint. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  return hasConstraintViolation(error, "23505", constraint);
}

/** Check whether an error, or one of its causes, is a foreign key violation (23503) on the named constraint. */
export function isForeignKeyViolation(error: unknown, constraint: string): boolean {
  return hasConstraintViolation(error, "23503", constraint);
}
