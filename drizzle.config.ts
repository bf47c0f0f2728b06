import { defineConfig } from "drizzle-kit";

// Generates SQL migrations from db/schema into db/migrations. Applying them is
// `npm run db:migrate`, which uses the same driver selection as the app.
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema/index.ts",
  out: "./db/migrations",
  strict: true,
  verbose: true,
});
