import {
  generateNodeIdentity,
  hashLeaf,
  type NodeIdentity,
  sha256Hex,
  signCanonical,
  verifyInclusion,
} from "@m3shd/crypto";
import { transitionTask } from "@m3shd/db";
import type { ResultEnvelope, SignedResultEnvelope } from "@m3shd/protocol";
import { describe, expect, test } from "vitest";
import { seededRandom } from "../src/context";
import { ledgerEntryHash } from "../src/services/contribution";
import { MASTER, startTestHub, type TestHub } from "./security-fixture";

/**
 * The hub's side of verifiable contribution, in process: job parameters refused at creation, key
 * binding at registration, every refusal of a signed result, the validator's decisions, and the
 * ledger, summary and receipts those leave.
 */

const as = { token: MASTER };
const agentHeader = (agent: string) => ({ "x-m3shd-agent": agent });

async function register(t: TestHub, agent: string, extra: Record<string, unknown> = {}) {
  return t.call("POST", `/api/agents/${agent}/register`, {
    ...as,
    body: { capabilities: ["echo", "text_stats"], max_concurrent: 4, provider: "jobs", ...extra },
  });
}

/** A task of `capability` running on `agent`, claimed through the long-poll; returns it with its attempt. */
async function running(t: TestHub, agent: string, prompt: string, capability = "text_stats") {
  const created = await t.call("POST", "/api/tasks", {
    ...as,
    body: { title: "c", prompt, required_capability: capability },
  });
  expect(created.status, created.text).toBe(201);
  const id = created.body.task.id as string;
  transitionTask(t.database.db, {
    id,
    from: "queued",
    to: "assigned",
    set: { assignedTo: agent },
    now: t.clock.now,
  });
  const next = await t.call("GET", `/api/agents/${agent}/tasks/next`, { ...as, headers: agentHeader(agent) });
  expect(next.body.task.id).toBe(id);
  return { id, prompt: next.body.task.prompt as string, attempt: next.body.attempt as number };
}

/** What a worker sends (`m3shd-worker`'s `signResult`, restated so this test pins the wire format). */
function signResult(
  identity: NodeIdentity,
  input: {
    task: { id: string; prompt: string };
    attempt: number;
    agentId: string;
    output: string;
    model: string | null;
    usage: null;
    startedAt: number;
    finishedAt: number;
  },
): SignedResultEnvelope {
  const envelope: ResultEnvelope = {
    v: 1,
    task_id: input.task.id,
    attempt: input.attempt,
    agent_id: input.agentId,
    key_id: identity.key_id,
    input_sha256: sha256Hex(input.task.prompt),
    output_sha256: sha256Hex(input.output),
    model: input.model,
    usage: input.usage,
    started_at: input.startedAt,
    finished_at: input.finishedAt,
  };
  return { ...envelope, signature: signCanonical(identity.private_key, envelope) };
}

function signed(
  identity: NodeIdentity,
  task: { id: string; prompt: string; attempt: number },
  agent: string,
  output: string,
) {
  return signResult(identity, {
    task: { id: task.id, prompt: task.prompt },
    attempt: task.attempt,
    agentId: agent,
    output,
    model: "m3shd-jobs-1/text_stats",
    usage: null,
    startedAt: 1,
    finishedAt: 2,
  });
}

const STATS_OUT = (text: string) =>
  // What the jobs provider answers for `text` (the validator recomputes the same bytes).
  import("@m3shd/jobs").then(({ readJobRequest, runJob }) => {
    const read = readJobRequest(text, "text_stats");
    if (read.ok !== true) throw new Error("bad job");
    return runJob(read.request);
  });

describe("contribution on the hub", () => {
  test("out-of-range job parameters are a 422 at creation naming the parameter and its range", async () => {
    const t = await startTestHub();
    const cases = [
      [
        '{"job_type":"text_chunk","payload":{"text":"x","max_chars":0}}',
        "text_chunk",
        "prompt.payload.max_chars",
        "max_chars must be an integer from 1 to 1000 (default 120)",
      ],
      [
        '{"job_type":"text_chunk","payload":{"text":"x","max_chars":1001}}',
        "text_chunk",
        "prompt.payload.max_chars",
        "max_chars must be an integer from 1 to 1000 (default 120)",
      ],
      [
        '{"job_type":"text_embed","payload":{"text":"x","dimensions":65}}',
        "text_embed",
        "prompt.payload.dimensions",
        "dimensions must be an integer from 2 to 64 (default 8)",
      ],
      [
        '{"job_type":"keyword_extract","payload":{"text":"x","limit":0}}',
        "keyword_extract",
        "prompt.payload.limit",
        "limit must be an integer from 1 to 100 (default 10)",
      ],
      [
        '{"job":"text_chunk","input":"x","options":{"max_chars":5000}}',
        "text_chunk",
        "prompt.options.max_chars",
        "max_chars must be an integer from 1 to 1000 (default 120)",
      ],
    ] as const;
    for (const [prompt, capability, path, message] of cases) {
      const res = await t.call("POST", "/api/tasks", {
        ...as,
        body: { title: "j", prompt, required_capability: capability },
      });
      expect(res.status, prompt).toBe(422);
      expect(res.body.error.details.issues[0]).toMatchObject({ path: path.split("."), message });
      expect(res.body.error.message).toContain(message);
    }
    // In range, and a model task whose prompt merely looks like a job request, are accepted.
    for (const [prompt, capability] of [
      ['{"job_type":"text_chunk","payload":{"text":"x","max_chars":1000}}', "text_chunk"],
      ['{"job_type":"text_chunk","payload":{"text":"x","max_chars":0}}', "claude"],
    ]) {
      const res = await t.call("POST", "/api/tasks", {
        ...as,
        body: { title: "j", prompt, required_capability: capability },
      });
      expect(res.status, prompt).toBe(201);
    }
  });

  test("a node key is bound at first registration and required afterwards; another key is refused", async () => {
    const t = await startTestHub();
    const a = generateNodeIdentity("keyed");
    expect((await register(t, "keyed", { public_key: a.public_key })).body.agent.node_key).toEqual({
      key_id: a.key_id,
      status: "active",
    });
    const other = await register(t, "keyed", { public_key: generateNodeIdentity().public_key });
    expect(other.status).toBe(403);
    expect(other.body.error.details).toMatchObject({ reason: "key_mismatch", key_id: a.key_id });
    const none = await register(t, "keyed");
    expect(none.status).toBe(403);
    expect(none.body.error.details).toMatchObject({ reason: "key_required" });
    // A non-canonical spelling of a key is refused outright.
    // The last character's two low bits are unused: flipping one is the same key, spelled otherwise.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sibling = alphabet[alphabet.indexOf(a.public_key.at(-1) as string) ^ 1] as string;
    const odd = await register(t, "odd", { public_key: a.public_key.slice(0, -1) + sibling });
    expect(odd.status).toBe(422);
  });

  test("with approval required, a new key waits: registration is 403 until an admin approves it", async () => {
    const t = await startTestHub({ config: { contribution: { requireKeyApproval: true } } });
    const id = generateNodeIdentity("waiting");
    const first = await register(t, "waiting", { public_key: id.public_key });
    expect(first.status).toBe(403);
    expect(first.body.error.details).toEqual({ reason: "key_pending", key_id: id.key_id });
    const keys = await t.call("GET", "/api/agents/waiting/keys", as);
    expect(keys.body.keys.map((k: { status: string }) => k.status)).toEqual(["pending"]);
    expect((await t.call("POST", `/api/agents/waiting/keys/${id.key_id}/approve`, as)).status).toBe(200);
    expect((await register(t, "waiting", { public_key: id.public_key })).status).toBe(200);
  });

  test("every refusal of a signed result: missing, mismatched, forged, revoked; then a good one", async () => {
    const t = await startTestHub({ config: { contribution: { random: seededRandom(1) } } });
    const node = generateNodeIdentity("signer");
    await register(t, "signer", { public_key: node.public_key });
    const task = await running(t, "signer", "count these words");
    const output = await STATS_OUT("count these words");
    const put = (body: Record<string, unknown>) =>
      t.call("PUT", `/api/tasks/${task.id}`, {
        ...as,
        headers: agentHeader("signer"),
        body: { status: "done", attempt: task.attempt, model: "m3shd-jobs-1/text_stats", output, ...body },
      });

    const unsigned = await put({});
    expect(unsigned.status).toBe(403);
    expect(unsigned.body.error.details).toMatchObject({
      task_id: task.id,
      reason: "signature_required",
      envelope: null,
    });

    const wrongOutput = signed(node, task, "signer", `${output} `);
    const mismatch = await put({ envelope: wrongOutput });
    expect(mismatch.status).toBe(403);
    expect(mismatch.body.error.details).toMatchObject({ reason: "envelope_mismatch", envelope: wrongOutput });
    expect(mismatch.body.error.message).toMatch(/envelope output_sha256 does not match/);

    const forged = signResult(generateNodeIdentity(), {
      task,
      attempt: task.attempt,
      agentId: "signer",
      output,
      model: "m3shd-jobs-1/text_stats",
      usage: null,
      startedAt: 1,
      finishedAt: 2,
    });
    const forgedWithKeyId = { ...forged, key_id: node.key_id };
    const bad = await put({ envelope: forgedWithKeyId });
    expect(bad.status).toBe(403);
    expect(bad.body.error.details).toMatchObject({ reason: "bad_signature", envelope: forgedWithKeyId });
    const unknown = await put({ envelope: forged });
    expect(unknown.body.error.details).toMatchObject({ reason: "unknown_key" });
    expect(t.database.sqlite.prepare("select count(*) as n from ledger_entries").get()).toEqual({ n: 0 });

    const good = await put({ envelope: signed(node, task, "signer", output) });
    expect(good.status, good.text).toBe(200);
    // text_stats: 1 + floor(output chars / 100), the output being just over 100 characters.
    expect(output.length).toBeGreaterThanOrEqual(100);
    expect(good.body.contribution).toMatchObject({ outcome: "valid", units: 2 });

    expect(
      (await t.call("POST", `/api/agents/signer/keys/${node.key_id}/revoke`, { ...as, body: {} })).status,
    ).toBe(200);
    const later = await running(t, "signer", "more words here");
    const out2 = await STATS_OUT("more words here");
    const revoked = await t.call("PUT", `/api/tasks/${later.id}`, {
      ...as,
      headers: agentHeader("signer"),
      body: {
        status: "done",
        attempt: later.attempt,
        model: "m3shd-jobs-1/text_stats",
        output: out2,
        envelope: signed(node, later, "signer", out2),
      },
    });
    expect(revoked.status).toBe(403);
    expect(revoked.body.error.details).toMatchObject({ reason: "key_revoked" });
  });

  test("a hub that requires signatures refuses an unsigned result even from an agent without a key", async () => {
    const t = await startTestHub({ config: { contribution: { allowUnsigned: false } } });
    await register(t, "plain");
    const task = await running(t, "plain", "hello", "echo");
    const res = await t.call("PUT", `/api/tasks/${task.id}`, {
      ...as,
      headers: agentHeader("plain"),
      body: { status: "done", output: "hello", attempt: task.attempt },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.details).toMatchObject({ reason: "signature_required" });
  });

  test("an invalid result is requeued away from its node with 0 units; ledger, summary and receipt agree and prove", async () => {
    const t = await startTestHub();
    await register(t, "liar");
    const task = await running(t, "liar", "one two three");
    const res = await t.call("PUT", `/api/tasks/${task.id}`, {
      ...as,
      headers: agentHeader("liar"),
      body: { status: "done", output: '{"job":"text_stats","words":99}', attempt: task.attempt },
    });
    expect(res.status).toBe(200);
    expect(res.body.contribution).toMatchObject({ outcome: "invalid", units: 0 });
    expect(res.body.task).toMatchObject({ status: "queued", output: null });
    const row = t.database.sqlite.prepare("select excluded_agents from tasks where id = ?").get(task.id);
    expect(row).toEqual({ excluded_agents: '["liar"]' });

    // An honest node completes it (unsigned: this hub allows it, and says so).
    await register(t, "honest");
    transitionTask(t.database.db, {
      id: task.id,
      from: "queued",
      to: "assigned",
      set: { assignedTo: "honest" },
      now: t.clock.now,
    });
    const claim = await t.call("GET", "/api/agents/honest/tasks/next", {
      ...as,
      headers: agentHeader("honest"),
    });
    const output = await STATS_OUT("one two three");
    const ok = await t.call("PUT", `/api/tasks/${task.id}`, {
      ...as,
      headers: agentHeader("honest"),
      body: { status: "done", output, attempt: claim.body.attempt },
    });
    expect(ok.body.contribution).toMatchObject({ outcome: "valid", units: 2 });

    const ledger = await t.call("GET", "/api/ledger?limit=1", as);
    expect(ledger.body.entries).toHaveLength(1);
    expect(ledger.body.next_cursor).toBe("0");
    const page2 = await t.call("GET", `/api/ledger?limit=1&cursor=${ledger.body.next_cursor}`, as);
    expect(page2.body.entries[0]).toMatchObject({
      agent_id: "honest",
      outcome: "valid",
      units: 2,
      signed: false,
      key_id: null,
    });
    expect((await t.call("GET", "/api/ledger?cursor=zz", as)).status).toBe(422);
    expect(
      (await t.call("GET", "/api/ledger?node=liar", as)).body.entries.map(
        (e: { outcome: string }) => e.outcome,
      ),
    ).toEqual(["invalid"]);

    const summary = await t.call("GET", "/api/ledger/summary", as);
    expect(summary.body).toEqual({
      nodes: [
        {
          agent_id: "honest",
          units: 2,
          validated: 1,
          invalid: 0,
          unsupported: 0,
          streaks: { text_stats: 1 },
          streak: 1,
        },
        {
          agent_id: "liar",
          units: 0,
          validated: 0,
          invalid: 1,
          unsupported: 0,
          streaks: { text_stats: 0 },
          streak: 0,
        },
      ],
      total_units: 2,
      entries: 2,
    });

    const receipt = await t.call("GET", `/api/tasks/${task.id}/receipt`, as);
    expect(receipt.status).toBe(200);
    for (const r of receipt.body.results) {
      expect(ledgerEntryHash(r.ledger_entry)).toBe(r.ledger_entry.entry_hash);
      const leafHash = hashLeaf(Buffer.from(r.ledger_entry.entry_hash, "hex"));
      expect(r.merkle.leaf_hash).toBe(leafHash.toString("hex"));
      expect(
        verifyInclusion({
          leafIndex: r.merkle.leaf_index,
          treeSize: r.merkle.tree_size,
          leafHash,
          proof: r.merkle.proof.map((h: string) => Buffer.from(h, "hex")),
          root: Buffer.from(r.merkle.root, "hex"),
        }),
      ).toEqual({ ok: true });
    }
    // Against an earlier tree size, only the entries below it.
    const early = await t.call("GET", `/api/tasks/${task.id}/receipt?tree_size=1`, as);
    expect(early.body.results.map((r: { agent_id: string }) => r.agent_id)).toEqual(["liar"]);
    expect((await t.call("GET", `/api/tasks/${task.id}/receipt?tree_size=99`, as)).status).toBe(422);
    const fresh = await t.call("POST", "/api/tasks", {
      ...as,
      body: { title: "n", prompt: "p", required_capability: "echo" },
    });
    expect((await t.call("GET", `/api/tasks/${fresh.body.task.id}/receipt`, as)).status).toBe(404);
  });
});
