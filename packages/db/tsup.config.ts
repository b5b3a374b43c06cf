import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/backup-cli.ts"],
  format: ["esm", "cjs"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  target: "node20",
  // migrate.ts resolves ../migrations from import.meta.url; the shim gives the CJS build one too.
  shims: true,
});
