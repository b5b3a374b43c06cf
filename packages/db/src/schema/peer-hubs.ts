import { PEER_HUB_STATUSES } from "@m3shd/protocol";
import { sql } from "drizzle-orm";
import { sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { checkIn, epochMs, timestamps } from "./columns";

/** Other hubs this one federates with. */
export const peerHubs = sqliteTable(
  "peer_hubs",
  {
    id: text().primaryKey(),
    name: text().notNull(),
    url: text().notNull(),
    status: text({ enum: PEER_HUB_STATUSES }).notNull().default("active"),
    /** Credential for calling the peer; stored encrypted by the hub (it must be readable to send). */
    secret: text().notNull(),
    /** Capabilities the peer last advertised. */
    capabilities: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    lastSeenAt: epochMs(),
    ...timestamps(),
  },
  (t) => [
    checkIn("peer_hubs_status_check", t.status, PEER_HUB_STATUSES),
    uniqueIndex("peer_hubs_url_unique").on(t.url),
  ],
);
