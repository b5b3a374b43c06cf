import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { CompleteTaskBodySchema, HandoffBodySchema, TaskIdSchema } from "@m3shd/protocol";
import { z } from "zod";

/**
 * One undelivered result. `attempt` is the task's attempt count when this worker picked it up:
 * a stale record must never complete a newer attempt of the same task — the deliverer checks it
 * against the hub before replaying. `lease` is the attempt number the hub issued with the claim
 * (absent when the hub issues none): it goes on the delivered body, so a hub that fences writes
 * by attempt refuses a stale record itself.
 */
export const SpoolRecordSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    version: z.literal(1),
    kind: z.literal("complete"),
    task_id: TaskIdSchema,
    agent_id: z.string(),
    attempt: z.int().min(0),
    lease: z.int().min(1).optional(),
    created_at: z.number(),
    body: CompleteTaskBodySchema,
  }),
  z.strictObject({
    version: z.literal(1),
    kind: z.literal("handoff"),
    task_id: TaskIdSchema,
    agent_id: z.string(),
    attempt: z.int().min(0),
    lease: z.int().min(1).optional(),
    created_at: z.number(),
    body: HandoffBodySchema,
  }),
]);
export type SpoolRecord = z.input<typeof SpoolRecordSchema>;

export interface SpoolEntry {
  /** File name inside the spool directory. */
  file: string;
  record: z.output<typeof SpoolRecordSchema>;
}

const DEAD_DIR = "dead";

/** The file a record lives in: one per task, attempt and kind, so re-spooling overwrites. */
export function spoolFileName(record: Pick<SpoolRecord, "task_id" | "attempt" | "kind">): string {
  return `${record.task_id}.${record.attempt}.${record.kind}.json`;
}

async function fsyncDir(dir: string): Promise<void> {
  // Makes a rename or unlink durable: the directory entry is what a crash would otherwise lose.
  // Not every platform can open a directory for fsync (Windows); there the rename is the best we have.
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Best effort.
  } finally {
    await handle?.close();
  }
}

/**
 * Results that could not be delivered yet, as JSON files. Writes are atomic and durable — write a
 * temp file, fsync it, rename it into place, fsync the directory — so a crash leaves either the
 * old state or the complete new file, never a torn one. A record is removed only once the hub has
 * answered for it definitively. Files that cannot be parsed, or that the hub rejects as invalid,
 * move to `dead/` for an operator to inspect rather than being retried forever or deleted.
 */
export class Spool {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the directory (0700: results may hold sensitive output) and clears stale temp files. */
  async init(): Promise<void> {
    await mkdir(join(this.dir, DEAD_DIR), { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.dir)) {
      if (name.endsWith(".tmp")) await unlink(join(this.dir, name)).catch(() => undefined);
    }
  }

  /** Writes a record durably; returns its file name. */
  async put(record: SpoolRecord): Promise<string> {
    const parsed = SpoolRecordSchema.parse(record);
    const file = spoolFileName(parsed);
    const tmp = join(this.dir, `.${file}.${randomBytes(6).toString("hex")}.tmp`);
    const handle = await open(tmp, "wx", 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(parsed)}\n`, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(this.dir, file));
    await fsyncDir(this.dir);
    return file;
  }

  /** Every readable record, oldest first. Unreadable files are quarantined. */
  async list(): Promise<SpoolEntry[]> {
    const entries: SpoolEntry[] = [];
    for (const file of await readdir(this.dir)) {
      if (!file.endsWith(".json") || file.startsWith(".")) continue;
      let record: SpoolEntry["record"];
      try {
        record = SpoolRecordSchema.parse(JSON.parse(await readFile(join(this.dir, file), "utf8")));
      } catch {
        await this.quarantine(file);
        continue;
      }
      entries.push({ file, record });
    }
    return entries.sort((a, b) => a.record.created_at - b.record.created_at || a.file.localeCompare(b.file));
  }

  /** Deletes a delivered (or definitively refused) record, durably. */
  async remove(file: string): Promise<void> {
    try {
      await unlink(join(this.dir, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    await fsyncDir(this.dir);
  }

  /** Moves a record the hub will never accept to `dead/`. */
  async quarantine(file: string): Promise<void> {
    await rename(join(this.dir, file), join(this.dir, DEAD_DIR, file)).catch(() => undefined);
    await fsyncDir(this.dir);
  }

  /** Records waiting (quarantined ones excluded). */
  async count(): Promise<number> {
    return (await readdir(this.dir)).filter((f) => f.endsWith(".json") && !f.startsWith(".")).length;
  }
}
