import { definePackageConfig } from "../../vitest.shared.ts";

// Browser tests start a real mesh and a real Chromium: slower than unit tests.
export default definePackageConfig({ testTimeout: 60_000 });
