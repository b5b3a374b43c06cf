import { type Template as ApiTemplate, templateVariables } from "@m3shd/protocol";
import { asc, eq, sql } from "drizzle-orm";
import { ConflictError, NotFoundError } from "../errors";
import { tasks, taskTemplates } from "../schema";
import type { Executor } from "../types";
import { isSqliteConstraintError } from "./sqlite-errors";

export type TemplateRow = typeof taskTemplates.$inferSelect;
export type NewTemplateRow = typeof taskTemplates.$inferInsert;

/** A template row as the API returns it. */
export function toApiTemplate(row: TemplateRow): ApiTemplate {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    prompt_template: row.promptTemplate,
    capability: row.capability,
    priority: row.priority,
    variables: templateVariables(row.promptTemplate),
    created_by: row.createdBy,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

function nameTaken(error: unknown, name: string | undefined): never {
  if (isSqliteConstraintError(error, "SQLITE_CONSTRAINT_UNIQUE")) {
    throw new ConflictError(`A template named ${JSON.stringify(name)} already exists`, { name });
  }
  throw error;
}

/** Every template, by name. */
export function listTemplates(db: Executor): TemplateRow[] {
  return db.select().from(taskTemplates).orderBy(asc(taskTemplates.name)).all();
}

export function getTemplate(db: Executor, id: string): TemplateRow | undefined {
  return db.select().from(taskTemplates).where(eq(taskTemplates.id, id)).get();
}

export function getTemplateByName(db: Executor, name: string): TemplateRow | undefined {
  return db.select().from(taskTemplates).where(eq(taskTemplates.name, name)).get();
}

/** Inserts a template; a duplicate name is a `ConflictError`. */
export function insertTemplate(db: Executor, row: NewTemplateRow & { createdAt: number }): TemplateRow {
  try {
    return db
      .insert(taskTemplates)
      .values({ ...row, updatedAt: row.createdAt })
      .returning()
      .get();
  } catch (error) {
    nameTaken(error, row.name);
  }
}

/** Changes some fields; `NotFoundError` for an unknown id, `ConflictError` for a taken name. */
export function updateTemplate(
  db: Executor,
  input: {
    id: string;
    set: Partial<Pick<NewTemplateRow, "name" | "description" | "promptTemplate" | "capability" | "priority">>;
    now: number;
  },
): TemplateRow {
  let row: TemplateRow | undefined;
  try {
    row = db
      .update(taskTemplates)
      .set({ ...input.set, updatedAt: input.now })
      .where(eq(taskTemplates.id, input.id))
      .returning()
      .get();
  } catch (error) {
    nameTaken(error, input.set.name);
  }
  if (!row) throw new NotFoundError("template", input.id);
  return row;
}

/** Deletes a template; false when there was none. */
export function deleteTemplate(db: Executor, id: string): boolean {
  return db.delete(taskTemplates).where(eq(taskTemplates.id, id)).run().changes > 0;
}

/**
 * Inserts `seeds` on a database's first run, recognised as "no template and no task yet": a
 * template an operator deleted later is not resurrected by the next start. Names that exist are
 * skipped (two processes starting at once insert each seed once). Returns how many were inserted.
 */
export function seedTemplatesOnFirstRun(db: Executor, seeds: readonly NewTemplateRow[], now: number): number {
  return db.transaction(
    (tx) => {
      const anyTemplate = tx.select({ one: sql`1` }).from(taskTemplates).limit(1).get();
      const anyTask = tx.select({ one: sql`1` }).from(tasks).limit(1).get();
      if (anyTemplate || anyTask) return 0;
      let inserted = 0;
      for (const seed of seeds) {
        inserted += tx
          .insert(taskTemplates)
          .values({ ...seed, createdAt: now, updatedAt: now })
          .onConflictDoNothing()
          .run().changes;
      }
      return inserted;
    },
    { behavior: "immediate" },
  );
}
