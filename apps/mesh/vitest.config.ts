import { mergeConfig } from "vitest/config";
import { definePackageConfig } from "../../vitest.shared.ts";

export default mergeConfig(definePackageConfig(), { test: { globalSetup: ["./test/contract-coverage.ts"] } });
