import { USER_ROLES } from "@m3shd/protocol";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { checkIn, createdAt, epochMs, timestamps } from "./columns";

/** Dashboard users. `password_hash` is the self-describing PBKDF2 string from @m3shd/crypto. */
export const users = sqliteTable(
  "users",
  {
    id: text().primaryKey(),
    username: text().notNull(),
    passwordHash: text().notNull(),
    role: text({ enum: USER_ROLES }).notNull().default("viewer"),
    lastLoginAt: epochMs(),
    disabledAt: epochMs(),
    ...timestamps(),
  },
  (t) => [
    checkIn("users_role_check", t.role, USER_ROLES),
    uniqueIndex("users_username_unique").on(t.username),
  ],
);

/** Login sessions. The cookie holds a random id; only its hash is stored, so a leaked table grants nothing. */
export const sessions = sqliteTable(
  "sessions",
  {
    idHash: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    csrfTokenHash: text().notNull(),
    createdAt: createdAt(),
    expiresAt: integer().notNull(),
    revokedAt: epochMs(),
    lastSeenAt: epochMs(),
    ip: text(),
    userAgent: text(),
  },
  (t) => [index("sessions_user_id_idx").on(t.userId), index("sessions_expires_at_idx").on(t.expiresAt)],
);
