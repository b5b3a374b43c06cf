import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { newService, testClock } from "./helpers";

function snapshot(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  try {
    return {
      entries: db.prepare("SELECT * FROM entries ORDER BY seq").all(),
      tags: db.prepare("SELECT * FROM entry_tags ORDER BY entry_seq, tag_blind").all(),
      merges: db.prepare("SELECT * FROM merges ORDER BY id").all(),
      runs: db.prepare("SELECT * FROM consolidation_runs ORDER BY id").all(),
      keys: db.prepare("SELECT * FROM agent_keys ORDER BY agent_id, generation").all(),
    };
  } finally {
    db.close();
  }
}

describe("consolidation", () => {
  it("merges duplicates, resolves contradictions, writes patterns, records merges, and is idempotent", async () => {
    const clock = testClock();
    const { service, dbPath } = newService({ now: clock.now });
    const at = (ms: number) => clock.set(Date.UTC(2026, 0, 1) + ms);

    // Duplicates: same subject, same value (modulo case/punctuation), different spelling of the key.
    at(0);
    service.store({
      agentId: "alpha",
      key: "deploy_target",
      value: "Staging.",
      tags: ["ops"],
      confidence: 0.4,
    });
    at(10);
    service.store({
      agentId: "alpha",
      key: "Deploy-Target",
      value: "staging",
      tags: ["infra"],
      confidence: 0.6,
    });
    // Contradiction, later wins: the newer entry says production.
    at(20);
    service.store({ agentId: "alpha", key: "db host", value: "10.0.0.5", confidence: 0.5 });
    at(30);
    service.store({ agentId: "alpha", key: "db-host", value: "10.0.0.9", confidence: 0.55 });
    // Contradiction, confidence wins: the older entry is far more confident.
    at(40);
    service.store({ agentId: "beta", key: "timezone", value: "UTC", confidence: 0.95 });
    at(50);
    service.store({ agentId: "beta", key: "time zone", value: "CET", confidence: 0.5 });
    // Cross-agent fact: alpha (after its merge), beta and gamma all know the staging target.
    service.store({ agentId: "beta", key: "deploy target", value: "staging", confidence: 0.7 });
    service.store({ agentId: "gamma", key: "Deploy Target", value: "STAGING" });
    service.store({ agentId: "gamma", key: "unique", value: "only gamma knows" });

    at(1000);
    const first = await service.consolidate();
    expect(first).toMatchObject({ agents: 3, duplicates: 1, contradictions: 2, patterns: 1, changed: true });
    expect(first.runId).toMatch(/^run_/);

    const deploy = service.get("alpha", "Deploy-Target");
    expect(deploy).toMatchObject({ key: "Deploy-Target", value: "staging", confidence: 0.6 });
    expect(deploy?.tags.sort()).toEqual(["infra", "ops"]);
    expect(deploy?.updatedAt).toBe(Date.UTC(2026, 0, 1) + 10);
    expect(service.get("alpha", "db host")).toBeNull();
    expect(service.get("alpha", "db-host")?.value).toBe("10.0.0.9");
    expect(service.get("beta", "timezone")?.value).toBe("UTC");
    expect(service.get("beta", "time zone")).toBeNull();
    expect(service.get("gamma", "unique")?.value).toBe("only gamma knows");

    const pattern = service.get("_mesh", "deploy target");
    expect(pattern?.tags).toEqual(["source:consolidation", "pattern", "agents:3"]);
    expect(pattern?.value.toLowerCase()).toBe("staging");
    expect(
      service.search({ agentIds: ["_mesh"], query: "deploy", tag: "source: consolidation" }).results,
    ).toHaveLength(1);

    // What was merged is recorded (sealed) — nothing is silently lost.
    const alphaMerges = service
      .merges("alpha")
      .map((m) => m.details as { key: string; removed: { value: string }[] });
    expect(alphaMerges.map((m) => m.removed.map((r) => r.value)).sort()).toEqual([
      ["10.0.0.5"],
      ["Staging."],
    ]);
    const betaMerge = service.merges("beta")[0]?.details as { rule: string; removed: { value: string }[] };
    expect(betaMerge.rule).toBe("confidence");
    expect(betaMerge.removed[0]?.value).toBe("CET");
    expect(service.merges("_mesh")[0]?.details).toEqual({
      key: "Deploy Target",
      agents: ["alpha", "beta", "gamma"],
    });

    // Second run: nothing to do, nothing written — not even a run record.
    const before = snapshot(dbPath);
    at(2000);
    const second = await service.consolidate();
    expect(second).toMatchObject({
      duplicates: 0,
      contradictions: 0,
      patterns: 0,
      changed: false,
      runId: null,
    });
    expect(snapshot(dbPath)).toEqual(before);
  });

  it("consolidates one agent on demand without writing patterns", async () => {
    const { service } = newService();
    service.store({ agentId: "alpha", key: "a b", value: "same" });
    service.store({ agentId: "alpha", key: "a_b", value: "same" });
    service.store({ agentId: "beta", key: "a b", value: "same" });
    service.store({ agentId: "beta", key: "a-b", value: "same" });
    const result = await service.consolidate({ agentId: "alpha" });
    expect(result).toMatchObject({ agents: 1, duplicates: 1, patterns: 0 });
    expect(service.list({ agentId: "beta" }).entries).toHaveLength(2);
    expect(service.get("_mesh", "a b")).toBeNull();
  });

  it("keeps one pattern per subject when agents disagree, deterministically", async () => {
    const { service } = newService();
    for (const agent of ["a1", "a2", "a3"])
      service.store({ agentId: agent, key: "region", value: "eu-west" });
    for (const agent of ["b1", "b2"]) service.store({ agentId: agent, key: "region", value: "us-east" });
    await service.consolidate();
    expect(service.get("_mesh", "region")?.value).toBe("eu-west");
    expect((await service.consolidate()).changed).toBe(false);
  });
});
