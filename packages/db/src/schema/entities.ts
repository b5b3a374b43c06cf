import { sql } from "drizzle-orm";
import { check, index, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { columnRef, createdAt, timestamps } from "./columns";

/** Knowledge-graph nodes (people, projects, systems …) that tasks and memories refer to. */
export const entities = sqliteTable(
  "entities",
  {
    id: text().primaryKey(),
    kind: text().notNull(),
    name: text().notNull(),
    attributes: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    ...timestamps(),
  },
  (t) => [uniqueIndex("entities_kind_name_unique").on(t.kind, t.name)],
);

/** Directed, typed edges between entities. */
export const entityRelations = sqliteTable(
  "entity_relations",
  {
    id: text().primaryKey(),
    fromId: text()
      .notNull()
      .references(() => entities.id, { onDelete: "cascade" }),
    toId: text()
      .notNull()
      .references(() => entities.id, { onDelete: "cascade" }),
    relation: text().notNull(),
    attributes: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("entity_relations_from_to_relation_unique").on(t.fromId, t.toId, t.relation),
    index("entity_relations_to_id_idx").on(t.toId),
    check("entity_relations_no_self_check", sql`${columnRef(t.fromId)} <> ${columnRef(t.toId)}`),
  ],
);
