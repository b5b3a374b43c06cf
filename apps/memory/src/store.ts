import { newId, ValidationError } from "@m3shd/protocol";
import type BetterSqlite3 from "better-sqlite3";
import { associatedData, open, pad, seal, unpad } from "./crypto/aead";
import type { Sqlite } from "./db";
import type { AgentKeySet, KeyManager } from "./keys";
import { extractTerms, identityKey, normalizeTag } from "./text";

/** One memory, decrypted. */
export interface MemoryEntry {
  /** `mem_` + ULID; stable across updates and rotations. */
  id: string;
  agentId: string;
  key: string;
  value: string;
  tags: string[];
  /** 0…1; consolidation lets a clearly more confident older entry beat a newer one. */
  confidence: number;
  /** The task whose output this came from, when it came from one. */
  sourceTaskId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A stored row as SQLite returns it. */
export interface EntryRow {
  seq: number;
  id: string;
  agent_id: string;
  generation: number;
  key_blind: Buffer;
  sealed: Buffer;
  created_at: number;
  updated_at: number;
  /** Packed 8-byte blind tokens of the entry. */
  tokens: Buffer;
}

/** What is sealed inside `entries.sealed`. Short names: every byte is stored 10⁵ times. */
interface SealedEntry {
  k: string;
  v: string;
  t: string[];
  /** Confidence and source task are sealed too: nothing queries them, so nothing needs them in clear. */
  c: number;
  s: string | null;
}

/** What a write sets; `id`/`createdAt` are kept from the existing row on update. */
export interface EntryWrite {
  agentId: string;
  key: string;
  value: string;
  tags: string[];
  confidence: number;
  sourceTaskId: string | null;
  updatedAt: number;
}

export type StoreStatus = "created" | "updated" | "unchanged";

/** How a search was answered (see docs/memory.md, "Query planning"). */
export type SearchStrategy = "bm25" | "bm25_bounded" | "none";

export interface SearchFilters {
  /** Normalized tag the entry must carry. */
  tag?: string | undefined;
  /** Only entries updated at or after (epoch ms). */
  since?: number | undefined;
  /** Only entries updated at or before (epoch ms). */
  until?: number | undefined;
}

export interface StoreOptions {
  /**
   * Upper bound on the summed document frequency of the terms ranked with bm25. Terms are taken
   * rarest first until the next one would exceed it; when even the rarest alone does, the query is
   * answered newest-first instead (see docs/memory.md). Bounds the work per query.
   */
  docFrequencyBudget: number;
}

const ENTRY_COLUMNS =
  "e.seq, e.id, e.agent_id, e.generation, e.key_blind, e.sealed, e.created_at, e.updated_at, e.tokens";
const HEX_TOKEN = /^[0-9a-f]{16}$/;
/** Most tokens (the rarest) AND-ed in the intersection stage. */
const INTERSECTION_MAX = 8;
/** Summed document frequency of the intersection, as a multiple of the bm25 budget. */
const INTERSECTION_BUDGET_FACTOR = 10;
/** Candidates ranked in stage 2: at least this many, 4× the limit, at most the cap. */
const CANDIDATES_MIN = 40;
const CANDIDATES_MAX = 2000;
/** FTS5's bm25 defaults. */
const BM25_K1 = 1.2;
const BM25_B = 0.75;

function entryAad(agentId: string, entryId: string): Buffer {
  return associatedData("m3shd.memory.entry.v1", agentId, entryId);
}

function mergeAad(agentId: string, mergeId: string): Buffer {
  return associatedData("m3shd.memory.merge.v1", agentId, mergeId);
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((tag, i) => tag === b[i]);
}

/** Tokens as an FTS5 expression: quoted hex only, so nothing a user typed can reach FTS syntax. */
function matchExpression(tokens: readonly string[], operator: "OR" | "AND"): string {
  for (const token of tokens) {
    if (!HEX_TOKEN.test(token)) throw new Error("blind token is not 16 hex characters");
  }
  return tokens.map((t) => `"${t}"`).join(` ${operator} `);
}

function prepareStoreStatements(db: Sqlite) {
  return {
    byBlind: db.prepare<[string, Buffer], EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM entries AS e WHERE e.agent_id = ? AND e.key_blind = ?`,
    ),
    ofAgent: db.prepare<[string], EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM entries AS e WHERE e.agent_id = ? ORDER BY e.seq`,
    ),
    insert: db.prepare(
      `INSERT INTO entries (id, agent_id, generation, key_blind, sealed, created_at, updated_at, tokens)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    update: db.prepare(
      `UPDATE entries SET generation = ?, key_blind = ?, sealed = ?, updated_at = ?, tokens = ?
       WHERE seq = ?`,
    ),
    tokensOf: db.prepare<[number], Buffer>("SELECT tokens FROM entries WHERE seq = ?").pluck(),
    dfUp: db.prepare(
      "INSERT INTO term_df (token, df) VALUES (?, ?) ON CONFLICT (token) DO UPDATE SET df = df + excluded.df",
    ),
    dfDown: db.prepare("UPDATE term_df SET df = df - ? WHERE token = ?"),
    dfDrop: db.prepare("DELETE FROM term_df WHERE token = ? AND df <= 0"),
    deleteSeq: db.prepare("DELETE FROM entries WHERE seq = ?"),
    deleteTags: db.prepare("DELETE FROM entry_tags WHERE entry_seq = ?"),
    insertTag: db.prepare("INSERT OR IGNORE INTO entry_tags (tag_blind, entry_seq) VALUES (?, ?)"),
    deleteFts: db.prepare("DELETE FROM entry_fts WHERE rowid = ?"),
    insertFts: db.prepare("INSERT INTO entry_fts (rowid, tokens) VALUES (?, ?)"),
    docFrequency: db.prepare<[Buffer], number>("SELECT df FROM term_df WHERE token = ?").pluck(),
    stats: db.prepare<[], { docs: number; tokens: number }>(
      "SELECT docs, tokens FROM fts_stats WHERE id = 1",
    ),
    addStats: db.prepare("UPDATE fts_stats SET docs = docs + ?, tokens = tokens + ? WHERE id = 1"),
    mergesOfAgent: db.prepare<[string], { id: string; generation: number; sealed: Buffer }>(
      "SELECT id, generation, sealed FROM merges WHERE agent_id = ?",
    ),
    updateMerge: db.prepare("UPDATE merges SET generation = ?, sealed = ? WHERE id = ?"),
    insertMerge: db.prepare(
      `INSERT INTO merges (id, run_id, agent_id, kind, kept_entry_id, source_entry_ids, generation, sealed, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
  };
}

/**
 * Storage of encrypted entries and their blind index. Knows nothing about HTTP, queues or
 * validation: callers pass normalized, validated data and own the transactions.
 */
export class MemoryStore {
  readonly #db: Sqlite;
  readonly #keys: KeyManager;
  readonly #options: StoreOptions;
  readonly #stmts: ReturnType<typeof prepareStoreStatements>;
  #pendingDf: Map<string, number> | null = null;
  #pendingStats: { docs: number; tokens: number } | null = null;
  readonly #dynamic = new Map<string, BetterSqlite3.Statement<unknown[], EntryRow>>();

  constructor(db: Sqlite, keys: KeyManager, options: StoreOptions) {
    this.#db = db;
    this.#keys = keys;
    this.#options = options;
    this.#stmts = prepareStoreStatements(db);
  }

  /** Decrypts a row. A row that fails authentication was tampered with: that is an error, not a miss. */
  decode(row: EntryRow): MemoryEntry {
    const keys = this.#keys.generation(row.agent_id, row.generation);
    const padded = open(keys.keys.enc, row.sealed, entryAad(row.agent_id, row.id));
    const plain = padded && unpad(padded);
    if (!plain) throw new Error(`Memory entry ${row.id} failed authentication`);
    const sealed = JSON.parse(plain.toString("utf8")) as SealedEntry;
    return {
      id: row.id,
      agentId: row.agent_id,
      key: sealed.k,
      value: sealed.v,
      tags: sealed.t,
      confidence: sealed.c,
      sourceTaskId: sealed.s,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  /** The row of `(agent, key)`, or null. Uses the agent's current key generation. */
  findByKey(agentId: string, key: string): EntryRow | null {
    const keys = this.#keys.current(agentId);
    if (!keys) return null;
    return this.#stmts.byBlind.get(agentId, keys.blinder.key(identityKey(key))) ?? null;
  }

  /** Every row of an agent, oldest first. */
  rowsOf(agentId: string): EntryRow[] {
    return this.#stmts.ofAgent.all(agentId);
  }

  /** Upsert by `(agent, key identity)`. Call inside a write transaction. */
  upsert(write: EntryWrite): { entry: MemoryEntry; status: StoreStatus } {
    const keys = this.#keys.currentOrCreate(write.agentId);
    const blind = keys.blinder.key(identityKey(write.key));
    const existing = this.#stmts.byBlind.get(write.agentId, blind);
    if (existing) {
      const before = this.decode(existing);
      if (
        before.key === write.key &&
        before.value === write.value &&
        sameTags(before.tags, write.tags) &&
        before.confidence === write.confidence &&
        before.sourceTaskId === write.sourceTaskId
      ) {
        return { entry: before, status: "unchanged" };
      }
      const entry: MemoryEntry = {
        ...before,
        key: write.key,
        value: write.value,
        tags: write.tags,
        confidence: write.confidence,
        sourceTaskId: write.sourceTaskId,
        updatedAt: write.updatedAt,
      };
      this.rewrite(existing.seq, entry, keys);
      return { entry, status: "updated" };
    }
    const id = newId("mem");
    const entry: MemoryEntry = {
      id,
      agentId: write.agentId,
      key: write.key,
      value: write.value,
      tags: write.tags,
      confidence: write.confidence,
      sourceTaskId: write.sourceTaskId,
      createdAt: write.updatedAt,
      updatedAt: write.updatedAt,
    };
    const tokens = this.#tokens(entry, keys);
    const info = this.#stmts.insert.run(
      id,
      write.agentId,
      keys.generation,
      blind,
      this.#seal(entry, keys),
      entry.createdAt,
      entry.updatedAt,
      packTokens(tokens),
    );
    this.#index(Number(info.lastInsertRowid), entry, keys, tokens);
    return { entry, status: "created" };
  }

  /**
   * Re-seals an entry under `keys` (its agent's current generation) and rebuilds its blinds, tags
   * and index row. Used by updates, consolidation and re-encrypting rotation. Inside a transaction.
   */
  rewrite(seq: number, entry: MemoryEntry, keys: AgentKeySet): void {
    this.#unindex(seq);
    const tokens = this.#tokens(entry, keys);
    this.#stmts.update.run(
      keys.generation,
      keys.blinder.key(identityKey(entry.key)),
      this.#seal(entry, keys),
      entry.updatedAt,
      packTokens(tokens),
      seq,
    );
    this.#index(seq, entry, keys, tokens);
  }

  /** Removes a row's tags, index row and document-frequency contributions (the row itself stays). */
  #unindex(seq: number): void {
    const packed = this.#stmts.tokensOf.get(seq) ?? Buffer.alloc(0);
    const tokens = unpackTokens(packed);
    for (const token of tokens) this.#df(token.toString("hex"), -1);
    if (tokens.length > 0) this.#stat(-1, -tokens.length);
    this.#stmts.deleteTags.run(seq);
    this.#stmts.deleteFts.run(seq);
  }

  #seal(entry: MemoryEntry, keys: AgentKeySet): Buffer {
    const body: SealedEntry = {
      k: entry.key,
      v: entry.value,
      t: entry.tags,
      c: entry.confidence,
      s: entry.sourceTaskId,
    };
    return seal(
      keys.keys.enc,
      pad(Buffer.from(JSON.stringify(body), "utf8")),
      entryAad(entry.agentId, entry.id),
    );
  }

  /**
   * An entry's FTS tokens: deduplicated and *sorted by token value*. FTS5 stores positions (bm25
   * needs detail=full); sorted HMAC output carries no word order.
   */
  #tokens(entry: MemoryEntry, keys: AgentKeySet): string[] {
    const text = `${entry.key}\n${entry.value}\n${entry.tags.join(" ")}`;
    const terms = extractTerms(text, 100_000, text.length);
    return [...new Set(terms.map((t) => keys.blinder.term(t)))].sort();
  }

  /** Blind tags, the FTS row and document frequencies. */
  #index(seq: number, entry: MemoryEntry, keys: AgentKeySet, tokens: readonly string[]): void {
    for (const tag of entry.tags) this.#stmts.insertTag.run(keys.blinder.tag(normalizeTag(tag)), seq);
    if (tokens.length > 0) {
      this.#stmts.insertFts.run(seq, tokens.join(" "));
      this.#stat(1, tokens.length);
    }
    for (const token of tokens) this.#df(token, 1);
  }

  /** Index totals (documents, tokens) for bm25's N and average length: applied now, or summed in `batch`. */
  #stat(docs: number, tokens: number): void {
    if (this.#pendingStats) {
      this.#pendingStats.docs += docs;
      this.#pendingStats.tokens += tokens;
      return;
    }
    this.#stmts.addStats.run(docs, tokens);
  }

  /** One document-frequency change: applied now, or summed per token inside `batch`. */
  #df(token: string, delta: number): void {
    if (this.#pendingDf) {
      this.#pendingDf.set(token, (this.#pendingDf.get(token) ?? 0) + delta);
      return;
    }
    this.#applyDf(token, delta);
  }

  #applyDf(token: string, delta: number): void {
    if (delta === 0) return;
    const key = Buffer.from(token, "hex");
    if (delta > 0) {
      this.#stmts.dfUp.run(key, delta);
    } else {
      this.#stmts.dfDown.run(-delta, key);
      this.#stmts.dfDrop.run(key);
    }
  }

  /**
   * Runs `fn` (inside the caller's transaction) with document-frequency changes summed per token and
   * written once at the end: a batch of Zipf-distributed text repeats its common terms constantly,
   * and a re-encrypting rotation rewrites every token of an agent.
   */
  batch<T>(fn: () => T): T {
    if (this.#pendingDf) return fn();
    this.#pendingDf = new Map();
    this.#pendingStats = { docs: 0, tokens: 0 };
    try {
      const result = fn();
      for (const [token, delta] of this.#pendingDf) this.#applyDf(token, delta);
      const stats = this.#pendingStats;
      if (stats.docs !== 0 || stats.tokens !== 0) this.#stmts.addStats.run(stats.docs, stats.tokens);
      return result;
    } finally {
      this.#pendingDf = null;
      this.#pendingStats = null;
    }
  }

  /** Deletes by key; returns whether a row went. Inside a transaction. */
  deleteByKey(agentId: string, key: string): boolean {
    const row = this.findByKey(agentId, key);
    if (!row) return false;
    this.deleteSeq(row.seq);
    return true;
  }

  /** Deletes a row (its tags cascade, its index row goes by trigger). */
  deleteSeq(seq: number): void {
    this.#unindex(seq);
    this.#stmts.deleteSeq.run(seq);
  }

  /** Newest-first page of an agent's entries. */
  list(
    agentId: string,
    filters: SearchFilters,
    limit: number,
    after: { updatedAt: number; seq: number } | null,
  ): { entries: MemoryEntry[]; last: { updatedAt: number; seq: number } | null } {
    const keys = this.#keys.current(agentId);
    if (!keys) return { entries: [], last: null };
    const where = ["e.agent_id = ?"];
    const params: unknown[] = [agentId];
    this.#filters(where, params, filters, [keys]);
    if (after) {
      where.push("(e.updated_at, e.seq) < (?, ?)");
      params.push(after.updatedAt, after.seq);
    }
    const sql = `SELECT ${ENTRY_COLUMNS} FROM entries AS e WHERE ${where.join(" AND ")}
      ORDER BY e.updated_at DESC, e.seq DESC LIMIT ?`;
    const rows = this.#statement(sql).all(...params, limit + 1);
    const page = rows.slice(0, limit);
    const lastRow = page.at(-1);
    return {
      entries: page.map((r) => this.decode(r)),
      last: rows.length > limit && lastRow ? { updatedAt: lastRow.updated_at, seq: lastRow.seq } : null,
    };
  }

  #filters(where: string[], params: unknown[], filters: SearchFilters, keySets: AgentKeySet[]): void {
    if (filters.since !== undefined) {
      where.push("e.updated_at >= ?");
      params.push(filters.since);
    }
    if (filters.until !== undefined) {
      where.push("e.updated_at <= ?");
      params.push(filters.until);
    }
    if (filters.tag !== undefined) {
      const tag = filters.tag;
      const blinds = keySets.map((k) => k.blinder.tag(tag));
      where.push(
        `e.seq IN (SELECT entry_seq FROM entry_tags WHERE tag_blind IN (${blinds.map(() => "?").join(", ")}))`,
      );
      params.push(...blinds);
    }
  }

  /** Prepared statements for the few query shapes built from fixed fragments and `?` placeholders. */
  #statement(sql: string): BetterSqlite3.Statement<unknown[], EntryRow> {
    let stmt = this.#dynamic.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare<unknown[], EntryRow>(sql);
      // The shapes are few (filters × placeholder counts); cap anyway so odd inputs cannot grow it.
      if (this.#dynamic.size > 256) this.#dynamic.clear();
      this.#dynamic.set(sql, stmt);
    }
    return stmt;
  }

  /**
   * Ranked search over the agents' blind indexes. `terms` are already normalized; each agent's
   * tokens are computed with that agent's index key, so a token can only ever match its own agent.
   */
  search(
    agentIds: readonly string[],
    terms: readonly string[],
    filters: SearchFilters,
    limit: number,
  ): { hits: { entry: MemoryEntry; score: number }[]; strategy: SearchStrategy } {
    const keySets = agentIds.map((a) => this.#keys.current(a)).filter((k): k is AgentKeySet => k !== null);
    if (keySets.length === 0 || terms.length === 0) return { hits: [], strategy: "none" };
    const scope = new Set(keySets.map((k) => k.agentId));

    // Every query token with its document frequency (O(1) each, from term_df); unknown tokens drop out.
    const tokens: { token: string; agentId: string; df: number }[] = [];
    for (const keys of keySets) {
      for (const term of terms) {
        const token = keys.blinder.term(term);
        const df = this.#stmts.docFrequency.get(Buffer.from(token, "hex")) ?? 0;
        if (df > 0) tokens.push({ token, agentId: keys.agentId, df });
      }
    }
    if (tokens.length === 0) return { hits: [], strategy: "none" };
    tokens.sort((a, b) => a.df - b.df || (a.token < b.token ? -1 : 1));

    // Stage 1 — candidates, with bounded work. FTS5's bm25 walks the whole doclist of every term it
    // ranks (for IDF), so only the rarest terms whose summed document frequency fits the budget go
    // through it; the entries holding *all* terms (an intersection FTS5 computes without walking the
    // common doclists) are added, and when even the rarest term is over budget, its newest entries.
    const chosen: string[] = [];
    let budget = this.#options.docFrequencyBudget;
    for (const t of tokens) {
      if (t.df > budget) break;
      chosen.push(t.token);
      budget -= t.df;
    }
    const pool = Math.min(Math.max(limit * 4, CANDIDATES_MIN), CANDIDATES_MAX);
    const where = ["entry_fts MATCH ?"];
    const params: unknown[] = [];
    this.#filters(where, params, filters, keySets);
    const candidates = new Map<number, EntryRow>();
    const add = (rows: EntryRow[]) => {
      for (const row of rows) if (scope.has(row.agent_id)) candidates.set(row.seq, row);
    };
    if (chosen.length > 0) {
      const match = matchExpression(chosen, "OR");
      if (where.length > 1) {
        const sql = `SELECT ${ENTRY_COLUMNS} FROM entry_fts JOIN entries AS e ON e.seq = entry_fts.rowid
          WHERE ${where.join(" AND ")} ORDER BY bm25(entry_fts), e.seq DESC LIMIT ?`;
        add(this.#statement(sql).all(match, ...params, pool));
      } else {
        // No filter: rank inside FTS5 first and join only the rows that made the pool.
        const sql = `SELECT ${ENTRY_COLUMNS} FROM
            (SELECT rowid AS seq FROM entry_fts WHERE entry_fts MATCH ? ORDER BY bm25(entry_fts), rowid DESC LIMIT ?) AS r
          JOIN entries AS e ON e.seq = r.seq`;
        add(this.#statement(sql).all(match, pool));
      }
    }
    const chosenDf = tokens.slice(0, chosen.length).reduce((sum, t) => sum + t.df, 0);
    // The intersection adds nothing when stage 1 already returned every rare-term match.
    if (chosen.length < tokens.length && (chosen.length === 0 || chosenDf > pool)) {
      // FTS5 walks every doclist of an AND, so it takes the rarest terms within a larger budget;
      // the very common ones left out weigh little in bm25 anyway (IDF near zero).
      const intersectionBudget = this.#options.docFrequencyBudget * INTERSECTION_BUDGET_FACTOR;
      const byAgent = new Map<string, { tokens: string[]; df: number }>();
      for (const t of tokens) {
        const list = byAgent.get(t.agentId) ?? { tokens: [], df: 0 };
        const fits = list.tokens.length === 0 || list.df + t.df <= intersectionBudget;
        if (fits && list.tokens.length < INTERSECTION_MAX) {
          list.tokens.push(t.token);
          list.df += t.df;
        }
        byAgent.set(t.agentId, list);
      }
      const newest =
        this.#statement(`SELECT ${ENTRY_COLUMNS} FROM entry_fts JOIN entries AS e ON e.seq = entry_fts.rowid
        WHERE ${where.join(" AND ")} ORDER BY entry_fts.rowid DESC LIMIT ?`);
      const lists = [...byAgent.values()].map((l) => l.tokens);
      if (chosen.length === 0 || lists.some((l) => l.length > 1)) {
        add(newest.all(lists.map((l) => `(${matchExpression(l, "AND")})`).join(" OR "), ...params, pool));
      }
      if (chosen.length === 0 && candidates.size < limit) {
        const rarest = lists.map((l) => l[0]).filter((t): t is string => t !== undefined);
        add(newest.all(matchExpression(rarest, "OR"), ...params, pool));
      }
    }

    // Stage 2 — rank every candidate by bm25 over the *whole* query (FTS5's formula, k1 = 1.2,
    // b = 0.75, tf = 1 since tokens are deduplicated), from the stored frequencies and token lists.
    const stats = this.#stmts.stats.get() ?? { docs: 0, tokens: 0 };
    const docs = Math.max(stats.docs, 1);
    const avgdl = stats.tokens > 0 ? stats.tokens / docs : 1;
    const idf = new Map<string, number>();
    for (const t of tokens) {
      // FTS5 clamps a non-positive IDF (a term in over half the rows) to a tiny positive weight.
      const value = Math.log((docs - t.df + 0.5) / (t.df + 0.5));
      idf.set(t.token, value > 0 ? value : 1e-6);
    }
    const scored = [...candidates.values()].map((row) => {
      const length = row.tokens.length / 8;
      const norm = (BM25_K1 + 1) / (1 + BM25_K1 * (1 - BM25_B + (BM25_B * length) / avgdl));
      let score = 0;
      const hex = row.tokens.toString("hex");
      for (let i = 0; i < hex.length; i += 16) score += idf.get(hex.slice(i, i + 16)) ?? 0;
      return { row, score: score * norm };
    });
    scored.sort((a, b) => b.score - a.score || b.row.seq - a.row.seq);
    const hits = scored.slice(0, limit).map((s) => ({ entry: this.decode(s.row), score: s.score }));
    return { hits, strategy: chosen.length === tokens.length ? "bm25" : "bm25_bounded" };
  }

  /** Seals consolidation details under the agent's current key and records the merge. */
  recordMerge(input: {
    runId: string;
    agentId: string;
    kind: "duplicate" | "contradiction" | "pattern";
    keptEntryId: string;
    sourceEntryIds: string[];
    details: unknown;
    now: number;
  }): string {
    const keys = this.#keys.currentOrCreate(input.agentId);
    const id = newId("mrg");
    const sealed = seal(
      keys.keys.enc,
      pad(Buffer.from(JSON.stringify(input.details), "utf8")),
      mergeAad(input.agentId, id),
    );
    this.#stmts.insertMerge.run(
      id,
      input.runId,
      input.agentId,
      input.kind,
      input.keptEntryId,
      JSON.stringify(input.sourceEntryIds),
      keys.generation,
      sealed,
      input.now,
    );
    return id;
  }

  /** Decrypted merge records of an agent (for operators and tests). */
  merges(agentId: string): { id: string; details: unknown }[] {
    return this.#stmts.mergesOfAgent.all(agentId).map((m) => {
      const keys = this.#keys.generation(agentId, m.generation);
      const plain = unpad(open(keys.keys.enc, m.sealed, mergeAad(agentId, m.id)) ?? Buffer.alloc(0));
      if (!plain) throw new Error(`Merge record ${m.id} failed authentication`);
      return { id: m.id, details: JSON.parse(plain.toString("utf8")) as unknown };
    });
  }

  /** Re-seals an agent's merge records under `next`. Inside the rotation transaction. */
  reencryptMerges(agentId: string, next: AgentKeySet): number {
    const records = this.#stmts.mergesOfAgent.all(agentId);
    for (const m of records) {
      const old = this.#keys.generation(agentId, m.generation);
      const plain = open(old.keys.enc, m.sealed, mergeAad(agentId, m.id));
      if (!plain) throw new Error(`Merge record ${m.id} failed authentication`);
      this.#stmts.updateMerge.run(next.generation, seal(next.keys.enc, plain, mergeAad(agentId, m.id)), m.id);
    }
    return records.length;
  }
}

/** Packs 16-hex-char tokens into 8 bytes each. */
function packTokens(tokens: readonly string[]): Buffer {
  return Buffer.from(tokens.join(""), "hex");
}

/** The 8-byte tokens of a packed list. */
function unpackTokens(packed: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + 8 <= packed.length; i += 8) out.push(packed.subarray(i, i + 8));
  return out;
}

/** Opaque list cursor: base64url of `<updatedAt>.<seq>`. */
export function encodeCursor(position: { updatedAt: number; seq: number }): string {
  return Buffer.from(`${position.updatedAt}.${position.seq}`, "utf8").toString("base64url");
}

/** Parses a cursor minted by `encodeCursor`; a ValidationError for anything else. */
export function decodeCursor(cursor: string): { updatedAt: number; seq: number } {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, "base64url").toString("utf8") : "";
  const match = /^(\d{1,16})\.(\d{1,16})$/.exec(text);
  if (!match)
    throw new ValidationError("Invalid cursor", [
      { path: ["cursor"], code: "custom", message: "Invalid cursor" },
    ]);
  return { updatedAt: Number(match[1]), seq: Number(match[2]) };
}
