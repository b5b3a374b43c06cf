import { describe, expect, it } from "vitest";
import { MODES, sse, type TaskJson, testMesh, until } from "./helpers";

describe.each(MODES)("core loop (%s)", (mode) => {
  it("gives three agents only matching work and never more than their slots", async () => {
    const mesh = await testMesh(mode);
    const { api } = mesh;
    const agents = {
      "a-research": ["research"],
      "b-code": ["code", "review"],
      "c-both": ["research", "code"],
    };
    const slots: Record<string, number> = { "a-research": 1, "b-code": 2, "c-both": 3 };
    for (const [id, caps] of Object.entries(agents))
      expect((await api.register(id, caps, slots[id])).status).toBe(200);

    const created: TaskJson[] = [];
    for (let i = 0; i < 12; i++)
      created.push(
        await api.createTask({
          required_capability: i % 3 === 0 ? "review" : i % 3 === 1 ? "research" : "code",
        }),
      );

    // With no agent polling, nothing completes: the dispatcher may assign only up to each agent's slots.
    await until(
      async () => {
        const res = await api.call<{ tasks: TaskJson[] }>("GET", "/api/tasks?status=assigned&limit=500");
        return res.body.tasks.length === 6;
      },
      10_000,
      "6 assignments (1 + 2 + 3 slots)",
    );
    const assigned = (await api.call<{ tasks: TaskJson[] }>("GET", "/api/tasks?status=assigned&limit=500"))
      .body.tasks;
    const perAgent = new Map<string, number>();
    for (const t of assigned) {
      const agent = t.assigned_to ?? "";
      perAgent.set(agent, (perAgent.get(agent) ?? 0) + 1);
      expect(agents[agent as keyof typeof agents]).toContain(t.required_capability);
      expect(t.assignment?.winner).toBe(agent);
    }
    for (const [agent, n] of perAgent) expect(n).toBeLessThanOrEqual(slots[agent] ?? 0);

    // Drain: each agent works its queue; every task ends done, by a capable agent.
    const done = new Set<string>();
    const work = async (agent: string) => {
      while (done.size < created.length) {
        const task = await api.next(agent, 1);
        if (!task) continue;
        expect(agents[agent as keyof typeof agents]).toContain(task.required_capability);
        expect((await api.complete(agent, task.id, `out:${task.id}`)).status).toBe(200);
        done.add(task.id);
      }
    };
    await Promise.all(Object.keys(agents).map(work));
    for (const t of created) {
      const final = await api.task(t.id);
      expect(final.status).toBe("done");
      expect(final.output).toBe(`out:${t.id}`);
    }
    const listed = await api.call<{ agents: { id: string; active_tasks: number; status: string }[] }>(
      "GET",
      "/api/agents",
    );
    expect(listed.body.agents.map((a) => [a.id, a.active_tasks])).toEqual([
      ["a-research", 0],
      ["b-code", 0],
      ["c-both", 0],
    ]);
  });

  it("answers a parked long-poll within milliseconds of assignment", async () => {
    const { api } = await testMesh(mode);
    await api.register("poller", ["echo"], 1);
    const polled = api.next("poller", 10);
    await new Promise((r) => setTimeout(r, 100)); // let the poll park
    const created = await api.createTask({});
    const task = await polled;
    expect(task?.id).toBe(created.id);
    expect(task?.status).toBe("running");
    const full = await api.task(created.id);
    const lag = (full.started_at as number) - (full.assigned_at as number);
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(250);
  });

  it("opens a breaker after 3 failures and closes it after a half-open success", async () => {
    const { api } = await testMesh(mode);
    await api.register("flaky", ["echo"], 1);
    for (let i = 0; i < 3; i++) {
      const created = await api.createTask({ max_attempts: 1 });
      const task = await api.next("flaky", 5);
      expect(task?.id).toBe(created.id);
      expect((await api.fail("flaky", created.id, `boom ${i}`)).status).toBe(200);
      expect((await api.task(created.id)).status).toBe("failed");
    }
    const agent = async () =>
      (
        await api.call<{ agent: { breaker: { state: string; failures: number } } }>(
          "GET",
          "/api/agents/flaky",
        )
      ).body.agent;
    expect((await agent()).breaker).toMatchObject({ state: "open", failures: 3 });

    // While open nothing is assigned; after the (400 ms) cool-down one probe goes through.
    const probe = await api.createTask({});
    expect((await api.task(probe.id)).status).toBe("queued");
    const got = await api.next("flaky", 5);
    expect(got?.id).toBe(probe.id);
    expect((await agent()).breaker.state).toBe("half_open");
    // Only one probe while half-open.
    const second = await api.createTask({});
    await new Promise((r) => setTimeout(r, 300));
    expect((await api.task(second.id)).status).toBe("queued");
    expect((await api.complete("flaky", probe.id, "ok")).status).toBe(200);
    expect((await agent()).breaker).toMatchObject({ state: "closed", failures: 0 });
    expect((await api.next("flaky", 5))?.id).toBe(second.id);
  });

  it("requeues a dead agent's task and lets another agent finish it", async () => {
    const { api } = await testMesh(mode);
    await api.register("doomed", ["echo"], 1);
    const created = await api.createTask({});
    const task = await api.next("doomed", 5);
    expect(task?.id).toBe(created.id);
    // "doomed" goes silent; a healthy agent joins and keeps polling (which keeps it alive).
    await api.register("healthy", ["echo"], 1);
    const rescued = await until(() => api.next("healthy", 1), 10_000, "requeued task reaches healthy");
    expect(rescued.id).toBe(created.id);
    expect(rescued.attempts).toBe(2);
    expect((await api.complete("healthy", created.id, "rescued")).status).toBe(200);
    const doomed = await api.call<{ agent: { status: string } }>("GET", "/api/agents/doomed");
    expect(doomed.body.agent.status).toBe("offline");
    // The dead agent's late completion is refused: the task is no longer its own.
    expect((await api.complete("doomed", created.id, "late")).status).toBe(403);
    expect((await api.task(created.id)).output).toBe("rescued");
  });

  it("streams every event in order over SSE and resumes with Last-Event-ID", async () => {
    const mesh = await testMesh(mode);
    const { api } = mesh;
    const first = await sse(mesh.url, mesh.masterToken);
    await api.register("streamer", ["echo"], 1);
    const created = await api.createTask({});
    const task = await api.next("streamer", 5);
    expect(task?.id).toBe(created.id);
    await api.call(
      "POST",
      `/api/tasks/${created.id}/stream`,
      { content: "hel", seq: 0, attempt: 1 },
      { "x-m3shd-agent": "streamer" },
    );
    await api.call(
      "POST",
      `/api/tasks/${created.id}/stream`,
      { content: "lo", seq: 1, attempt: 1 },
      { "x-m3shd-agent": "streamer" },
    );
    await api.complete("streamer", created.id, "hello");
    await until(
      () => first.events.some((e) => e.type === "provenance_appended"),
      5000,
      "provenance_appended",
    );
    // Agent status events interleave (online/busy as slots fill and free); the task's are exact and ordered.
    const types = first.events.map((e) => e.type);
    expect(types[0]).toBe("agent_online");
    expect(types.filter((t) => t !== "agent_online" && t !== "agent_busy")).toEqual([
      "task_created",
      "task_assigned",
      "task_started",
      "task_chunk",
      "task_chunk",
      "task_completed",
      "provenance_appended",
    ]);
    const chunks = first.events
      .filter((e) => e.type === "task_chunk")
      .map((e) => (e.data as { content: string }).content);
    expect(chunks.join("")).toBe("hello");
    // Frame ids equal event ids, in arrival order.
    expect(first.frames.filter((f) => f.id).map((f) => f.id)).toEqual(first.events.map((e) => e.id));

    // Resume after the task_started event: the replay gives exactly what followed it.
    const startedIdx = first.events.findIndex((e) => e.type === "task_started");
    const resumed = await sse(mesh.url, mesh.masterToken, {
      lastEventId: first.events[startedIdx]?.id ?? "",
    });
    await until(() => resumed.events.length >= first.events.length - startedIdx - 1, 5000, "replay");
    expect(resumed.events.map((e) => e.id)).toEqual(first.events.slice(startedIdx + 1).map((e) => e.id));
    // An unknown id says so with a gap comment.
    const gap = await sse(mesh.url, mesh.masterToken, { lastEventId: "evt_unknown" });
    expect(gap.frames[0]?.comment).toBe("gap");
  });

  it("signs results into a chain and a Merkle log, and detects a tampered output", async () => {
    const mesh = await testMesh(mode);
    const { api } = mesh;
    await api.register("signer", ["echo"], 1);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await api.createTask({ prompt: `p${i}` });
      const task = await api.next("signer", 5);
      expect(task?.id).toBe(created.id);
      await api.complete("signer", created.id, `result ${i}`);
      ids.push(created.id);
    }
    const proof = await api.call<{
      verdict: { ok: boolean; index?: number; reason?: string };
      chain: { hash: string }[];
      merkle: { leaf_index: number; tree_size: number; root: string; proof: string[] };
    }>("GET", `/api/tasks/${ids[1]}/provenance`);
    expect(proof.status).toBe(200);
    expect(proof.body.verdict).toEqual({ ok: true });
    // Each result appends two leaves (its provenance link, then its ledger entry).
    expect(proof.body.merkle).toMatchObject({ leaf_index: 2, tree_size: 6 });
    const { hashLeaf, verifyInclusion } = await import("@m3shd/crypto");
    const chainHash = proof.body.chain[0]?.hash ?? "";
    const included = verifyInclusion({
      leafIndex: 2,
      treeSize: 6,
      leafHash: hashLeaf(Buffer.from(chainHash, "hex")),
      proof: proof.body.merkle.proof.map((h) => Buffer.from(h, "hex")),
      root: Buffer.from(proof.body.merkle.root, "hex"),
    });
    expect(included).toEqual({ ok: true });
    const root = await api.call<{ size: number; root: string }>("GET", "/api/provenance/root");
    expect(root.body).toEqual({ size: 6, root: proof.body.merkle.root });
    const consistency = await api.call<{ proof: string[]; root_from: string; root_to: string }>(
      "GET",
      "/api/provenance/consistency?from=2&to=6",
    );
    const { verifyConsistency } = await import("@m3shd/crypto");
    expect(
      verifyConsistency({
        size1: 2,
        size2: 6,
        root1: Buffer.from(consistency.body.root_from, "hex"),
        root2: Buffer.from(consistency.body.root_to, "hex"),
        proof: consistency.body.proof.map((h) => Buffer.from(h, "hex")),
      }),
    ).toEqual({ ok: true });

    // Someone edits an output in the database behind the hub's back.
    mesh.hub.ctx.database.sqlite.prepare("UPDATE tasks SET output = ? WHERE id = ?").run("forged", ids[1]);
    const tampered = await api.call<{ verdict: { ok: boolean; index?: number; reason?: string } }>(
      "GET",
      `/api/tasks/${ids[1]}/provenance`,
    );
    expect(tampered.body.verdict).toEqual({ ok: false, index: 0, reason: "output_hash_mismatch" });
  });
});
