import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { extractTerms } from "../src/text";
import { newService, testClock } from "./helpers";

/** Inputs that break naive FTS5 query building. None may raise an error anywhere. */
const HOSTILE: string[] = [
  '"',
  '""',
  '"unbalanced quote',
  "'single",
  "a AND",
  "OR OR OR",
  "NOT",
  "AND NOT OR NEAR",
  "NEAR(",
  "NEAR(a b, 5)",
  "NEAR(lighthouse harbor",
  "key:value",
  "tokens:abc",
  "col:",
  ":",
  "{tokens}: x",
  "- lighthouse",
  "^lighthouse",
  "light*",
  "*",
  "**",
  "*lighthouse*",
  "(",
  ")",
  "((lighthouse",
  "lighthouse))",
  "(a OR b",
  "+",
  "\\",
  "\u0000",
  "\u0000lighthouse\u0000",
  "\ud800",
  "lighthouse\udfff",
  "🙂",
  "🏳️‍🌈 lighthouse 👨‍👩‍👧",
  "ｌｉｇｈｔｈｏｕｓｅ",
  "Ⓛⓘⓖⓗⓣⓗⓞⓤⓢⓔ",
  "e\u0301\u0301\u0301",
  "\u202eesuohthgil",
  "SELECT * FROM entries; --",
  "'; DROP TABLE entries; --",
  'lighthouse" OR "1"="1',
  "%",
  "_",
  "\t\n\r",
  "",
  "   ",
  "a".repeat(10 * 1024),
  "lighthouse ".repeat(1000),
  '" OR '.repeat(2048),
  "NEAR(".repeat(2048),
  "(".repeat(10 * 1024),
  "🙂".repeat(2600),
  Array.from({ length: 2000 }, (_, i) => `w${i}`).join(" "),
];

describe("search", () => {
  it("never errors on a hostile query corpus (per agent, cross-agent, with filters)", () => {
    const { service } = newService();
    service.store({
      agentId: "alpha",
      key: "harbor",
      value: "the lighthouse keeper is Ada",
      tags: ["coast"],
    });
    service.store({ agentId: "beta", key: "harbor", value: "the lighthouse is red" });
    for (const query of HOSTILE) {
      expect(
        () => service.search({ agentIds: ["alpha"], query }),
        JSON.stringify(query.slice(0, 40)),
      ).not.toThrow();
      expect(() => service.search({ query, tag: "coast", since: 0, until: Date.now() * 2 })).not.toThrow();
      expect(() => service.recall({ agentId: "alpha", text: query })).not.toThrow();
    }
    // Operators are reduced to plain terms: these still find the lighthouse.
    for (const query of [
      "NEAR(lighthouse harbor",
      "*lighthouse*",
      "lighthouse))",
      "ｌｉｇｈｔｈｏｕｓｅ",
      "tokens:lighthouse",
    ]) {
      expect(
        service.search({ agentIds: ["alpha"], query }).results.map((r) => r.entry.key),
        query,
      ).toEqual(["harbor"]);
    }
  });

  it("reduces queries to bounded plain terms", () => {
    expect(extractTerms('NEAR(foo "bar*" col:baz) AND qux', 32)).toEqual([
      "near",
      "foo",
      "bar",
      "col",
      "baz",
      "qux",
    ]);
    expect(extractTerms("The tests of the Cities", 32)).toEqual(["test", "city"]);
    expect(extractTerms("東京の天気", 32)).toEqual(["東京", "京の", "の天", "天気"]);
    expect(extractTerms("v 1 2 ab", 32)).toEqual(["1", "2", "ab"]);
    expect(extractTerms(Array.from({ length: 100 }, (_, i) => `word${i}`).join(" "), 32)).toHaveLength(32);
    expect(extractTerms("x".repeat(500), 32)[0]).toHaveLength(64);
  });

  it("ranks with bm25, filters by tag and time, and isolates agents", () => {
    const clock = testClock();
    const { service } = newService({ now: clock.now });
    service.store({
      agentId: "alpha",
      key: "db host",
      value: "postgres runs on harbor-db-1 port 5432",
      tags: ["infra"],
    });
    clock.advance(60_000);
    service.store({
      agentId: "alpha",
      key: "deploy",
      value: "deploys go through the harbor pipeline",
      tags: ["process"],
    });
    clock.advance(60_000);
    service.store({ agentId: "alpha", key: "lunch", value: "tacos on friday" });
    service.store({
      agentId: "beta",
      key: "db host",
      value: "postgres runs on beta-db port 6543",
      tags: ["infra"],
    });
    for (let i = 0; i < 30; i++)
      service.store({ agentId: "alpha", key: `noise ${i}`, value: `unrelated filler text ${i}` });

    const ranked = service.search({ agentIds: ["alpha"], query: "postgres harbor port" });
    expect(ranked.strategy).toBe("bm25");
    expect(ranked.results.map((r) => r.entry.key)).toEqual(["db host", "deploy"]);
    expect(ranked.results[0]?.score).toBeGreaterThan(ranked.results[1]?.score ?? 0);
    expect(ranked.results.every((r) => r.entry.agentId === "alpha")).toBe(true);

    expect(
      service
        .search({ agentIds: ["alpha"], query: "harbor", tag: "process" })
        .results.map((r) => r.entry.key),
    ).toEqual(["deploy"]);
    expect(service.search({ agentIds: ["alpha"], query: "harbor", tag: "Process " }).results).toHaveLength(1);
    expect(
      service
        .search({ agentIds: ["alpha"], query: "harbor postgres", until: Date.UTC(2026, 0, 1) })
        .results.map((r) => r.entry.key),
    ).toEqual(["db host"]);
    expect(
      service
        .search({ agentIds: ["alpha"], query: "harbor postgres", since: Date.UTC(2026, 0, 1) + 1 })
        .results.map((r) => r.entry.key),
    ).toEqual(["deploy"]);

    // Beta's postgres is invisible to alpha's search, and vice versa; the admin search sees both.
    expect(service.search({ agentIds: ["beta"], query: "harbor" }).results).toEqual([]);
    const all = service.search({ query: "postgres port" });
    expect(new Set(all.results.map((r) => r.entry.agentId))).toEqual(new Set(["alpha", "beta"]));
    expect(
      service.search({ query: "postgres", tag: "infra", agentIds: ["alpha", "beta"] }).results,
    ).toHaveLength(2);
  });

  it("when every term is too common, ranks the newest entries holding them (bounded work)", () => {
    const { service } = newService({ searchDocFrequencyBudget: 20 });
    for (let i = 0; i < 50; i++) {
      service.store({
        agentId: "alpha",
        key: `log ${i}`,
        value: `status report common ${i % 2 === 0 ? "even" : "odd"}`,
      });
    }
    const result = service.search({ agentIds: ["alpha"], query: "status even", limit: 5 });
    expect(result.strategy).toBe("bm25_bounded");
    expect(result.results.map((r) => r.entry.key)).toEqual([
      "log 48",
      "log 46",
      "log 44",
      "log 42",
      "log 40",
    ]);
    const one = service.search({ agentIds: ["alpha"], query: "report", limit: 3 });
    expect(one.results.map((r) => r.entry.key)).toEqual(["log 49", "log 48", "log 47"]);
  });

  it("a bounded plan still ranks by every term: common terms order the rare term's matches", () => {
    const { service } = newService({ searchDocFrequencyBudget: 10 });
    // Common terms (over the budget) that are still in under half of the entries, so they weigh.
    for (let i = 0; i < 30; i++)
      service.store({ agentId: "alpha", key: `n${i}`, value: `deploy pipeline filler${i}` });
    for (let i = 0; i < 70; i++) service.store({ agentId: "alpha", key: `m${i}`, value: `unrelated${i}` });
    service.store({ agentId: "alpha", key: "a", value: "zanzibar only" });
    service.store({ agentId: "alpha", key: "b", value: "zanzibar deploy pipeline" });
    service.store({ agentId: "alpha", key: "c", value: "zanzibar deploy" });
    const result = service.search({ agentIds: ["alpha"], query: "zanzibar deploy pipeline", limit: 3 });
    expect(result.strategy).toBe("bm25_bounded");
    expect(result.results.map((r) => r.entry.key)).toEqual(["b", "c", "a"]);
  });

  it("lists newest first with tag/time filters and a cursor", () => {
    const clock = testClock();
    const { service } = newService({ now: clock.now });
    for (let i = 0; i < 7; i++) {
      service.store({ agentId: "alpha", key: `k${i}`, value: `v${i}`, tags: i % 2 === 0 ? ["even"] : [] });
      clock.advance(1000);
    }
    const first = service.list({ agentId: "alpha", limit: 3 });
    expect(first.entries.map((e) => e.key)).toEqual(["k6", "k5", "k4"]);
    const second = service.list({ agentId: "alpha", limit: 3, cursor: first.nextCursor ?? "" });
    expect(second.entries.map((e) => e.key)).toEqual(["k3", "k2", "k1"]);
    const third = service.list({ agentId: "alpha", limit: 3, cursor: second.nextCursor ?? "" });
    expect(third.entries.map((e) => e.key)).toEqual(["k0"]);
    expect(third.nextCursor).toBeNull();
    expect(service.list({ agentId: "alpha", tag: "even" }).entries.map((e) => e.key)).toEqual([
      "k6",
      "k4",
      "k2",
      "k0",
    ]);
    expect(service.list({ agentId: "alpha", since: Date.UTC(2026, 0, 1) + 5000 }).entries).toHaveLength(2);
    expect(() => service.list({ agentId: "alpha", cursor: "bm90LWEtY3Vyc29y" })).toThrow(/cursor/i);
    expect(service.list({ agentId: "nobody" }).entries).toEqual([]);
  });

  it("upserts by key identity and reports created / updated / unchanged", () => {
    const clock = testClock();
    const { service } = newService({ now: clock.now });
    expect(service.store({ agentId: "alpha", key: "Deploy  Target", value: "staging" }).status).toBe(
      "created",
    );
    clock.advance(10);
    expect(service.store({ agentId: "alpha", key: "deploy target", value: "staging" }).status).toBe(
      "updated",
    ); // display key changed
    expect(service.store({ agentId: "alpha", key: "deploy target", value: "staging" }).status).toBe(
      "unchanged",
    );
    clock.advance(10);
    const updated = service.store({
      agentId: "alpha",
      key: "DEPLOY TARGET",
      value: "production",
      confidence: 0.9,
    });
    expect(updated.status).toBe("updated");
    expect(updated.entry.createdAt).toBe(Date.UTC(2026, 0, 1));
    expect(updated.entry.updatedAt).toBe(Date.UTC(2026, 0, 1) + 20);
    expect(service.list({ agentId: "alpha" }).entries).toHaveLength(1);
    expect(service.search({ agentIds: ["alpha"], query: "staging" }).results).toEqual([]);
    expect(service.search({ agentIds: ["alpha"], query: "production" }).results).toHaveLength(1);
    expect(service.delete("alpha", "deploy target")).toBe(true);
    expect(service.delete("alpha", "deploy target")).toBe(false);
    expect(service.search({ agentIds: ["alpha"], query: "production" }).results).toEqual([]);
  });

  it("keeps the planner's document frequencies equal to the FTS index through every write path", async () => {
    const { service, dbPath } = newService();
    for (let i = 0; i < 40; i++) {
      service.store({
        agentId: i % 2 ? "alpha" : "beta",
        key: `k${i % 15}`,
        value: `harbor ${i % 3 ? "light" : "dark"} ${i}`,
        tags: [`t${i % 4}`],
      });
    }
    service.storeMany(
      Array.from({ length: 30 }, (_, i) => ({
        agentId: "alpha",
        key: `bulk ${i % 10}`,
        value: `bulk harbor ${i}`,
      })),
    );
    service.delete("alpha", "k1");
    service.store({ agentId: "alpha", key: "dup a", value: "same harbor" });
    service.store({ agentId: "alpha", key: "dup-a", value: "same harbor" });
    await service.consolidate();
    await service.rotate({ agentIds: ["beta"] });
    const db = new Database(dbPath);
    try {
      db.exec("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, entry_fts, row)");
      const fromIndex = db.prepare("SELECT term, doc FROM temp.vocab ORDER BY term").all() as {
        term: string;
        doc: number;
      }[];
      const fromTable = (
        db.prepare("SELECT token, df FROM term_df ORDER BY token").all() as { token: Buffer; df: number }[]
      ).map((r) => ({ term: r.token.toString("hex"), doc: r.df }));
      expect(fromTable).toEqual(fromIndex);
      const stats = db.prepare("SELECT docs, tokens FROM fts_stats").get();
      const actual = db
        .prepare(
          "SELECT count(*) AS docs, coalesce(sum(length(tokens)) / 8, 0) AS tokens FROM entries WHERE length(tokens) > 0",
        )
        .get();
      expect(stats).toEqual(actual);
      expect(fromIndex.length).toBeGreaterThan(20);
    } finally {
      db.close();
    }
  });

  it("enforces input limits with typed errors", () => {
    const { service } = newService();
    const code = (fn: () => unknown) => {
      try {
        fn();
        return null;
      } catch (err) {
        return (err as { code?: string }).code ?? "untyped";
      }
    };
    expect(code(() => service.store({ agentId: "alpha", key: "k", value: "x".repeat(16 * 1024 + 1) }))).toBe(
      "payload_too_large",
    );
    expect(code(() => service.store({ agentId: "alpha", key: "k".repeat(201), value: "v" }))).toBe(
      "payload_too_large",
    );
    expect(
      code(() =>
        service.store({
          agentId: "alpha",
          key: "k",
          value: "v",
          tags: Array.from({ length: 17 }, (_, i) => `t${i}`),
        }),
      ),
    ).toBe("payload_too_large");
    expect(
      code(() => service.store({ agentId: "alpha", key: "k", value: "v", tags: ["t".repeat(65)] })),
    ).toBe("payload_too_large");
    expect(code(() => service.store({ agentId: "alpha", key: "  ", value: "v" }))).toBe("validation_failed");
    expect(code(() => service.store({ agentId: "alpha", key: "k", value: " " }))).toBe("validation_failed");
    expect(code(() => service.store({ agentId: "alpha", key: "a\u0001b", value: "v" }))).toBe(
      "validation_failed",
    );
    expect(code(() => service.store({ agentId: "Alpha!", key: "k", value: "v" }))).toBe("validation_failed");
    expect(code(() => service.store({ agentId: "_mesh", key: "k", value: "v" }))).toBe("validation_failed");
    expect(code(() => service.store({ agentId: "alpha", key: "k", value: "v", confidence: 1.5 }))).toBe(
      "validation_failed",
    );
    expect(
      code(() => service.store({ agentId: "alpha", key: "k", value: "v", sourceTaskId: "task_bad" })),
    ).toBe("validation_failed");
    expect(code(() => service.store({ agentId: "alpha", key: "k", value: "é".repeat(8192) }))).toBeNull(); // exactly 16 KiB
  });
});
