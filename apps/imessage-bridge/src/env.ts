import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

const list = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().min(2)).min(1, "name at least one handle"));
const ms = (def: number, max?: number) => {
  const n = z.coerce.number().int().min(1);
  return (max ? n.max(max) : n).default(def);
};

/** `m3shd-imessage` configuration, from the environment (launchd plist or shell). */
export const BridgeEnvSchema = z.object({
  /** Hub base URL, e.g. https://mesh.example.com. */
  M3SHD_HUB: z.url().default("http://127.0.0.1:8080"),
  /** Bearer token for the hub (an operator token that may create tasks and read the stream). */
  M3SHD_TOKEN: z.string().min(1).optional(),
  /** Or: a file holding the token (mode 600), so it is not in the plist or `launchctl print`. */
  M3SHD_TOKEN_FILE: z.string().min(1).optional(),
  /** Comma-separated phone numbers (E.164) or Apple ID emails the bridge answers to. */
  M3SHD_IMESSAGE_HANDLES: list,
  /** Messages' database; the watch is on its directory. */
  M3SHD_IMESSAGE_DB: z.string().default(join(homedir(), "Library", "Messages", "chat.db")),
  /** Only attachments under this folder (after resolving symlinks) are ever uploaded. */
  M3SHD_IMESSAGE_ATTACHMENTS: z.string().default(join(homedir(), "Library", "Messages", "Attachments")),
  /** The bridge's own state (cursor, retry queue, outbox). */
  M3SHD_IMESSAGE_DATA_DIR: z
    .string()
    .default(join(homedir(), "Library", "Application Support", "m3shd-imessage")),
  /** Fallback poll interval; always on; at most 3 s. */
  M3SHD_IMESSAGE_POLL_MS: ms(2000, 3000),
  /** How long a new row is held so `is_from_me` can settle. */
  M3SHD_IMESSAGE_SETTLE_MS: ms(500),
  /** Replies per rolling hour; Apple blocked accounts at ~200/h. */
  M3SHD_IMESSAGE_SENDS_PER_HOUR: z.coerce.number().int().min(1).max(150).default(60),
  /** Marks the bridge's own replies (the second echo guard). */
  M3SHD_IMESSAGE_PREFIX: z.string().min(1).default("⟐ "),
  /** Capabilities for `do`, `auto` planning, `auto` subtasks and chat. */
  M3SHD_IMESSAGE_DO_CAPABILITY: z.string().default("general"),
  M3SHD_IMESSAGE_PLAN_CAPABILITY: z.string().default("plan"),
  M3SHD_IMESSAGE_SUBTASK_CAPABILITY: z.string().default("general"),
  M3SHD_IMESSAGE_CHAT_CAPABILITY: z.string().default("chat"),
  /** Inbound retry backoff while the hub is unreachable: first delay, doubling (with jitter) … */
  M3SHD_IMESSAGE_RETRY_BASE_MS: ms(1000),
  /** … up to this; also caps the reply stream's reconnect delay (at 15 s). */
  M3SHD_IMESSAGE_RETRY_MAX_MS: ms(60_000),
  /** First start only: "latest" ignores history, "beginning" replays the whole database. */
  M3SHD_IMESSAGE_START_AT: z.enum(["latest", "beginning"]).default("latest"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type BridgeEnv = z.infer<typeof BridgeEnvSchema>;
