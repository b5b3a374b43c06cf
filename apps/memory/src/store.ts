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
  confidence: number;
  source_task_id: string | null;
  created_at: number;
  updated_at: number;
}

/** What is sealed inside `entries.sealed`. Short names: every byte is stored 10⁵ times. */
interface SealedEntry {
  k: string;
  v: string;
  t: string[];
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
export type SearchStrategy = "bm25" | "recency" | "none";

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
  "e.seq, e.id, e.agent_id, e.generation, e.key_blind, e.sealed, e.confidence, e.source_task_id, e.created_at, e.updated_at";
const HEX_TOKEN = /^[0-9a-f]{16}$/;
/** Most tokens AND-ed in a recency fallback. */
const RECENCY_AND_MAX = 8;

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
      `INSERT INTO entries (id, agent_id, generation, key_blind, sealed, confidence, source_task_id, created_at, updated_at, tokens)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    update: db.prepare(
      `UPDATE entries SET generation = ?, key_blind = ?, sealed = ?, confidence = ?, source_task_id = ?, updated_at = ?, tokens = ?
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
  readonly #dynamic = new Map<string, BetterSqlite3.Statement<unknown[], EntryRow & { score: number }>>();

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
      confidence: row.confidence,
      sourceTaskId: row.source_task_id,
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
      entry.confidence,
      entry.sourceTaskId,
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
      entry.confidence,
      entry.sourceTaskId,
      entry.updatedAt,
      packTokens(tokens),
      seq,
    );
    this.#index(seq, entry, keys, tokens);
  }

  /** Removes a row's tags, index row and document-frequency contributions (the row itself stays). */
  #unindex(seq: number): void {
    const packed = this.#stmts.tokensOf.get(seq);
    for (const token of unpackTokens(packed ?? Buffer.alloc(0))) this.#df(token.toString("hex"), -1);
    this.#stmts.deleteTags.run(seq);
    this.#stmts.deleteFts.run(seq);
  }

  #seal(entry: MemoryEntry, keys: AgentKeySet): Buffer {
    const body: SealedEntry = { k: entry.key, v: entry.value, t: entry.tags };
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
    if (tokens.length > 0) this.#stmts.insertFts.run(seq, tokens.join(" "));
    for (const token of tokens) this.#df(token, 1);
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
    try {
      const result = fn();
      for (const [token, delta] of this.#pendingDf) this.#applyDf(token, delta);
      return result;
    } finally {
      this.#pendingDf = null;
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
    const sql = `SELECT ${ENTRY_COLUMNS}, 0 AS score FROM entries AS e WHERE ${where.join(" AND ")}
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
  #statement(sql: string): BetterSqlite3.Statement<unknown[], EntryRow & { score: number }> {
    let stmt = this.#dynamic.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare<unknown[], EntryRow & { score: number }>(sql);
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

    // Query planning: rarest tokens first, as many as fit in the document-frequency budget.
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
    const chosen: string[] = [];
    let budget = this.#options.docFrequencyBudget;
    for (const t of tokens) {
      if (t.df > budget) break;
      chosen.push(t.token);
      budget -= t.df;
    }

    const where = ["entry_fts MATCH ?"];
    const params: unknown[] = [];
    this.#filters(where, params, filters, keySets);
    const filtered = where.length > 1;
    let rows: (EntryRow & { score: number })[];
    let strategy: SearchStrategy;

    if (chosen.length > 0) {
      strategy = "bm25";
      const match = matchExpression(chosen, "OR");
      const sql = filtered
        ? `SELECT ${ENTRY_COLUMNS}, bm25(entry_fts) AS score FROM entry_fts JOIN entries AS e ON e.seq = entry_fts.rowid
           WHERE ${where.join(" AND ")} ORDER BY score, e.seq DESC LIMIT ?`
        : // Rank inside FTS first, then join only the top rows.
          `SELECT ${ENTRY_COLUMNS}, r.score AS score FROM
             (SELECT rowid AS seq, bm25(entry_fts) AS score FROM entry_fts WHERE entry_fts MATCH ?
              ORDER BY score, rowid DESC LIMIT ?) AS r
           JOIN entries AS e ON e.seq = r.seq ORDER BY r.score, e.seq DESC`;
      rows = filtered
        ? this.#statement(sql).all(match, ...params, limit)
        : this.#statement(sql).all(match, limit);
    } else {
      // Every term is so common that bm25 would score (nearly) every entry alike: answer with the
      // newest entries holding all terms of one agent, then the newest holding the rarest terms.
      strategy = "recency";
      const byAgent = new Map<string, string[]>();
      for (const t of tokens) {
        const list = byAgent.get(t.agentId) ?? [];
        if (list.length < RECENCY_AND_MAX) list.push(t.token);
        byAgent.set(t.agentId, list);
      }
      const all = [...byAgent.values()].map((list) => `(${matchExpression(list, "AND")})`).join(" OR ");
      const any = matchExpression(
        [...byAgent.values()].map((list) => list[0]).filter((t): t is string => t !== undefined),
        "OR",
      );
      const sql = `SELECT ${ENTRY_COLUMNS}, 0 AS score FROM entry_fts JOIN entries AS e ON e.seq = entry_fts.rowid
        WHERE ${where.join(" AND ")} ORDER BY entry_fts.rowid DESC LIMIT ?`;
      const stmt = this.#statement(sql);
      rows = stmt.all(all, ...params, limit);
      if (rows.length < limit) {
        const seen = new Set(rows.map((r) => r.seq));
        for (const row of stmt.all(any, ...params, limit)) {
          if (rows.length >= limit) break;
          if (!seen.has(row.seq)) rows.push(row);
        }
      }
    }
    // A 64-bit token collision across agents is astronomically unlikely; the scope check makes it impossible.
    const hits = rows
      .filter((r) => scope.has(r.agent_id))
      .map((r) => ({ entry: this.decode(r), score: r.score === 0 ? 0 : -r.score }));
    return { hits, strategy };
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
