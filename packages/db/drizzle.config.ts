import { defineConfig } from "drizzle-kit";

// `pnpm db:generate` diffs src/schema against migrations/meta and writes the next migration.
// Migrations are only ever produced this way; read the SQL before committing it.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/schema/index.ts",
  out: "./migrations",
  casing: "snake_case",
  strict: true,
  verbose: true,
});
