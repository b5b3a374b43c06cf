import { definePackageConfig } from "../../vitest.shared.ts";

export default definePackageConfig({ testTimeout: 60_000 });
