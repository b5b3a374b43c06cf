import { LEDGER_OUTCOMES, NODE_KEY_STATUSES, VALIDATION_METHODS } from "@m3shd/protocol";
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { checkAtLeast, checkBetween, checkIn, columnRef, createdAt, epochMs } from "./columns";
import { tasks } from "./tasks";

/**
 * A node's Ed25519 signing keys. At most one `active` or `pending` key per agent (partial unique
 * index): rotation revokes the old key in the transaction that binds the new one. Rows are never
 * deleted, so an export can still verify results signed with a key revoked since.
 */
export const nodeKeys = sqliteTable(
  "node_keys",
  {
    /** `nk_` + 24 hex of SHA-256(raw public key). */
    keyId: text().primaryKey(),
    /**
     * The agent slug (no foreign key: a key waiting for approval is bound before its agent has
     * ever registered successfully).
     */
    agentId: text().notNull(),
    /** Raw 32-byte public key, base64url. */
    publicKey: text().notNull(),
    status: text({ enum: NODE_KEY_STATUSES }).notNull(),
    createdAt: createdAt(),
    approvedAt: epochMs(),
    revokedAt: epochMs(),
    revokedReason: text(),
  },
  (t) => [
    checkIn("node_keys_status_check", t.status, NODE_KEY_STATUSES),
    uniqueIndex("node_keys_one_current_per_agent")
      .on(t.agentId)
      .where(sql`${columnRef(t.status)} IN ('active', 'pending')`),
    index("node_keys_agent_idx").on(t.agentId),
  ],
);

/**
 * The signed envelope of each result the hub accepted (kept beside the provenance link). Append-only;
 * one row per task attempt.
 */
export const resultEnvelopes = sqliteTable(
  "result_envelopes",
  {
    taskId: text()
      .notNull()
      .references(() => tasks.id),
    attempt: integer().notNull(),
    agentId: text().notNull(),
    keyId: text()
      .notNull()
      .references(() => nodeKeys.keyId),
    /** The envelope exactly as received (JSON, signature included). */
    envelope: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.attempt] })],
);

/**
 * The credit ledger: one row per result submitted, with its validation decision and units.
 * Append-only (no code path updates or deletes a row); each row is a leaf of the Merkle log, its
 * `entry_hash` the leaf data, so an edited row no longer proves into the published roots.
 */
export const ledgerEntries = sqliteTable(
  "ledger_entries",
  {
    /** 0-based position; INTEGER PRIMARY KEY (the rowid). */
    seq: integer().primaryKey(),
    id: text().notNull().unique(),
    taskId: text()
      .notNull()
      .references(() => tasks.id),
    attempt: integer().notNull(),
    agentId: text().notNull(),
    jobType: text().notNull(),
    outcome: text({ enum: LEDGER_OUTCOMES }).notNull(),
    units: integer().notNull(),
    rule: text().notNull(),
    basis: text({ mode: "json" }).$type<Record<string, number | string>>().notNull(),
    explanation: text().notNull(),
    validationMethod: text({ enum: VALIDATION_METHODS }).notNull(),
    checkedBy: text(),
    streakBefore: integer().notNull(),
    checkProbability: real().notNull(),
    validationReason: text().notNull(),
    signed: integer({ mode: "boolean" }).notNull(),
    keyId: text(),
    inputSha256: text().notNull(),
    outputSha256: text().notNull(),
    leafIndex: integer().notNull().unique(),
    entryHash: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    checkIn("ledger_entries_outcome_check", t.outcome, LEDGER_OUTCOMES),
    checkIn("ledger_entries_validation_method_check", t.validationMethod, VALIDATION_METHODS),
    checkAtLeast("ledger_entries_units_check", t.units, 0),
    checkBetween("ledger_entries_check_probability_check", t.checkProbability, 0, 1),
    uniqueIndex("ledger_entries_task_attempt_unique").on(t.taskId, t.attempt),
    index("ledger_entries_agent_idx").on(t.agentId, t.seq),
    index("ledger_entries_created_idx").on(t.createdAt),
  ],
);

/**
 * Adaptive replication state per node × job type: consecutive valid results (BOINC's
 * `consecutive_valid`). Reset to 0 by an invalid result.
 */
export const validationStreaks = sqliteTable(
  "validation_streaks",
  {
    agentId: text().notNull(),
    jobType: text().notNull(),
    consecutiveValid: integer().notNull().default(0),
    updatedAt: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.agentId, t.jobType] }),
    checkAtLeast("validation_streaks_consecutive_valid_check", t.consecutiveValid, 0),
  ],
);
