import { definePackageConfig } from "../vitest.shared.ts";

// The topology test starts every compose service as a process and runs tasks through them.
export default definePackageConfig({ include: ["test/**/*.test.ts"], testTimeout: 120_000 });
