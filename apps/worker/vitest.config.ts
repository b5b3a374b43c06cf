import { definePackageConfig } from "../../vitest.shared.ts";

// End-to-end tests start a mesh and real worker processes; give them room beyond the 20 s default.
export default definePackageConfig({ testTimeout: 60_000 });
