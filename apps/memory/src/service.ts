import { setImmediate as yieldToLoop } from "node:timers/promises";
import {
  AgentIdSchema,
  LimitExceededError,
  TaskIdSchema,
  utf8ByteLength,
  ValidationError,
} from "@m3shd/protocol";
import { type Logger, pino } from "pino";
import {
  type ConsolidationOptions,
  type ConsolidationResult,
  consolidate,
  PATTERN_SCOPE,
} from "./consolidate";
import { type KekInput, parseKekRing } from "./crypto/kek";
import { parseRecoveryPrivateKey, parseRecoveryPublicKey } from "./crypto/recovery";
import { openMemoryDatabase, type Sqlite } from "./db";
import { type MalformedReason, parseRememberBlocks } from "./extract";
import { KeyManager, type KeyStatus } from "./keys";
import { MEMORY_LIMITS } from "./limits";
import { buildMemoryBlock } from "./recall";
import {
  decodeCursor,
  encodeCursor,
  type MemoryEntry,
  MemoryStore,
  type SearchStrategy,
  type StoreStatus,
} from "./store";
import { extractTerms, identityKey, normalizeKey, normalizeTag, normalizeTags } from "./text";

export type { MemoryEntry, SearchStrategy, StoreStatus };

export interface MemoryServiceOptions {
  /** SQLite file owned by the memory service (or `:memory:`). */
  dbPath: string;
  /** Key-encryption key(s), newest (primary) first. See `generateKek`. */
  kek: KekInput | readonly KekInput[];
  /** Offline recovery public key (`m3shd-mrk-pub-v1:…`); every agent key is also sealed to it. */
  recoveryPublicKey?: string | null | undefined;
  logger?: Logger;
  /** Injectable clock (epoch ms). */
  now?: () => number;
  busyTimeoutMs?: number;
  /** Summed document frequency ranked with bm25 per query (default 1500; see docs/memory.md). */
  searchDocFrequencyBudget?: number;
  consolidation?: Partial<ConsolidationOptions>;
}

export interface StoreInput {
  agentId: string;
  key: string;
  value: string;
  tags?: readonly string[] | undefined;
  /** 0…1, default 0.5. */
  confidence?: number | undefined;
  sourceTaskId?: string | null | undefined;
}

export interface StoreResult {
  entry: MemoryEntry;
  status: StoreStatus;
}

export interface ListInput {
  agentId: string;
  tag?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface ListResult {
  entries: MemoryEntry[];
  nextCursor: string | null;
}

export interface SearchInput {
  /** Agents to search; omitted = every agent and the pattern scope (an admin operation at the edge). */
  agentIds?: readonly string[] | undefined;
  query: string;
  tag?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  limit?: number | undefined;
}

export interface SearchResult {
  results: { entry: MemoryEntry; score: number }[];
  /** Safe terms the query was reduced to. */
  terms: number;
  strategy: SearchStrategy;
}

export interface RecallInput {
  agentId: string;
  /** The task text to match (title + prompt). */
  text: string;
  /** Memories at most (default 5). */
  topK?: number | undefined;
  /** Characters the whole block may take, delimiters included (default 2000). */
  charBudget?: number | undefined;
}

export interface RecallResult {
  /** `[MEMORY] … [/MEMORY]`, or "" when nothing matched or fit. Prepend it followed by a blank line. */
  block: string;
  /** `block.length` (UTF-16 units, as the budget counts). */
  chars: number;
  /** Memories in the block. */
  count: number;
  /** Their keys, for the task record. */
  keys: string[];
  entryIds: string[];
}

export interface ExtractInput {
  taskId: string;
  agentId: string;
  output: string;
}

export interface ExtractResult {
  /** Well-formed blocks found (before the per-output cap). */
  blocks: number;
  created: number;
  updated: number;
  unchanged: number;
  malformed: number;
  reasons: Partial<Record<MalformedReason, number>>;
  /** Well-formed blocks past the per-output cap. */
  skipped: number;
}

export interface RotateInput {
  /** Re-encrypt every entry under a fresh per-agent key (default). False: only re-wrap agent keys under the primary KEK. */
  reencrypt?: boolean | undefined;
  /** Limit to these agents (default: all, including the pattern scope). */
  agentIds?: readonly string[] | undefined;
}

export interface RotationResult {
  primaryKekId: string;
  agents: number;
  /** Entries re-encrypted and re-indexed. */
  entries: number;
  merges: number;
  /** Agent key records re-wrapped without re-encryption. */
  rewrapped: number;
  failed: { agentId: string; reason: string }[];
  durationMs: number;
}

export interface RecoverInput {
  /** `m3shd-mrk-sec-v1:…`, from offline storage. Never logged. */
  recoveryPrivateKey: string;
  /** Re-wrap every agent key, not only those whose KEK is missing. */
  all?: boolean | undefined;
}

/** The memory service: encrypted store, blind-index search, extract, recall, consolidate, key management. */
export interface MemoryService {
  store(input: StoreInput): StoreResult;
  /** Several upserts in one transaction (extraction, imports, the benchmark). */
  storeMany(inputs: readonly StoreInput[]): StoreResult[];
  get(agentId: string, key: string): MemoryEntry | null;
  list(input: ListInput): ListResult;
  search(input: SearchInput): SearchResult;
  delete(agentId: string, key: string): boolean;
  extract(input: ExtractInput): ExtractResult;
  recall(input: RecallInput): RecallResult;
  consolidate(input?: { agentId?: string | undefined }): Promise<ConsolidationResult>;
  rotate(input?: RotateInput): Promise<RotationResult>;
  /** Marks a KEK retired; refused while it is primary or still wraps an agent key. */
  retireKek(kekId: string): void;
  recover(input: RecoverInput): {
    recovered: number;
    failed: { agentId: string; generation: number; reason: string }[];
  };
  keyStatus(): KeyStatus;
  /** Agents with memories (and the pattern scope when it exists). */
  agents(): string[];
  /** Decrypted merge records of an agent (audit of consolidation). */
  merges(agentId: string): { id: string; details: unknown }[];
  /** Closes the database and forgets unwrapped keys. Safe to call twice. */
  close(): void;
  readonly dbPath: string;
}

/** C0/C1 control characters (newlines included): never part of a key or tag. */
const CONTROL = /\p{Cc}/u;

function issue(path: string, message: string) {
  return [{ path: [path], code: "custom", message }];
}

/** An agent id, or the pattern scope when allowed. */
function checkAgentId(agentId: unknown, allowPatternScope: boolean): string {
  if (allowPatternScope && agentId === PATTERN_SCOPE) return PATTERN_SCOPE;
  const parsed = AgentIdSchema.safeParse(agentId);
  if (!parsed.success)
    throw new ValidationError(
      "Invalid agent id",
      issue("agent_id", parsed.error.issues[0]?.message ?? "invalid"),
    );
  return parsed.data;
}

/** A key, normalized and within limits. */
export function checkKey(key: unknown): string {
  if (typeof key !== "string")
    throw new ValidationError("Key must be a string", issue("key", "expected string"));
  if (key.length > MEMORY_LIMITS.keyChars * 4)
    throw new LimitExceededError("key", MEMORY_LIMITS.keyChars, key.length);
  const normalized = normalizeKey(key);
  if (normalized.length === 0) throw new ValidationError("Key is empty", issue("key", "empty"));
  if (normalized.length > MEMORY_LIMITS.keyChars) {
    throw new LimitExceededError("key", MEMORY_LIMITS.keyChars, normalized.length);
  }
  if (CONTROL.test(normalized))
    throw new ValidationError("Key contains control characters", issue("key", "control characters"));
  return normalized;
}

function checkTag(tag: unknown): string {
  if (typeof tag !== "string")
    throw new ValidationError("Tag must be a string", issue("tags", "expected string"));
  const normalized = normalizeTag(tag);
  if (normalized.length === 0) throw new ValidationError("Tag is empty", issue("tags", "empty"));
  if (normalized.length > MEMORY_LIMITS.tagChars)
    throw new LimitExceededError("tag", MEMORY_LIMITS.tagChars, normalized.length);
  if (CONTROL.test(normalized))
    throw new ValidationError("Tag contains control characters", issue("tags", "control characters"));
  return normalized;
}

function checkStore(input: StoreInput, allowPatternScope: boolean) {
  const agentId = checkAgentId(input.agentId, allowPatternScope);
  const key = checkKey(input.key);
  if (typeof input.value !== "string")
    throw new ValidationError("Value must be a string", issue("value", "expected string"));
  if (input.value.trim().length === 0) throw new ValidationError("Value is empty", issue("value", "empty"));
  const bytes = utf8ByteLength(input.value);
  if (bytes > MEMORY_LIMITS.valueBytes)
    throw new LimitExceededError("value", MEMORY_LIMITS.valueBytes, bytes);
  const rawTags = input.tags ?? [];
  if (rawTags.length > MEMORY_LIMITS.tagsMax)
    throw new LimitExceededError("tags", MEMORY_LIMITS.tagsMax, rawTags.length);
  const tags = normalizeTags(rawTags.map(checkTag));
  const confidence = input.confidence ?? 0.5;
  if (typeof confidence !== "number" || !Number.isFinite(confidence) || confidence < 0 || confidence > 1) {
    throw new ValidationError("Confidence must be between 0 and 1", issue("confidence", "out of range"));
  }
  let sourceTaskId: string | null = null;
  if (input.sourceTaskId !== undefined && input.sourceTaskId !== null) {
    const parsed = TaskIdSchema.safeParse(input.sourceTaskId);
    if (!parsed.success)
      throw new ValidationError("Invalid source task id", issue("source_task_id", "expected task_<ULID>"));
    sourceTaskId = parsed.data;
  }
  return { agentId, key, value: input.value, tags, confidence, sourceTaskId };
}

function checkLimit(limit: number | undefined, fallback: number, max: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1)
    throw new ValidationError("Invalid limit", issue("limit", "positive integer"));
  return Math.min(limit, max);
}

function checkTime(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ValidationError(`Invalid ${name}`, issue(name, "epoch ms"));
  return value;
}

/** Opens (creating and migrating) the memory database and returns the service over it. */
export function createMemoryService(options: MemoryServiceOptions): MemoryService {
  const logger = options.logger ?? pino({ level: "silent" });
  const now = options.now ?? Date.now;
  const ring = parseKekRing(options.kek);
  const recovery = options.recoveryPublicKey ? parseRecoveryPublicKey(options.recoveryPublicKey) : null;
  const db: Sqlite = openMemoryDatabase({
    path: options.dbPath,
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
  });
  let keys: KeyManager;
  try {
    keys = new KeyManager(db, ring, recovery, now);
  } catch (err) {
    db.close();
    throw err;
  }
  const store = new MemoryStore(db, keys, {
    docFrequencyBudget: options.searchDocFrequencyBudget ?? 1500,
  });
  const consolidation: ConsolidationOptions = {
    confidenceMargin: options.consolidation?.confidenceMargin ?? 0.2,
    patternMinAgents: options.consolidation?.patternMinAgents ?? 2,
  };
  const status = keys.status();
  if (status.missingKekIds.length > 0) {
    logger.error(
      { missingKekIds: status.missingKekIds },
      "memory keys are wrapped by KEKs that are not loaded; those agents are unreadable until recovered (docs/memory.md)",
    );
  }
  let closed = false;

  const storeMany = (inputs: readonly StoreInput[]): StoreResult[] => {
    // The pattern scope is written only by consolidation, never through store().
    const checked = inputs.map((input) => checkStore(input, false));
    const at = now();
    return db
      .transaction(() => store.batch(() => checked.map((c) => store.upsert({ ...c, updatedAt: at }))))
      .immediate();
  };

  const search = (input: SearchInput): SearchResult => {
    const agentIds = input.agentIds ? input.agentIds.map((a) => checkAgentId(a, true)) : keys.agents();
    if (agentIds.length > MEMORY_LIMITS.searchAgentsMax) {
      throw new LimitExceededError("agents", MEMORY_LIMITS.searchAgentsMax, agentIds.length);
    }
    const terms = extractTerms(
      String(input.query ?? ""),
      MEMORY_LIMITS.queryTermsMax,
      MEMORY_LIMITS.queryBytes * 4,
    );
    const { hits, strategy } = store.search(
      agentIds,
      terms,
      {
        tag: input.tag === undefined ? undefined : checkTag(input.tag),
        since: checkTime(input.since, "since"),
        until: checkTime(input.until, "until"),
      },
      checkLimit(input.limit, MEMORY_LIMITS.listLimitDefault, MEMORY_LIMITS.listLimitMax),
    );
    return { results: hits, terms: terms.length, strategy };
  };

  const service: MemoryService = {
    dbPath: options.dbPath,

    store(input) {
      const [result] = storeMany([input]);
      if (!result) throw new Error("store returned nothing");
      return result;
    },

    storeMany(inputs) {
      return storeMany(inputs);
    },

    get(agentId, key) {
      const row = store.findByKey(checkAgentId(agentId, true), checkKey(key));
      return row ? store.decode(row) : null;
    },

    list(input) {
      const agentId = checkAgentId(input.agentId, true);
      const limit = checkLimit(input.limit, MEMORY_LIMITS.listLimitDefault, MEMORY_LIMITS.listLimitMax);
      const after = input.cursor ? decodeCursor(input.cursor) : null;
      const page = store.list(
        agentId,
        {
          tag: input.tag === undefined ? undefined : checkTag(input.tag),
          since: checkTime(input.since, "since"),
          until: checkTime(input.until, "until"),
        },
        limit,
        after,
      );
      return { entries: page.entries, nextCursor: page.last ? encodeCursor(page.last) : null };
    },

    search,

    delete(agentId, key) {
      const agent = checkAgentId(agentId, true);
      const normalized = checkKey(key);
      return db.transaction(() => store.deleteByKey(agent, normalized)).immediate();
    },

    extract(input) {
      const agentId = checkAgentId(input.agentId, false);
      const task = TaskIdSchema.safeParse(input.taskId);
      if (!task.success)
        throw new ValidationError("Invalid task id", issue("task_id", "expected task_<ULID>"));
      const sourceTaskId = task.data;
      const parsed = parseRememberBlocks(input.output);
      const result: ExtractResult = {
        blocks: parsed.blocks.length + parsed.skipped,
        created: 0,
        updated: 0,
        unchanged: 0,
        malformed: parsed.malformed,
        reasons: parsed.reasons,
        skipped: parsed.skipped,
      };
      // The same key twice in one output: the last block wins, and only it is written, so a
      // redelivered job finds every entry `unchanged` (no flip-flop through the earlier value).
      const lastByKey = new Map<string, { key: string; value: string }>();
      for (const block of parsed.blocks) {
        const identity = identityKey(block.key);
        lastByKey.delete(identity);
        lastByKey.set(identity, block);
      }
      if (lastByKey.size > 0) {
        const stored = storeMany(
          [...lastByKey.values()].map((b) => ({
            agentId,
            key: b.key,
            value: b.value,
            tags: ["source:extract"],
            sourceTaskId,
          })),
        );
        for (const s of stored) result[s.status]++;
      }
      // Counts only: keys and values are secrets and never reach a log line.
      logger.info(
        {
          taskId: sourceTaskId,
          agentId,
          created: result.created,
          updated: result.updated,
          unchanged: result.unchanged,
          malformed: result.malformed,
          skipped: result.skipped,
        },
        "memory extracted",
      );
      return result;
    },

    recall(input) {
      const agentId = checkAgentId(input.agentId, false);
      const topK = checkLimit(input.topK, MEMORY_LIMITS.recallTopKDefault, MEMORY_LIMITS.recallTopKMax);
      const budget = input.charBudget ?? MEMORY_LIMITS.recallCharBudgetDefault;
      if (!Number.isInteger(budget) || budget < 0) {
        throw new ValidationError("Invalid char budget", issue("char_budget", "non-negative integer"));
      }
      const charBudget = Math.min(budget, MEMORY_LIMITS.recallCharBudgetMax);
      const terms = extractTerms(
        String(input.text ?? ""),
        MEMORY_LIMITS.recallTermsMax,
        MEMORY_LIMITS.recallTextChars,
      );
      const { hits } = store.search([agentId], terms, {}, topK);
      const { block, included } = buildMemoryBlock(
        hits.map((h) => h.entry),
        charBudget,
      );
      const entries = included.map((i) => hits[i]?.entry).filter((e): e is MemoryEntry => e !== undefined);
      return {
        block,
        chars: block.length,
        count: entries.length,
        keys: entries.map((e) => e.key),
        entryIds: entries.map((e) => e.id),
      };
    },

    async consolidate(input = {}) {
      const agentId = input.agentId === undefined ? undefined : checkAgentId(input.agentId, false);
      return consolidate({ db, keys, store, now, logger, options: consolidation }, { agentId });
    },

    async rotate(input = {}) {
      const t0 = performance.now();
      const reencrypt = input.reencrypt ?? true;
      const agents = input.agentIds ? input.agentIds.map((a) => checkAgentId(a, true)) : keys.agents();
      const result: RotationResult = {
        primaryKekId: keys.primary.id,
        agents: 0,
        entries: 0,
        merges: 0,
        rewrapped: 0,
        failed: [],
        durationMs: 0,
      };
      for (const agentId of agents) {
        try {
          // One agent per transaction: an agent's rows are never split across key generations.
          db.transaction(() => {
            if (!reencrypt) {
              result.rewrapped += keys.rewrapAgent(agentId);
              return;
            }
            const decoded = store.rowsOf(agentId).map((row) => ({ seq: row.seq, entry: store.decode(row) }));
            const { next } = keys.nextGeneration(agentId);
            store.batch(() => {
              for (const d of decoded) store.rewrite(d.seq, d.entry, next);
            });
            result.merges += store.reencryptMerges(agentId, next);
            keys.dropOlderGenerations(agentId, next.generation);
            result.entries += decoded.length;
          }).immediate();
          result.agents++;
        } catch (err) {
          result.failed.push({ agentId, reason: err instanceof Error ? err.message : String(err) });
        }
        await yieldToLoop();
      }
      // Old-generation ciphertexts and wrapped keys linger in WAL frames until a checkpoint copies
      // the new pages over them; truncating the WAL now leaves no superseded copy on disk.
      try {
        db.pragma("wal_checkpoint(TRUNCATE)");
      } catch (err) {
        logger.warn({ err }, "WAL checkpoint after rotation failed; it will happen on the next checkpoint");
      }
      result.durationMs = performance.now() - t0;
      logger.info(
        {
          primaryKekId: result.primaryKekId,
          reencrypt,
          agents: result.agents,
          entries: result.entries,
          rewrapped: result.rewrapped,
          failed: result.failed.length,
        },
        "memory key rotation finished",
      );
      return result;
    },

    retireKek(kekId) {
      keys.retire(kekId);
      logger.info({ kekId }, "memory KEK retired");
    },

    recover(input) {
      const recoveryKey = parseRecoveryPrivateKey(input.recoveryPrivateKey);
      const result = keys.recover(recoveryKey, { all: input.all ?? false });
      logger.warn(
        { recovered: result.recovered, failed: result.failed.length, primaryKekId: keys.primary.id },
        "memory KEK recovery finished",
      );
      return result;
    },

    keyStatus() {
      return keys.status();
    },

    agents() {
      return keys.agents();
    },

    merges(agentId) {
      return store.merges(checkAgentId(agentId, true));
    },

    close() {
      if (closed) return;
      closed = true;
      keys.clear();
      db.close();
    },
  };
  return service;
}

export { PATTERN_SCOPE };
