import { eq } from "drizzle-orm";
import { pluginStates } from "../schema";
import type { Executor } from "../types";

export type PluginStateRow = typeof pluginStates.$inferSelect;

/** Every stored plugin state, by name (plugins without a row are enabled). */
export function listPluginStates(db: Executor): Map<string, boolean> {
  const rows = db.select({ name: pluginStates.name, enabled: pluginStates.enabled }).from(pluginStates).all();
  return new Map(rows.map((r) => [r.name, r.enabled]));
}

/** Whether the plugin is enabled (no row: enabled). */
export function isPluginEnabled(db: Executor, name: string): boolean {
  const row = db
    .select({ enabled: pluginStates.enabled })
    .from(pluginStates)
    .where(eq(pluginStates.name, name))
    .get();
  return row?.enabled ?? true;
}

/**
 * Sets a plugin's state. Returns whether it changed (false: it already had that state, and nothing
 * was written), so a repeat is not recorded as an action.
 */
export function setPluginEnabled(
  db: Executor,
  input: { name: string; enabled: boolean; updatedBy: string; now: number },
): boolean {
  if (isPluginEnabled(db, input.name) === input.enabled) return false;
  const changed = db
    .insert(pluginStates)
    .values({ name: input.name, enabled: input.enabled, updatedBy: input.updatedBy, updatedAt: input.now })
    .onConflictDoUpdate({
      target: pluginStates.name,
      set: { enabled: input.enabled, updatedBy: input.updatedBy, updatedAt: input.now },
    })
    .run().changes;
  return changed === 1;
}
