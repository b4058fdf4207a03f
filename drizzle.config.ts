import { defineConfig } from "drizzle-kit";

// Only `drizzle-kit generate` reads this file: it diffs src/db/schema.ts against drizzle/ and
// writes SQL. Migrations are applied by scripts/migrate.ts over the same HTTP driver the Worker uses.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
  strict: true,
  verbose: true,
});
