import { readFileSync } from "node:fs";
import { z } from "zod";

const TRUE_WORDS = ["1", "true", "yes", "on"];
const FALSE_WORDS = ["0", "false", "no", "off"];

/**
 * An on/off environment variable, parsed the same way by every service: `1`/`true`/`yes`/`on` and
 * `0`/`false`/`no`/`off` (any case, surrounding spaces ignored); unset or empty means `fallback`,
 * so `VAR=` in a compose file is the default, never a silent "off". Anything else fails the
 * boot with a message naming the variable (via `parseEnv`). Before this, one variable could mean
 * "off" in one app and "on" in another.
 */
export function envFlag(fallback: boolean) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const v = (raw ?? "").trim().toLowerCase();
      if (v === "") return fallback;
      if (TRUE_WORDS.includes(v)) return true;
      if (FALSE_WORDS.includes(v)) return false;
      ctx.addIssue({
        code: "custom",
        message: `expected one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(", ")} (empty or unset: ${fallback})`,
      });
      return z.NEVER;
    });
}

/**
 * Where a mesh process finds its data and its peers, read alike by hub, dispatcher and the
 * all-in-one mesh (merge into an app's schema: `z.object({ ...MeshStorageEnvShape, … })`).
 */
export const MeshStorageEnvShape = {
  /** Directory of the SQLite file (and, for the hub, generated secrets): the shared data volume. */
  M3SHD_DATA_DIR: z.string().default("./data"),
  /** SQLite file; defaults to `<data dir>/m3shd.db`. */
  M3SHD_DB_PATH: z.string().optional(),
  /** When set, queues, events and liveness go through Redis (split deployment). */
  REDIS_URL: z.string().url().optional(),
  /** Redis key prefix shared by every process of one mesh. */
  M3SHD_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default("m3shd"),
  /** Log level for pino. */
  M3SHD_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
};

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

/**
 * Docker/compose secrets: for each `NAME` in `names`, a set `NAME_FILE` is read (first line,
 * surrounding whitespace dropped) into `NAME`, so a secret mounted at `/run/secrets/…` never has
 * to sit in the environment (which `docker inspect` and `/proc/<pid>/environ` show). Setting both
 * is refused: which one wins would be a guess. Returns a new record; the input is not changed.
 */
export function secretsFromFiles(
  env: Record<string, string | undefined>,
  names: readonly string[],
  read: (path: string) => string = (path) => readFileSync(path, "utf8"),
): Record<string, string | undefined> {
  const out = { ...env };
  for (const name of names) {
    const file = env[`${name}_FILE`];
    if (!file) continue;
    if (env[name]) throw new Error(`Set ${name} or ${name}_FILE, not both`);
    let text: string;
    try {
      text = read(file);
    } catch (err) {
      // The path is configuration, not a secret: name it; never the content.
      throw new Error(
        `${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
    const value = (text.split(/\r?\n/)[0] ?? "").trim();
    if (!value) throw new Error(`${name}_FILE: ${file} is empty`);
    out[name] = value;
  }
  return out;
}
