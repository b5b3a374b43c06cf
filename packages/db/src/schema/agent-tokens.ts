import type { Permission } from "@m3shd/protocol";
import { sql } from "drizzle-orm";
import { index, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, epochMs } from "./columns";

/**
 * Worker tokens (`m3shd_ag_…`), stored only as hashes. `agent_id` is not a foreign key: a token
 * is minted before its agent first registers.
 */
export const agentTokens = sqliteTable(
  "agent_tokens",
  {
    id: text().primaryKey(),
    agentId: text().notNull(),
    tokenHash: text().notNull(),
    /** The first characters of the token, shown in listings so an operator can tell tokens apart. */
    prefix: text().notNull(),
    /** Granted permissions; an empty array grants nothing. */
    permissions: text({ mode: "json" }).$type<Permission[]>().notNull().default(sql`'[]'`),
    /**
     * Capabilities the agent may register with under this token; NULL: unbound (tokens minted
     * without a list, and every token minted before the column existed).
     */
    capabilities: text({ mode: "json" }).$type<string[]>(),
    createdBy: text(),
    createdAt: createdAt(),
    lastUsedAt: epochMs(),
    revokedAt: epochMs(),
  },
  (t) => [
    uniqueIndex("agent_tokens_token_hash_unique").on(t.tokenHash),
    index("agent_tokens_agent_id_idx").on(t.agentId),
  ],
);
