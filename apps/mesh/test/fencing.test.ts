import {
  CONTINUATION_PROMPT_PREFIX,
  composeTaskPrompt,
  DEPENDENT_TASK_MARKER,
  PARENT_OUTPUTS_HEADER,
  type PromptParts,
  StreamChunkSchema,
} from "@m3shd/protocol";
import { describe, expect, it } from "vitest";
import { MODES, testMesh, until } from "./helpers";

describe.each(MODES)("attempt fencing over HTTP (%s)", (mode) => {
  it("refuses a stale attempt's chunk, completion and handoff with 409; keeps every attempt's chunks", async () => {
    const { api } = await testMesh(mode);
    await api.register("w", ["echo"], 1);
    const h = { "x-m3shd-agent": "w" };
    const created = await api.createTask({ assign_to: "w", max_attempts: 3 });
    const first = await api.claim("w");
    expect(first?.task.id).toBe(created.id);
    expect(first?.attempt).toBe(1);
    expect(first?.task.attempt).toBe(1);
    const stream = (attempt: number, content: string, seq?: number) =>
      api.call(
        "POST",
        `/api/tasks/${created.id}/stream`,
        { content, attempt, ...(seq === undefined ? {} : { seq }) },
        h,
      );
    expect((await stream(1, "a0", 0)).body).toEqual({ attempt: 1, seq: 0, duplicate: false });
    expect((await stream(1, "a1", 1)).body).toEqual({ attempt: 1, seq: 1, duplicate: false });
    expect((await api.fail("w", created.id, "flaky", { attempt: 1 })).status).toBe(200);

    // The dispatcher hands the retry back; the new claim opens attempt 2.
    const second = await api.claim("w", 10);
    expect(second?.task.id).toBe(created.id);
    expect(second?.attempt).toBe(2);
    // Numbering restarts: seq 0 of attempt 2 is new, not a duplicate of attempt 1's seq 0.
    expect((await stream(2, "b0", 0)).body).toEqual({ attempt: 2, seq: 0, duplicate: false });

    // Attempt 1's late writes: chunk, completion, failure, handoff.
    const stale = [
      await stream(1, "late", 2),
      await api.complete("w", created.id, "late result", { attempt: 1 }),
      await api.fail("w", created.id, "late failure", { attempt: 1 }),
      await api.call("POST", `/api/tasks/${created.id}/handoff`, { partial_output: "late", attempt: 1 }, h),
    ];
    for (const res of stale) {
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        error: { code: "stale_attempt", details: { task_id: created.id, attempt: 1, current_attempt: 2 } },
      });
    }
    expect((await api.task(created.id)).status).toBe("running");

    const done = await api.complete("w", created.id, "ok", { attempt: 2 });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ replayed: false, task: { status: "done", output: "ok", attempt: 2 } });
    // The identical completion of the same attempt is still an idempotent replay…
    expect((await api.complete("w", created.id, "ok", { attempt: 2 })).body).toMatchObject({
      replayed: true,
    });
    // …but not from another attempt.
    expect((await api.complete("w", created.id, "ok", { attempt: 1 })).status).toBe(409);

    const all = await api.call<{ chunks: unknown[] }>("GET", `/api/tasks/${created.id}/chunks`);
    expect(all.body.chunks.map((c) => StreamChunkSchema.parse(c))).toEqual([
      { attempt: 1, seq: 0, content: "a0" },
      { attempt: 1, seq: 1, content: "a1" },
      { attempt: 2, seq: 0, content: "b0" },
    ]);
    const second2 = await api.call<{ chunks: unknown[] }>("GET", `/api/tasks/${created.id}/chunks?attempt=2`);
    expect(second2.body.chunks).toEqual([{ attempt: 2, seq: 0, content: "b0" }]);
    const resumed = await api.call<{ chunks: unknown[] }>(
      "GET",
      `/api/tasks/${created.id}/chunks?attempt=1&after=0`,
    );
    expect(resumed.body.chunks).toEqual([{ attempt: 1, seq: 1, content: "a1" }]);
    expect((await api.call("GET", `/api/tasks/${created.id}/chunks?attempt=0`)).status).toBe(422);
    // A write without an attempt is refused at the edge.
    expect(
      (await api.call("PUT", `/api/tasks/${created.id}`, { status: "done", output: "ok" }, h)).status,
    ).toBe(422);
  });

  it("lists a task cancelled under its agent in heartbeats until the agent acknowledges it", async () => {
    const { api } = await testMesh(mode);
    await api.register("w", ["echo"], 2);
    const running = await api.createTask({ assign_to: "w" });
    expect((await api.claim("w"))?.task.id).toBe(running.id);
    // Cancelled before any agent held it: no notice for anyone.
    const queued = await api.createTask({ required_capability: "nobody-has-this" });
    const beat = (ack?: string[]) =>
      api.call<{ cancelled: string[] }>("POST", "/api/agents/w/heartbeat", {
        active_tasks: 1,
        ...(ack ? { cancelled_ack: ack } : {}),
      });
    expect((await beat()).body.cancelled).toEqual([]);
    expect((await api.call("POST", `/api/tasks/${running.id}/cancel`, { reason: "stop" })).status).toBe(200);
    expect((await api.call("POST", `/api/tasks/${queued.id}/cancel`, {})).status).toBe(200);
    // Listed on every heartbeat until acknowledged (a lost response loses nothing)…
    expect((await beat()).body.cancelled).toEqual([running.id]);
    expect((await beat()).body.cancelled).toEqual([running.id]);
    // …and not after. Another agent never sees it; acknowledging ids it never held changes nothing.
    await api.register("x", ["echo"], 1);
    const other = await api.call<{ cancelled: string[] }>("POST", "/api/agents/x/heartbeat", {
      active_tasks: 0,
      cancelled_ack: [running.id],
    });
    expect(other.body.cancelled).toEqual([]);
    expect((await beat([running.id])).body.cancelled).toEqual([]);
    expect((await beat()).body.cancelled).toEqual([]);
  });
});

describe.each(MODES)("the submitted prompt is never rewritten (%s)", (mode) => {
  it("memory, parent outputs and a handoff are parts beside it, composed at pickup", async () => {
    const mesh = await testMesh(mode);
    const { api } = mesh;
    await api.register("scholar", ["research"], 1);

    // A memory for the scholar, extracted from an earlier output.
    const seed = await api.createTask({
      required_capability: "research",
      assign_to: "scholar",
      prompt: "Seed",
    });
    expect((await api.claim("scholar"))?.task.id).toBe(seed.id);
    await api.complete(
      "scholar",
      seed.id,
      "[REMEMBER] quux-capital: Quuxopolis lies on the eastern shore [/REMEMBER]",
    );
    await until(
      async () => {
        const res = await api.call<{ entries?: unknown[] }>("GET", "/api/agents/scholar/memory");
        return (res.body.entries?.length ?? 0) > 0;
      },
      10_000,
      "memory stored",
    );

    // Bytes an editor might "fix": CRLF, tabs, trailing blanks, non-ASCII, a marker look-alike.
    const submitted = `Where is Quuxopolis?\r\n\tAnswer from the parent's notes.  \n${DEPENDENT_TASK_MARKER} ünïcödé 🦄 \n\n`;
    const parent = await api.createTask({
      required_capability: "research",
      assign_to: "scholar",
      title: "Notes",
      prompt: "Take notes on Quuxopolis",
    });
    const child = await api.createTask({
      required_capability: "research",
      assign_to: "scholar",
      title: "Answer",
      prompt: submitted,
      depends_on: [parent.id],
    });
    expect(child.status).toBe("waiting");
    expect((await api.claim("scholar"))?.task.id).toBe(parent.id);
    await api.complete("scholar", parent.id, "Quuxopolis: a port town.");

    // Pickup 1: memory + parents composed in front of the untouched prompt.
    const first = await api.claim("scholar", 10);
    expect(first?.task.id).toBe(child.id);
    const parts1 = first?.task.prompt_parts as PromptParts;
    expect(first?.task.prompt).toBe(submitted);
    expect(parts1.parents).toBe(
      `${PARENT_OUTPUTS_HEADER}\n\n=== Notes (${parent.id}) ===\nQuuxopolis: a port town.\n\n${DEPENDENT_TASK_MARKER}`,
    );
    expect(parts1.memory).toMatchObject({ status: "injected" });
    expect(parts1.memory?.text).toContain("Quuxopolis lies on the eastern shore");
    expect(first?.task.composed_prompt).toBe(`${parts1.memory?.text}\n\n${parts1.parents}\n${submitted}`);

    const handoff = await api.call<{ continuation: { id: string; prompt: string } }>(
      "POST",
      `/api/tasks/${child.id}/handoff`,
      { partial_output: "Half: it is a port.", attempt: first?.attempt },
      { "x-m3shd-agent": "scholar" },
    );
    expect(handoff.status).toBe(201);
    const continuationId = handoff.body.continuation.id;
    expect(handoff.body.continuation.prompt).toBe(submitted);

    // Pickup 2 (the continuation): memory recalled afresh, the handoff chain, parents, prompt.
    const second = await api.claim("scholar", 10);
    expect(second?.task.id).toBe(continuationId);
    const parts2 = second?.task.prompt_parts as PromptParts;
    expect(parts2.handoffs).toEqual([{ task_id: child.id, partial_output: "Half: it is a port." }]);
    expect(parts2.parents).toBe(parts1.parents);
    const memory2 = parts2.memory?.text ?? "";
    expect(memory2).toContain("eastern shore");
    const expected = `${memory2}\n\n${CONTINUATION_PROMPT_PREFIX}\nHalf: it is a port.\n\n---\nORIGINAL TASK:\n${parts1.parents}\n${submitted}`;
    expect(second?.task.composed_prompt).toBe(expected);
    expect(composeTaskPrompt({ prompt: submitted, ...parts2, memory: memory2 })).toBe(expected);

    // Stored: byte for byte what was submitted, and no memory text anywhere in the hub's tasks.
    const sqlite = mesh.hub.ctx.database.sqlite;
    const stored = sqlite
      .prepare("SELECT id, CAST(prompt AS BLOB) AS bytes FROM tasks WHERE id IN (?, ?)")
      .all(child.id, continuationId) as { id: string; bytes: Buffer }[];
    expect(stored).toHaveLength(2);
    for (const row of stored)
      expect(Buffer.compare(row.bytes, Buffer.from(submitted, "utf8")), row.id).toBe(0);
    // (The seed task's own output holds the [REMEMBER] block; every other row must not.)
    const rows = sqlite.prepare("SELECT * FROM tasks WHERE id <> ?").all(seed.id);
    expect(JSON.stringify(rows)).not.toContain("eastern shore");

    // The view: prompt as submitted, the parts, and the composition without the memory block.
    for (const view of [await api.task(continuationId), await api.task(child.id)]) {
      expect(view.prompt).toBe(submitted);
      expect(JSON.stringify(view)).not.toContain("eastern shore");
    }
    const view = await api.task(continuationId);
    expect(view.composed_prompt).toBe(expected.slice(memory2.length + 2));
    expect((view.prompt_parts as PromptParts).memory).toEqual({ status: "injected", chars: memory2.length });
  });
});
