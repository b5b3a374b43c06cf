import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { type FakeProviderServer, startFakeProviderServer } from "@m3shd/providers/fake-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnWorker, testMesh, until, WORKER_ENV, type WorkerProcess, workerArgs } from "./helpers";

const AGENT_CLI = fileURLToPath(new URL("./fixtures/agent-cli.mjs", import.meta.url));
const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

let fake: FakeProviderServer;
beforeAll(async () => {
  // Each vendor's key is checked, so a worker sending the wrong one would fail loudly.
  fake = await startFakeProviderServer({
    apiKeys: ["sk-ant-e2e", "sk-openai-e2e", "xai-e2e", "no-key-required"],
  });
});
afterAll(async () => {
  await fake.close();
});

describe("every provider, end to end, through real m3shd-worker processes", () => {
  it("routes each capability to the right worker, streams, records usage and cost, and signs the result", async () => {
    const t = await testMesh("embedded");
    const workers: Record<string, WorkerProcess> = {
      "w-claude": spawnWorker(
        workerArgs(t, "w-claude", [
          "--capabilities",
          "claude",
          "--provider",
          "anthropic",
          "--model",
          "claude-sonnet-5-5",
          "--base-url",
          fake.url,
        ]),
        { ...WORKER_ENV, ANTHROPIC_API_KEY: "sk-ant-e2e" },
      ),
      "w-codex": spawnWorker(
        workerArgs(t, "w-codex", [
          "--capabilities",
          "codex",
          "--provider",
          "openai",
          "--api",
          "responses",
          "--model",
          "gpt-5.4",
          "--base-url",
          fake.openaiBaseURL,
        ]),
        { ...WORKER_ENV, OPENAI_API_KEY: "sk-openai-e2e" },
      ),
      "w-grok": spawnWorker(
        workerArgs(t, "w-grok", [
          "--capabilities",
          "grok",
          "--provider",
          "grok",
          "--model",
          "grok-4",
          "--base-url",
          fake.openaiBaseURL,
        ]),
        { ...WORKER_ENV, XAI_API_KEY: "xai-e2e" },
      ),
      "w-local": spawnWorker(
        workerArgs(t, "w-local", [
          "--capabilities",
          "local",
          "--provider",
          "openai-compatible",
          "--model",
          "llama3.2",
          "--base-url",
          fake.openaiBaseURL,
        ]),
        // An OpenAI key in the environment must not be sent to a local server.
        { ...WORKER_ENV, OPENAI_API_KEY: "sk-openai-e2e" },
      ),
      "w-cli": spawnWorker(
        workerArgs(t, "w-cli", [
          "--capabilities",
          "cli_agent",
          "--provider",
          "cli",
          "--cli-command",
          process.execPath,
          "--cli-arg",
          AGENT_CLI,
          "--cli-arg=--print",
        ]),
        WORKER_ENV,
      ),
      "w-jobs": spawnWorker(workerArgs(t, "w-jobs", ["--provider", "jobs", "--slots", "2"]), WORKER_ENV),
    };
    await Promise.all(Object.values(workers).map((w) => w.waitForLog("registered with the hub")));

    // The Claude reply streams token by token, slowly enough to span several flushes.
    fake.enqueue(
      {
        kind: "reply",
        chunks: ["Claude ", "streams ", "this ", "answer ", "slowly."],
        delayMs: 150,
        usage: { input_tokens: 40, cached_input_tokens: 30, output_tokens: 5 },
      },
      { api: "anthropic" },
    );
    const specs = [
      { agent: "w-claude", capability: "claude", prompt: "Explain the mesh" },
      { agent: "w-codex", capability: "codex", prompt: "Write a function" },
      { agent: "w-grok", capability: "grok", prompt: "Tell a joke" },
      { agent: "w-local", capability: "local", prompt: "Summarise locally" },
      { agent: "w-cli", capability: "cli_agent", prompt: "run the cli" },
      { agent: "w-jobs", capability: "text_stats", prompt: "Two words. Three more words." },
      {
        agent: "w-jobs",
        capability: "keyword_extract",
        prompt: JSON.stringify({ job: "keyword_extract", input: "mesh mesh worker", options: { top_k: 1 } }),
      },
    ];
    const created = await Promise.all(
      specs.map((s) => t.api.createTask({ prompt: s.prompt, required_capability: s.capability })),
    );
    const finished = await Promise.all(created.map((task) => t.api.waitForTask(task.id, "done", 30_000)));

    const expected: Record<string, string> = {
      claude: "Claude streams this answer slowly.",
      codex: "[gpt-5.4] Write a function",
      grok: "[grok-4] Tell a joke",
      local: "[llama3.2] Summarise locally",
      cli_agent: "CLI agent (--print) says: RUN THE CLI",
      text_stats: JSON.stringify({
        job: "text_stats",
        chars: 28,
        bytes: 28,
        words: 5,
        unique_words: 4,
        lines: 1,
        sentences: 2,
        paragraphs: 1,
        avg_word_length: 4.4,
      }),
      keyword_extract: JSON.stringify({
        job: "keyword_extract",
        keywords: [{ term: "mesh", count: 2, score: 0.666667 }],
      }),
    };
    for (const [i, task] of finished.entries()) {
      const spec = specs[i];
      if (!spec) throw new Error("spec");
      expect(task.assigned_to, spec.capability).toBe(spec.agent);
      expect(task.output, spec.capability).toBe(expected[spec.capability]);
      expect(task.attempts).toBe(1);

      // Streamed: the chunks, in order, are exactly the output.
      const chunks = await t.api.chunks(task.id);
      expect(chunks.length, `${spec.capability} chunks`).toBeGreaterThan(0);
      expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, n) => n));
      expect(chunks.map((c) => c.content).join("")).toBe(task.output);

      // Signed: the chain verifies and holds this task's output hash.
      const provenance = await t.api.provenance(task.id);
      expect(provenance.verdict.ok, `${spec.capability} provenance`).toBe(true);
      expect(provenance.chain.find((l) => l.task_id === task.id)?.output_sha256).toBe(
        sha256(task.output ?? ""),
      );
    }
    const byCap = Object.fromEntries(finished.map((task) => [task.required_capability, task]));

    // Usage and cost as each provider reports them.
    expect(byCap.claude?.usage).toEqual({ input_tokens: 40, output_tokens: 5 });
    expect(byCap.claude?.cost_usd).toBeCloseTo((10 * 2 + 30 * 0.1 + 5 * 10) / 1e6, 12);
    expect(byCap.claude?.model).toBe("claude-sonnet-5-5");
    expect(byCap.codex?.cost_usd).toBeGreaterThan(0);
    expect(byCap.grok?.cost_usd).toBeGreaterThan(0);
    expect(byCap.local?.cost_usd).toBe(0);
    expect(byCap.local?.usage?.input_tokens).toBeGreaterThan(0);
    expect(byCap.cli_agent?.usage).toBeNull(); // a CLI reports no tokens…
    expect(byCap.cli_agent?.cost_usd).toBeNull(); // …so there is nothing to price
    expect(byCap.text_stats).toMatchObject({ confidence: 1, cost_usd: 0, model: "m3shd-jobs-1/text_stats" });
    // The slow Claude stream went out in several batches, not one request per token or one at the end.
    const claudeChunks = await t.api.chunks(byCap.claude?.id ?? "");
    expect(claudeChunks.length).toBeGreaterThanOrEqual(2);
    expect(claudeChunks.length).toBeLessThanOrEqual(5);

    // What the official SDKs put on the wire.
    const sent = (api: string, model: string) =>
      fake.requests.find((r) => r.api === api && (r.body as { model?: string }).model === model);
    expect(sent("anthropic", "claude-sonnet-5-5")?.headers.authorization).toBe("Bearer sk-ant-e2e");
    expect(sent("responses", "gpt-5.4")?.headers.authorization).toBe("Bearer sk-openai-e2e");
    expect(sent("chat", "grok-4")?.headers.authorization).toBe("Bearer xai-e2e");
    expect(sent("chat", "llama3.2")?.headers.authorization).toBe("Bearer no-key-required");
    expect(sent("chat", "grok-4")?.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });

    // Registered as what they are.
    const claudeAgent = await t.api.agent("w-claude");
    expect(claudeAgent).toMatchObject({
      provider: "anthropic",
      model: "claude-sonnet-5-5",
      capabilities: ["claude"],
    });
    expect((await t.api.agent("w-jobs"))?.max_concurrent).toBe(2);

    // A clean SIGTERM with nothing running: every worker exits 0.
    for (const w of Object.values(workers)) w.child.kill("SIGTERM");
    const exits = await Promise.all(Object.values(workers).map((w) => w.exited));
    expect(exits.map((e) => e.code)).toEqual(exits.map(() => 0));
    for (const w of Object.values(workers)) {
      // The token never reaches the logs.
      expect(JSON.stringify(w.logs)).not.toContain("test-master-token");
      expect(w.stderr()).not.toContain("test-master-token");
    }
    // Two leaves per result: the provenance link and the ledger entry.
    await until(async () => (await t.api.merkleSize()) === 2 * specs.length, 5000, "merkle size");
  });
});
