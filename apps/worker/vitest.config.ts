import { definePackageConfig } from "../../vitest.shared.ts";

// End-to-end tests start a mesh and real worker processes (each loads its TypeScript through tsx,
// which takes 15-25 s on a loaded 2-core machine): give them room beyond the 20 s default.
export default definePackageConfig({ testTimeout: 120_000 });
