import { definePackageConfig } from "../../vitest.shared.ts";

// The reader tests run a live bridge against chat.db files written by a second connection.
export default definePackageConfig({ testTimeout: 30_000 });
