import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { EPOCH_MS_NOW } from "./columns";

/**
 * Operator overrides of hub plugins (built-in or loaded from the plugins directory), by plugin
 * name. A plugin without a row is enabled; the row outlives the plugin's file, so re-installing a
 * disabled plugin keeps it disabled.
 */
export const pluginStates = sqliteTable("plugin_states", {
  name: text().primaryKey(),
  enabled: integer({ mode: "boolean" }).notNull(),
  /** Who set the state (`master`, `user:<id>`, `key:<id>`). */
  updatedBy: text().notNull(),
  updatedAt: integer().notNull().default(EPOCH_MS_NOW),
});
