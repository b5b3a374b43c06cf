import {
  DEPENDENT_TASK_MARKER,
  PARENT_OUTPUTS_HEADER,
  type PipelineResponse,
  utf8ByteLength,
} from "@m3shd/protocol";
import { describe, expect, it } from "vitest";
import { MODES, sse, type TaskJson, testMesh, until } from "./helpers";

const step = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  title: name,
  prompt: `do ${name}`,
  required_capability: "echo",
  ...extra,
});

describe.each(MODES)("workflows (%s)", (mode) => {
  it("runs research → summarize → notify, each step receiving the previous step's output", async () => {
    const { api } = await testMesh(mode);
    await api.register("researcher", ["research"]);
    await api.register("summarizer", ["summarize"]);
    await api.register("notifier", ["notify"]);
    const created = await api.call<PipelineResponse>("POST", "/api/pipelines", {
      name: "tidal report",
      steps: [
        { name: "research", template: "Research", variables: { topic: "tidal power" } },
        { name: "summarize", template: "Summarize", variables: { target: "the research above" } },
        {
          name: "notify",
          title: "Notify",
          prompt: "Post the summary to #ops.",
          required_capability: "notify",
        },
      ],
    });
    expect(created.status).toBe(201);
    const [research, summarize, notify] = created.body.steps.map((s) => s.task_id);

    const r = await api.next("researcher", 5);
    expect(r?.id).toBe(research);
    expect(r?.composed_prompt).toContain("Research tidal power.");
    expect((await api.complete("researcher", research as string, "Tides move 2 TW of energy.")).status).toBe(
      200,
    );

    const s = await api.next("summarizer", 5);
    expect(s?.id).toBe(summarize);
    expect(s?.composed_prompt).toBe(
      `${PARENT_OUTPUTS_HEADER}\n\n=== Research (${research}) ===\nTides move 2 TW of energy.\n\n${DEPENDENT_TASK_MARKER}\nSummarize the research above: the main points in a few short paragraphs, then a one-line TL;DR.`,
    );
    expect((await api.complete("summarizer", summarize as string, "Tides: big, steady.")).status).toBe(200);

    const n = await api.next("notifier", 5);
    expect(n?.id).toBe(notify);
    expect(n?.composed_prompt).toContain(`=== Summarize (${summarize}) ===\nTides: big, steady.`);
    expect(n?.composed_prompt).not.toContain("2 TW"); // only direct parents are injected
    expect(String(n?.composed_prompt).endsWith("Post the summary to #ops.")).toBe(true);
    expect((await api.complete("notifier", notify as string, "posted")).status).toBe(200);

    const pipeline = await api.call<PipelineResponse>("GET", `/api/pipelines/${created.body.pipeline_id}`);
    expect(pipeline.body.tasks.map((t) => t.status)).toEqual(["done", "done", "done"]);
    const proof = await api.call<{ verdict: { ok: boolean }; chain: unknown[] }>(
      "GET",
      `/api/tasks/${notify}/provenance`,
    );
    expect(proof.body.verdict).toEqual({ ok: true });
    expect(proof.body.chain).toHaveLength(3);
  });

  it("a diamond waits for both parents; a cycle is refused", async () => {
    const { api } = await testMesh(mode);
    await api.register("w", ["echo"], 4);
    const created = await api.call<PipelineResponse>("POST", "/api/pipelines", {
      mode: "dag",
      steps: [
        step("top"),
        step("left", { depends_on: ["top"] }),
        step("right", { depends_on: ["top"] }),
        step("sink", { depends_on: ["left", "right"] }),
      ],
    });
    expect(created.status).toBe(201);
    const [top, left, right, sink] = created.body.steps.map((s) => s.task_id as string);
    expect((await api.next("w", 5))?.id).toBe(top);
    await api.complete("w", top as string, "T");
    const middle = [await api.next("w", 5), await api.next("w", 5)].map((t) => t?.id).sort();
    expect(middle).toEqual([left, right].sort());
    await api.complete("w", left as string, "L");
    expect((await api.task(sink as string)).status).toBe("waiting");
    await api.complete("w", right as string, "R");
    const last = await api.next("w", 5);
    expect(last?.id).toBe(sink);
    expect(last?.composed_prompt).toContain(`=== left (${left}) ===\nL\n\n=== right (${right}) ===\nR`);

    const cycle = await api.call<{ error: { code: string; details: { cycle: string[] } } }>(
      "POST",
      "/api/pipelines",
      { mode: "dag", steps: [step("a", { depends_on: ["b"] }), step("b", { depends_on: ["a"] })] },
    );
    expect(cycle.status).toBe(409);
    expect(cycle.body.error.details.cycle).toEqual(["a", "b", "a"]);
    // Through existing tasks, the recursive CTE refuses it.
    const closing = await api.call("POST", `/api/tasks/${top}/dependencies`, { depends_on: [sink] });
    expect(closing.status).toBe(409);
  });

  it("a failed parent cancels every waiting descendant", async () => {
    const mesh = await testMesh(mode);
    const { api } = mesh;
    const stream = await sse(mesh.url, mesh.masterToken, { query: "types=task_cancelled" });
    await api.register("w", ["echo"]);
    const created = await api.call<PipelineResponse>("POST", "/api/pipelines", {
      steps: [step("a", { max_attempts: 1 }), step("b"), step("c"), step("d")],
    });
    const [a, ...rest] = created.body.steps.map((s) => s.task_id);
    expect((await api.next("w", 5))?.id).toBe(a);
    await api.fail("w", a as string, "model refused");
    for (const id of rest) {
      expect(await api.task(id as string)).toMatchObject({
        status: "cancelled",
        error: `dependency ${a} failed`,
      });
    }
    await until(() => stream.events.length === 3, 5000, "three task_cancelled events");
    expect(stream.events.map((e) => e.data)).toEqual(
      rest.map((id) => ({
        task_id: id,
        reason: `dependency ${a} failed`,
        cancelled_by: "system",
        cause_task_id: a,
      })),
    );
  });

  it("deep chains (60 levels) and wide fan-in (100 parents) run to completion", async () => {
    const { api } = await testMesh(mode);
    await api.register("w", ["echo"], 128);
    const deep = await api.call<PipelineResponse>("POST", "/api/pipelines", {
      steps: Array.from({ length: 60 }, (_, i) => step(`s${i}`)),
    });
    expect(deep.status).toBe(201);
    for (let i = 0; i < 60; i++) {
      const task = (await api.next("w", 5)) as TaskJson;
      expect(task.id).toBe(deep.body.steps[i]?.task_id);
      if (i > 0) expect(task.composed_prompt).toContain(`=== s${i - 1} (`);
      expect((await api.complete("w", task.id, `out ${i}`)).status).toBe(200);
    }
    expect((await api.task(deep.body.steps[59]?.task_id as string)).status).toBe("done");

    const roots = Array.from({ length: 100 }, (_, i) => step(`r${i}`));
    const wide = await api.call<PipelineResponse>("POST", "/api/pipelines", {
      mode: "dag",
      steps: [...roots, step("sink", { depends_on: roots.map((r) => r.name) })],
    });
    expect(wide.status).toBe(201);
    const sinkId = wide.body.steps[100]?.task_id;
    const seen = new Set<string>();
    while (seen.size < 100) {
      const task = (await api.next("w", 5)) as TaskJson;
      expect(task.id).not.toBe(sinkId);
      seen.add(task.id);
      await api.complete("w", task.id, `${task.title} says ${"x".repeat(2000)}`);
    }
    const sink = (await api.next("w", 5)) as TaskJson;
    expect(sink.id).toBe(sinkId);
    for (let i = 0; i < 100; i++) expect(sink.composed_prompt).toContain(`=== r${i} (`);
    // 100 outputs of 2 KB share the 48 KiB budget: each is trimmed, the whole stays bounded.
    expect(sink.composed_prompt).toContain("[… trimmed");
    expect(utf8ByteLength(String(sink.composed_prompt))).toBeLessThan(48 * 1024 + 100 * 100);
  });

  it("templates validate variables; messages stream over SSE", async () => {
    const mesh = await testMesh(mode);
    const { api } = mesh;
    const templates = await api.call<{ templates: { id: string; name: string }[] }>("GET", "/api/templates");
    const research = templates.body.templates.find((t) => t.name === "Research");
    const bad = await api.call<{
      error: { message: string; details: { missing: string[]; extra: string[] } };
    }>("POST", `/api/templates/${research?.id}/dispatch`, { variables: { subject: "x" } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details).toMatchObject({ missing: ["topic"], extra: ["subject"] });
    expect(
      (await api.call("POST", `/api/templates/${research?.id}/dispatch`, { variables: { topic: "x" } }))
        .status,
    ).toBe(201);

    const stream = await sse(mesh.url, mesh.masterToken, { query: "types=message_created" });
    const posted = await api.call<{ message: { id: string } }>("POST", "/api/messages", {
      content: "hello mesh",
      channel: "ops",
    });
    expect(posted.status).toBe(201);
    await until(() => stream.events.length === 1, 5000, "message_created over SSE");
    expect(stream.events[0]?.data).toMatchObject({
      message: { id: posted.body.message.id, content: "hello mesh" },
    });
  });
});
