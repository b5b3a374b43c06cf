import type { z } from "zod";

/**
 * Parses an app's environment with its zod schema; on failure throws one readable error listing
 * every bad variable (names and messages only — never the values, which may be secrets).
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
  service: string,
): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid ${service} configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: runs `stop` once (a second signal while stopping is
 * ignored), then exits 0. `stop` closes in dependency order: stop accepting, drain, close queues,
 * close the database.
 */
export function onShutdown(
  logger: { info(obj: object, msg: string): void },
  stop: () => Promise<void> | void,
): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    await stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}
