import { defineConfig } from "tsup";

// Builds to plain JavaScript: `node dist/index.js` (the `m3shd` bin) starts without a TypeScript
// loader. Dependencies stay external and load from their own dist.
export default defineConfig({
  entry: ["src/index.ts", "src/lib.ts"],
  format: ["esm"],
  dts: { entry: "src/lib.ts" },
  sourcemap: true,
  clean: true,
  target: "node20",
});
