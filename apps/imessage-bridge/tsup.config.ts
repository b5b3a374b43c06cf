import { defineConfig } from "tsup";

// Apps build to plain JavaScript: `node dist/index.js` starts without a TypeScript loader.
// Dependencies (including @m3shd/* workspace packages) stay external and load from their dist.
export default defineConfig({
  entry: ["src/index.ts", "src/lib.ts"],
  format: ["esm"],
  dts: { entry: "src/lib.ts" },
  sourcemap: true,
  clean: true,
  target: "node20",
});
