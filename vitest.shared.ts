import { defineConfig } from "vitest/config";

/**
 * Shared vitest preset. Tests read workspace packages from TypeScript source through the
 * `@m3shd/source` export condition, so no package needs building before its dependents' tests.
 */
export function definePackageConfig(overrides: { testTimeout?: number; include?: string[] } = {}) {
  return defineConfig({
    resolve: { conditions: ["@m3shd/source", "import", "module", "node", "default"] },
    ssr: { resolve: { conditions: ["@m3shd/source", "import", "module", "node", "default"] } },
    test: {
      include: overrides.include ?? ["src/**/*.test.ts", "test/**/*.test.ts"],
      testTimeout: overrides.testTimeout ?? 20_000,
      hookTimeout: 30_000,
      pool: "forks",
    },
  });
}
