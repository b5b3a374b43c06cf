import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  // migrate.ts resolves ../migrations from import.meta.url; the shim gives the CJS build one too.
  shims: true,
});
