import { mergeConfig } from "vitest/config";
import { definePackageConfig } from "../../vitest.shared.ts";

// Browser tests start a real mesh, a real worker process and a real Chromium: slower than units,
// and one file at a time so two Chromiums never compete for the machine's two cores.
export default mergeConfig(definePackageConfig({ testTimeout: 60_000 }), {
  test: { globalSetup: ["test/global-setup.ts"], fileParallelism: false },
});
