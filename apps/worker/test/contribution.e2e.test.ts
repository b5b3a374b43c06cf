import { seededRandom } from "@m3shd/hub";
import {
  type LedgerEntry,
  LedgerListResponseSchema,
  LedgerSummaryResponseSchema,
  NodeKeyListResponseSchema,
  type Receipt,
  ReceiptSchema,
  type Task,
} from "@m3shd/protocol";
import { describe, expect, it } from "vitest";
import { spawnWorker, type TestMesh, tempDir, testMesh, until, WORKER_ENV, workerArgs } from "./helpers";

/**
 * Verifiable contribution with real `m3shd-worker` processes: identities made by
 * `m3shd-worker init`, signed results, validation by recomputation with adaptive replication,
 * the credit ledger and receipts (docs/contribution.md).
 */

const SEED = 20261208;

/** `m3shd-worker init` in a fresh M3SHD_HOME; resolves with that home and the key id. */
async function initNode(id: string): Promise<{ home: string; keyId: string; publicKey: string }> {
  const home = tempDir(`m3shd-home-${id}-`);
  const init = spawnWorker(["init", "--id", id, "--json"], { M3SHD_HOME: home });
  const { code } = await init.exited;
  expect(code, init.stderr()).toBe(0);
  const line = init.logs.at(-1) as { created: boolean; key_id: string; public_key: string; path: string };
  expect(line).toMatchObject({ created: true, path: `${home}/identity.json` });
  return { home, keyId: line.key_id, publicKey: line.public_key };
}

/** A real jobs worker serving `capabilities`, signing with the identity under `home` (if any). */
function jobsWorker(t: TestMesh, id: string, capabilities: string, env: Record<string, string> = {}) {
  return spawnWorker(
    workerArgs(t, id, ["--provider", "jobs", "--capabilities", capabilities, "--slots", "1"]),
    { ...WORKER_ENV, ...env },
  );
}

async function ledger(t: TestMesh, query = ""): Promise<LedgerEntry[]> {
  const res = await t.api.call("GET", `/api/ledger?limit=500${query}`);
  expect(res.status).toBe(200);
  return LedgerListResponseSchema.parse(res.body).entries;
}

async function receipt(t: TestMesh, taskId: string): Promise<Receipt> {
  const res = await t.api.call("GET", `/api/tasks/${taskId}/receipt`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return ReceiptSchema.parse(res.body);
}

const statsTask = (text: string) => ({
  prompt: JSON.stringify({ job_type: "text_stats", payload: { text } }),
  required_capability: "text_stats",
});

describe("verifiable contribution with real worker processes", () => {
  it("a node returning a wrong text_stats result is caught in probation, earns 0, and the job is credited elsewhere", async () => {
    const t = await testMesh("embedded", { hub: { contribution: { random: seededRandom(SEED) } } });
    const bad = await initNode("bad-node");
    const badWorker = jobsWorker(t, "bad-node", "text_stats", {
      M3SHD_HOME: bad.home,
      M3SHD_TEST_CORRUPT_RESULTS: "text_stats",
    });
    await badWorker.waitForLog("registered with the hub");
    const task = await t.api.createTask(statsTask("Two words. Three more words."));

    // The bad node's signed result is recomputed (probation), found different, and invalidated.
    const invalid = await until(
      async () => (await ledger(t, "&node=bad-node")).find((e) => e.task_id === task.id),
      20_000,
      "the bad node's ledger entry",
    );
    expect(invalid).toMatchObject({
      outcome: "invalid",
      units: 0,
      signed: true,
      key_id: bad.keyId,
      validation: {
        method: "recompute",
        checked_by: "hub-validator",
        streak_before: 0,
        check_probability: 1,
      },
    });
    expect(invalid.validation.reason).toMatch(/^probation 0\/10: output differs from the recomputation/);
    const requeued = await t.api.waitForTask(task.id, (x) => x.status === "queued");
    expect(requeued.error).toMatch(/result invalid/);
    // Its breaker counted the failure.
    expect((await t.api.agent("bad-node"))?.breaker.failures).toBe(1);

    // Another node runs it; the bad node is never given it back.
    const good = await initNode("good-node");
    const goodWorker = jobsWorker(t, "good-node", "text_stats", { M3SHD_HOME: good.home });
    await goodWorker.waitForLog("registered with the hub");
    const done: Task = await t.api.waitForTask(task.id, "done");
    expect(done.assigned_to).toBe("good-node");
    expect(JSON.parse(done.output ?? "{}")).toMatchObject({ job: "text_stats", words: 5, sentences: 2 });

    const r = await receipt(t, task.id);
    expect(r.results.map((x) => [x.agent_id, x.ledger_entry.outcome, x.ledger_entry.units])).toEqual([
      ["bad-node", "invalid", 0],
      ["good-node", "valid", 2],
    ]);
    expect(r.results.every((x) => x.envelope?.signature)).toBe(true);
    const summary = LedgerSummaryResponseSchema.parse((await t.api.call("GET", "/api/ledger/summary")).body);
    expect(summary.nodes).toEqual([
      {
        agent_id: "bad-node",
        units: 0,
        validated: 0,
        invalid: 1,
        unsupported: 0,
        streaks: { text_stats: 0 },
        streak: 0,
      },
      {
        agent_id: "good-node",
        units: 2,
        validated: 1,
        invalid: 0,
        unsupported: 0,
        streaks: { text_stats: 1 },
        streak: 1,
      },
    ]);
    expect(
      badWorker.logs.some(
        (l) =>
          l.msg === "result delivered" && (l.contribution as { outcome?: string })?.outcome === "invalid",
      ),
    ).toBe(true);
  });

  it("after 10 consecutive valid results checks drop to max(floor, 1/n), exactly as the seeded source says", async () => {
    const N = 40;
    const t = await testMesh("embedded", { hub: { contribution: { random: seededRandom(SEED) } } });
    const node = await initNode("steady");
    const w = jobsWorker(t, "steady", "echo", { M3SHD_HOME: node.home });
    await w.waitForLog("registered with the hub");
    for (let i = 0; i < N; i++) await t.api.createTask({ prompt: `item ${i}`, required_capability: "echo" });
    const entries = await until(
      async () => {
        const all = await ledger(t, "&node=steady");
        return all.length === N ? all : null;
      },
      60_000,
      `${N} ledger entries`,
    );
    // The same seeded source, drawn only after probation, predicts every decision.
    const draw = seededRandom(SEED);
    const expected = entries.map((_, n) => {
      if (n < 10) return "recompute";
      return draw() < Math.max(0.05, 1 / n) ? "recompute" : "adaptive_trust";
    });
    expect(entries.map((e) => e.validation.method)).toEqual(expected);
    expect(entries.map((e) => e.validation.streak_before)).toEqual(entries.map((_, n) => n));
    expect(
      entries.slice(0, 10).every((e) => e.outcome === "valid" && e.validation.check_probability === 1),
    ).toBe(true);
    const checksAfter = expected.slice(10).filter((m) => m === "recompute").length;
    expect(checksAfter).toBeLessThan(N - 10); // it really dropped
    expect(entries.filter((e) => e.outcome === "trusted").length).toBe(N - 10 - checksAfter);
    // Every result, checked or trusted, earned echo's 1 unit.
    expect(entries.reduce((s, e) => s + e.units, 0)).toBe(N);
  });

  it("refuses a result with a bad signature, and one signed by a revoked key", async () => {
    const t = await testMesh("embedded");
    const forger = await initNode("forger");
    const fw = jobsWorker(t, "forger", "echo", {
      M3SHD_HOME: forger.home,
      M3SHD_TEST_CORRUPT_SIGNATURE: "1",
    });
    await fw.waitForLog("registered with the hub");
    const forged = await t.api.createTask({
      prompt: "forge me",
      required_capability: "echo",
      assign_to: "forger",
    });
    const refusal = await fw.waitForLog((l) => l.msg === "the hub says the task moved on; result dropped");
    expect(String(refusal.err)).toMatch(/Result refused: the signature does not verify/);
    expect((await t.api.task(forged.id)).status).toBe("running");
    expect(await ledger(t)).toEqual([]);
    fw.child.kill("SIGKILL");

    const honest = await initNode("honest");
    const hw = jobsWorker(t, "honest", "text_chunk", { M3SHD_HOME: honest.home });
    await hw.waitForLog("registered with the hub");
    const first = await t.api.createTask({ prompt: "one chunk", required_capability: "text_chunk" });
    expect((await t.api.waitForTask(first.id, "done")).assigned_to).toBe("honest");
    const keys = NodeKeyListResponseSchema.parse(
      (await t.api.call("GET", "/api/agents/honest/keys")).body,
    ).keys;
    expect(keys.map((k) => [k.key_id, k.status])).toEqual([[honest.keyId, "active"]]);
    const revoked = await t.api.call("POST", `/api/agents/honest/keys/${honest.keyId}/revoke`, {
      reason: "lost laptop",
    });
    expect(revoked.status).toBe(200);
    const second = await t.api.createTask({ prompt: "two chunks", required_capability: "text_chunk" });
    const refused = await hw.waitForLog(
      (l) => l.msg === "the hub says the task moved on; result dropped" && l.task_id === second.id,
    );
    expect(String(refused.err)).toMatch(new RegExp(`key ${honest.keyId} was revoked`));
    expect((await ledger(t)).map((e) => e.task_id)).toEqual([first.id]);
  });

  it("the seed's manifest jobs run through the mesh in the seed's shapes, and their units are the hand-computed ones", async () => {
    const t = await testMesh("embedded");
    const node = await initNode("seed-node");
    const w = jobsWorker(t, "seed-node", "echo,text_stats,keyword_extract,text_chunk,text_embed", {
      M3SHD_HOME: node.home,
    });
    await w.waitForLog("registered with the hub");
    const text = "The mesh runs jobs. The mesh checks jobs by recomputing them, and credits the node.";
    const manifest = [
      { job_type: "echo", payload: { text: "hello mesh" } },
      { job_type: "text_stats", payload: { text } },
      { job_type: "keyword_extract", payload: { text, limit: 5 } },
      { job_type: "text_chunk", payload: { text, max_chars: 24 } },
      { job_type: "text_embed", payload: { text, dimensions: 8 } },
    ];
    const created = [];
    for (const job of manifest)
      created.push(
        await t.api.createTask({ prompt: JSON.stringify(job), required_capability: job.job_type }),
      );
    const done = await Promise.all(created.map((c) => t.api.waitForTask(c.id, "done", 30_000)));
    const out = done.map((d) => d.output ?? "");

    expect(out[0]).toBe("hello mesh");
    expect(out[1]).toBe(
      '{"job":"text_stats","chars":83,"bytes":83,"words":15,"unique_words":11,"lines":1,"sentences":2,"paragraphs":1,"avg_word_length":4.4}',
    );
    const keywords = JSON.parse(out[2] ?? "");
    expect(keywords.keywords.map((k: { term: string }) => k.term)).toEqual([
      "mesh",
      "jobs",
      "runs",
      "checks",
      "recomputing",
    ]);
    const chunks = JSON.parse(out[3] ?? "");
    expect(chunks.max_chars).toBe(24);
    expect(chunks.chunks.map((c: { text: string }) => c.text).join("")).toBe(text);
    expect(chunks.chunks.every((c: { text: string }) => c.text.length <= 24)).toBe(true);
    expect(chunks.chunks.map((c: { text: string }) => c.text)).toEqual([
      "The mesh runs jobs. ",
      "The mesh checks jobs by ",
      "recomputing them, and ",
      "credits the node.",
    ]);
    const embed = JSON.parse(out[4] ?? "");
    expect(Object.keys(embed)).toEqual(["dimensions", "token_count", "unique_terms", "vector"]);
    expect(embed).toMatchObject({ dimensions: 8, token_count: 15, unique_terms: 11 });
    expect(embed.vector).toEqual([3, 0, 1, 5, 0, 3, 1, 2]);

    // The seed's rules by hand:
    //   echo                                   → 1
    //   text_stats: output is 132 characters   → 1 + floor(132 / 100) = 2
    //   keyword_extract: 5 unique keywords     → 1 + floor(5 / 5)     = 2
    //   text_chunk: 4 chunks                   → 1 + floor(4 / 2)     = 3
    //   text_embed: 15 tokens, 8 dimensions    → 1 + min(3, floor(15 / 50)) + floor(8 / 32) = 1
    //   total                                                          = 9
    expect(out[1]?.length).toBe(132);
    const byHand = [1, 2, 2, 3, 1];
    const entries = await ledger(t, "&node=seed-node");
    const unitsByTask = new Map(entries.map((e) => [e.task_id, e.units]));
    expect(created.map((c) => unitsByTask.get(c.id))).toEqual(byHand);
    const summary = LedgerSummaryResponseSchema.parse((await t.api.call("GET", "/api/ledger/summary")).body);
    expect(summary.total_units).toBe(9);
    expect(entries.every((e) => e.outcome === "valid" && e.signed)).toBe(true);
  });
});
