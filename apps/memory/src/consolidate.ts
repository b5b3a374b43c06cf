import { setImmediate as yieldToLoop } from "node:timers/promises";
import { MEMORY_PATTERN_SCOPE, newId } from "@m3shd/protocol";
import type { Logger } from "pino";
import type { Sqlite } from "./db";
import type { KeyManager } from "./keys";
import { MEMORY_LIMITS } from "./limits";
import type { EntryRow, MemoryEntry, MemoryStore } from "./store";
import { comparableValue, looseKey, normalizeTags } from "./text";

/**
 * The scope holding cross-agent patterns. Not a valid agent id (agent ids are `[a-z0-9-]`), so no
 * agent can ever be it, and no agent-scoped token can reach it.
 */
export const PATTERN_SCOPE = MEMORY_PATTERN_SCOPE;
/** Tag on every entry consolidation writes. */
export const CONSOLIDATION_TAG = "source:consolidation";

export interface ConsolidationOptions {
  /** An older entry beats a newer contradicting one only when its confidence is higher by at least this. */
  confidenceMargin: number;
  /** Distinct agents that must hold the same fact before it becomes a pattern. */
  patternMinAgents: number;
}

export interface ConsolidationResult {
  /** Null when nothing changed (no run is recorded then). */
  runId: string | null;
  agents: number;
  /** Entries removed because another entry said the same thing. */
  duplicates: number;
  /** Entries removed because a contradicting entry won. */
  contradictions: number;
  /** Pattern entries created or updated in the pattern scope. */
  patterns: number;
  changed: boolean;
  durationMs: number;
}

interface Item {
  row: EntryRow;
  entry: MemoryEntry;
}

interface Fact {
  loose: string;
  comparable: string;
  holders: Map<string, MemoryEntry>;
}

interface Ctx {
  db: Sqlite;
  keys: KeyManager;
  store: MemoryStore;
  now: () => number;
  logger: Logger;
  options: ConsolidationOptions;
}

function snapshot(entry: MemoryEntry) {
  return {
    id: entry.id,
    key: entry.key,
    value: entry.value,
    tags: entry.tags,
    confidence: entry.confidence,
    source_task_id: entry.sourceTaskId,
    created_at: entry.createdAt,
    updated_at: entry.updatedAt,
  };
}

/** Newest first; ties by insertion order (newest row first). */
function byRecency(a: Item, b: Item): number {
  return b.entry.updatedAt - a.entry.updatedAt || b.row.seq - a.row.seq;
}

/**
 * Within one agent: entries whose keys are the same subject (`looseKey`) are merged. Same value →
 * duplicates folded into the survivor (tags united, highest confidence kept). Different values →
 * a contradiction: the newest wins unless an older one is more confident by `confidenceMargin`.
 * Removed entries are sealed into a merge record, never silently lost. Inside a transaction.
 */
function consolidateAgent(ctx: Ctx, agentId: string, runId: string) {
  const items: Item[] = ctx.store.rowsOf(agentId).map((row) => ({ row, entry: ctx.store.decode(row) }));
  const groups = new Map<string, Item[]>();
  for (const item of items) {
    const key = looseKey(item.entry.key);
    const group = groups.get(key) ?? [];
    group.push(item);
    groups.set(key, group);
  }
  let duplicates = 0;
  let contradictions = 0;
  const survivors: MemoryEntry[] = [];
  const now = ctx.now();
  for (const group of groups.values()) {
    const sorted = [...group].sort(byRecency);
    const latest = sorted[0];
    if (!latest) continue;
    if (sorted.length === 1) {
      survivors.push(latest.entry);
      continue;
    }
    let winner = latest;
    let rule: "later" | "confidence" = "later";
    for (const older of sorted.slice(1)) {
      if (
        older.entry.confidence - latest.entry.confidence >= ctx.options.confidenceMargin &&
        older.entry.confidence > winner.entry.confidence
      ) {
        winner = older;
        rule = "confidence";
      }
    }
    const winnerValue = comparableValue(winner.entry.value);
    const others = sorted.filter((item) => item !== winner);
    const dups = others.filter((item) => comparableValue(item.entry.value) === winnerValue);
    const contras = others.filter((item) => comparableValue(item.entry.value) !== winnerValue);
    let kept = winner.entry;
    if (dups.length > 0) {
      const tags = normalizeTags([...kept.tags, ...dups.flatMap((d) => d.entry.tags)]).slice(
        0,
        MEMORY_LIMITS.tagsMax,
      );
      const confidence = Math.max(kept.confidence, ...dups.map((d) => d.entry.confidence));
      for (const dup of dups) ctx.store.deleteSeq(dup.row.seq);
      if (confidence !== kept.confidence || tags.join("\n") !== kept.tags.join("\n")) {
        kept = { ...kept, tags, confidence };
        const keys = ctx.keys.current(agentId);
        if (!keys) throw new Error("agent key vanished during consolidation");
        ctx.store.rewrite(winner.row.seq, kept, keys);
      }
      ctx.store.recordMerge({
        runId,
        agentId,
        kind: "duplicate",
        keptEntryId: kept.id,
        sourceEntryIds: dups.map((d) => d.entry.id),
        details: { key: kept.key, removed: dups.map((d) => snapshot(d.entry)) },
        now,
      });
      duplicates += dups.length;
    }
    if (contras.length > 0) {
      for (const c of contras) ctx.store.deleteSeq(c.row.seq);
      ctx.store.recordMerge({
        runId,
        agentId,
        kind: "contradiction",
        keptEntryId: kept.id,
        sourceEntryIds: contras.map((c) => c.entry.id),
        details: {
          key: kept.key,
          rule,
          kept: snapshot(kept),
          removed: contras.map((c) => snapshot(c.entry)),
        },
        now,
      });
      contradictions += contras.length;
    }
    survivors.push(kept);
  }
  return { duplicates, contradictions, survivors };
}

/**
 * One pattern per subject: the fact (same subject, same value) held by the most agents, if at least
 * `patternMinAgents`. Every choice is deterministic so a second run writes exactly the same entries.
 */
function writePatterns(ctx: Ctx, facts: Map<string, Fact>, runId: string): number {
  const bySubject = new Map<string, Fact[]>();
  for (const fact of facts.values()) {
    if (fact.holders.size < ctx.options.patternMinAgents) continue;
    const list = bySubject.get(fact.loose) ?? [];
    list.push(fact);
    bySubject.set(fact.loose, list);
  }
  let written = 0;
  const now = ctx.now();
  const subjects = [...bySubject.keys()].sort();
  for (const subject of subjects) {
    const candidates = bySubject.get(subject) ?? [];
    const latestOf = (f: Fact) => Math.max(...[...f.holders.values()].map((e) => e.updatedAt));
    candidates.sort(
      (a, b) =>
        b.holders.size - a.holders.size ||
        latestOf(b) - latestOf(a) ||
        (a.comparable < b.comparable ? -1 : a.comparable > b.comparable ? 1 : 0),
    );
    const fact = candidates[0];
    if (!fact) continue;
    const holders = [...fact.holders.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    const key = holders.map(([, e]) => e.key).sort()[0] ?? subject;
    const newest = [...holders].sort(
      ([aId, a], [bId, b]) => b.updatedAt - a.updatedAt || (aId < bId ? -1 : 1),
    )[0];
    if (!newest) continue;
    const result = ctx.store.upsert({
      agentId: PATTERN_SCOPE,
      key,
      value: newest[1].value,
      tags: [CONSOLIDATION_TAG, "pattern", `agents:${holders.length}`],
      confidence: Math.max(...holders.map(([, e]) => e.confidence)),
      sourceTaskId: null,
      updatedAt: now,
    });
    if (result.status === "unchanged") continue;
    ctx.store.recordMerge({
      runId,
      agentId: PATTERN_SCOPE,
      kind: "pattern",
      keptEntryId: result.entry.id,
      sourceEntryIds: holders.map(([, e]) => e.id),
      details: { key, agents: holders.map(([agentId]) => agentId) },
      now,
    });
    written++;
  }
  return written;
}

/** Consolidates one agent, or every agent plus cross-agent patterns. Idempotent. */
export async function consolidate(
  ctx: Ctx,
  input: { agentId?: string | undefined },
): Promise<ConsolidationResult> {
  const started = ctx.now();
  const t0 = performance.now();
  const runId = newId("run");
  const agents = input.agentId ? [input.agentId] : ctx.keys.agents().filter((a) => a !== PATTERN_SCOPE);
  let duplicates = 0;
  let contradictions = 0;
  const facts = new Map<string, Fact>();
  for (const agentId of agents) {
    const result = ctx.db
      .transaction(() => ctx.store.batch(() => consolidateAgent(ctx, agentId, runId)))
      .immediate();
    duplicates += result.duplicates;
    contradictions += result.contradictions;
    if (!input.agentId) {
      for (const entry of result.survivors) {
        const loose = looseKey(entry.key);
        const comparable = comparableValue(entry.value);
        const id = `${loose}\0${comparable}`;
        const fact = facts.get(id) ?? { loose, comparable, holders: new Map() };
        fact.holders.set(agentId, entry);
        facts.set(id, fact);
      }
    }
    // One agent per transaction and a yield between agents keep an embedded hub responsive.
    await yieldToLoop();
  }
  const patterns = input.agentId
    ? 0
    : ctx.db.transaction(() => ctx.store.batch(() => writePatterns(ctx, facts, runId))).immediate();
  const changed = duplicates + contradictions + patterns > 0;
  if (changed) {
    ctx.db
      .prepare(
        `INSERT INTO consolidation_runs (id, started_at, finished_at, agents, duplicates, contradictions, patterns)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(runId, started, ctx.now(), agents.length, duplicates, contradictions, patterns);
  }
  const result: ConsolidationResult = {
    runId: changed ? runId : null,
    agents: agents.length,
    duplicates,
    contradictions,
    patterns,
    changed,
    durationMs: performance.now() - t0,
  };
  ctx.logger.info(
    { runId: result.runId, agents: result.agents, duplicates, contradictions, patterns },
    "memory consolidation finished",
  );
  return result;
}
