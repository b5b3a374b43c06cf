/**
 * Whether `error` (or an error in its `cause` chain — drizzle wraps driver errors in
 * `DrizzleQueryError`) is a better-sqlite3 constraint failure, optionally with an exact extended
 * code such as `SQLITE_CONSTRAINT_FOREIGNKEY`.
 */
export function isSqliteConstraintError(error: unknown, code?: string): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if ("code" in current && typeof current.code === "string") {
      if (code === undefined ? current.code.startsWith("SQLITE_CONSTRAINT") : current.code === code)
        return true;
    }
    current = current.cause;
  }
  return false;
}
