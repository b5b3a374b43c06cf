import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Spool, type SpoolRecord, spoolFileName } from "./spool";

const TASK_A = "task_01JAAAAAAAAAAAAAAAAAAAAAAA";
const TASK_B = "task_01JBBBBBBBBBBBBBBBBBBBBBBB";

function record(taskId: string, createdAt: number, output = "out"): SpoolRecord {
  return {
    version: 1,
    kind: "complete",
    task_id: taskId,
    agent_id: "w",
    attempt: 1,
    created_at: createdAt,
    body: { status: "done", output, attempt: 1, usage: { input_tokens: 1, output_tokens: 2 } },
  };
}

async function freshSpool(): Promise<Spool> {
  const spool = new Spool(join(mkdtempSync(join(tmpdir(), "m3shd-spool-")), "spool"));
  await spool.init();
  return spool;
}

describe("Spool", () => {
  it("writes records as private JSON files and lists them oldest first", async () => {
    const spool = await freshSpool();
    await spool.put(record(TASK_B, 2000));
    const fileA = await spool.put(record(TASK_A, 1000));
    expect(fileA).toBe(`${TASK_A}.1.complete.json`);
    const listed = await spool.list();
    expect(listed.map((e) => e.record.task_id)).toEqual([TASK_A, TASK_B]);
    expect(statSync(join(spool.dir, fileA)).mode & 0o777).toBe(0o600);
    expect(statSync(spool.dir).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(join(spool.dir, fileA), "utf8")).body.output).toBe("out");
    // Nothing but the records (and the dead-letter folder): the temp file was renamed into place.
    expect(readdirSync(spool.dir).sort()).toEqual([fileA, `${TASK_B}.1.complete.json`, "dead"].sort());
  });

  it("re-spooling the same task attempt overwrites, never duplicates", async () => {
    const spool = await freshSpool();
    await spool.put(record(TASK_A, 1000, "first"));
    await spool.put(record(TASK_A, 1001, "second"));
    const listed = await spool.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]?.record.body).toMatchObject({ output: "second" });
  });

  it("removes delivered records and quarantines unreadable ones", async () => {
    const spool = await freshSpool();
    const file = await spool.put(record(TASK_A, 1));
    writeFileSync(join(spool.dir, "garbage.json"), "{not json");
    writeFileSync(
      join(spool.dir, `${TASK_B}.1.complete.json`),
      JSON.stringify({ ...record(TASK_B, 2), body: { status: "weird" } }),
    );
    const listed = await spool.list();
    expect(listed.map((e) => e.file)).toEqual([file]);
    expect(readdirSync(join(spool.dir, "dead")).sort()).toEqual(
      ["garbage.json", `${TASK_B}.1.complete.json`].sort(),
    );
    await spool.remove(file);
    await spool.remove(file); // idempotent
    expect(await spool.count()).toBe(0);
  });

  it("clears temp files left by a crash mid-write", async () => {
    const spool = await freshSpool();
    writeFileSync(join(spool.dir, `.${spoolFileName(record(TASK_A, 1))}.abc.tmp`), '{"partial');
    await spool.init();
    expect(readdirSync(spool.dir)).toEqual(["dead"]);
  });

  it("refuses to spool a record the hub would reject", async () => {
    const spool = await freshSpool();
    await expect(spool.put({ ...record(TASK_A, 1), task_id: "not-a-task" })).rejects.toThrow();
  });
});
