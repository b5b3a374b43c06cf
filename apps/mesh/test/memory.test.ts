import { describe, expect, it } from "vitest";
import { MODES, type TaskJson, testMesh, until } from "./helpers";

describe.each(MODES)("agent memory through the hub (%s)", (mode) => {
  it("extracts [REMEMBER] blocks from an output and injects them into the agent's next task", async () => {
    const { api } = await testMesh(mode);
    await api.register("scholar", ["research"], 1);
    await api.register("other", ["research"], 1);

    const first = await api.createTask({
      required_capability: "research",
      assign_to: "scholar",
      prompt: "Find the capital",
    });
    const got = await api.next("scholar", 5);
    expect(got?.id).toBe(first.id);
    const output =
      "Done.\n[REMEMBER] capital-of-zanzibarland: Quuxopolis, on the eastern shore [/REMEMBER]\n[REMEMBER] broken block";
    expect((await api.complete("scholar", first.id, output)).status).toBe(200);

    // Extraction runs off the request path (memory.extract job); wait for the stored entry.
    const listed = await until(
      async () => {
        const res = await api.call<{ entries?: { key: string }[] }>("GET", "/api/agents/scholar/memory");
        return res.status === 200 && (res.body.entries?.length ?? 0) > 0 ? res.body : null;
      },
      10_000,
      "memory stored",
    );
    expect(JSON.stringify(listed)).toContain("capital-of-zanzibarland");

    // The next task about Quuxopolis for the same agent starts with the memory block…
    const second = await api.createTask({
      required_capability: "research",
      assign_to: "scholar",
      prompt: "Where is Quuxopolis?",
    });
    const delivered = await api.next("scholar", 5);
    expect(delivered?.id).toBe(second.id);
    expect(delivered?.composed_prompt).toMatch(
      /^\[MEMORY\][\s\S]*Quuxopolis, on the eastern shore[\s\S]*\[\/MEMORY\]\n\nWhere is Quuxopolis\?$/,
    );
    // The stored prompt is what was submitted; the memory block is not stored or shown in the view.
    expect(delivered?.prompt).toBe("Where is Quuxopolis?");
    const full = await api.task(second.id);
    expect(full.prompt).toBe("Where is Quuxopolis?");
    expect(full.composed_prompt).toBe("Where is Quuxopolis?");
    expect(JSON.stringify(full)).not.toContain("eastern shore");
    expect(full.memory).toMatchObject({ status: "injected" });
    expect((full.memory as { chars: number }).chars).toBeGreaterThan(0);
    expect((full.memory as { chars: number }).chars).toBeLessThanOrEqual(2000);
    await api.complete("scholar", second.id, "eastern shore");

    // …and another agent's task does not see it (per-agent isolation).
    const third = await api.createTask({
      required_capability: "research",
      assign_to: "other",
      prompt: "Where is Quuxopolis?",
    });
    const otherTask = (await api.next("other", 5)) as TaskJson;
    expect(otherTask.id).toBe(third.id);
    expect(otherTask.prompt).toBe("Where is Quuxopolis?");
    expect(otherTask.composed_prompt).toBe("Where is Quuxopolis?");
    expect((await api.task(third.id)).memory).toMatchObject({ status: "none", chars: 0 });

    // Search through the hub reaches the memory service under the same auth.
    const search = await api.call("GET", "/api/agents/scholar/memory/search?q=quuxopolis");
    expect(search.status).toBe(200);
    expect(JSON.stringify(search.body)).toContain("capital-of-zanzibarland");
    // Hostile query strings are reduced to safe terms, never an error.
    for (const q of ['"unbalanced', "NEAR(a b", "col:value", "*", "a OR (b", "🦄🦄", "x".repeat(10_000)]) {
      const res = await api.call("GET", `/api/agents/scholar/memory/search?q=${encodeURIComponent(q)}`);
      expect([200, 422], q.slice(0, 20)).toContain(res.status);
    }
  });
});
