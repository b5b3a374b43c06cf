import { randomBytes } from "node:crypto";
import { ConflictError, UnavailableError } from "@m3shd/protocol";
import { Blinder } from "./crypto/blind";
import {
  AGENT_ROOT_BYTES,
  type AgentKeys,
  deriveAgentKeys,
  type Kek,
  unwrapAgentRoot,
  wrapAgentRoot,
} from "./crypto/kek";
import {
  openWithRecoveryKey,
  type RecoveryPrivateKey,
  type RecoveryPublicKey,
  sealForRecovery,
} from "./crypto/recovery";
import type { Sqlite } from "./db";

/** One unwrapped key generation of one agent. */
export interface AgentKeySet {
  agentId: string;
  generation: number;
  keys: AgentKeys;
  blinder: Blinder;
}

interface AgentKeyRow {
  agent_id: string;
  generation: number;
  kek_id: string;
  wrapped: Buffer;
  recovery_key_id: string | null;
  recovery_sealed: Buffer | null;
  created_at: number;
}

/** Status of one KEK as the database and this process see it. */
export interface KekStatus {
  id: string;
  /** This process holds the key. */
  loaded: boolean;
  primary: boolean;
  addedAt: number | null;
  retiredAt: number | null;
  /** Agent key records wrapped under it. Must be 0 before it can be retired. */
  agentKeys: number;
}

export interface KeyStatus {
  primaryKekId: string;
  keks: KekStatus[];
  /** KEK ids that wrap agent keys but are not loaded: those agents are unreadable until recovered. */
  missingKekIds: string[];
  recoveryKeyId: string | null;
  /** Agent key records with no escrow envelope for the configured recovery key. */
  agentKeysWithoutRecovery: number;
}

function prepareKeyStatements(db: Sqlite) {
  return {
    current: db.prepare<[string], AgentKeyRow>(
      "SELECT * FROM agent_keys WHERE agent_id = ? ORDER BY generation DESC LIMIT 1",
    ),
    generation: db.prepare<[string, number], AgentKeyRow>(
      "SELECT * FROM agent_keys WHERE agent_id = ? AND generation = ?",
    ),
    ofAgent: db.prepare<[string], AgentKeyRow>(
      "SELECT * FROM agent_keys WHERE agent_id = ? ORDER BY generation",
    ),
    all: db.prepare<[], AgentKeyRow>("SELECT * FROM agent_keys ORDER BY agent_id, generation"),
    agents: db.prepare<[], string>("SELECT DISTINCT agent_id FROM agent_keys ORDER BY agent_id").pluck(),
    insert: db.prepare(
      `INSERT INTO agent_keys (agent_id, generation, kek_id, wrapped, recovery_key_id, recovery_sealed, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    rewrap: db.prepare(
      `UPDATE agent_keys SET kek_id = ?, wrapped = ?, recovery_key_id = ?, recovery_sealed = ?
       WHERE agent_id = ? AND generation = ?`,
    ),
    deleteOlder: db.prepare("DELETE FROM agent_keys WHERE agent_id = ? AND generation < ?"),
    registerKek: db.prepare("INSERT OR IGNORE INTO keks (kek_id, added_at) VALUES (?, ?)"),
    kekRows: db.prepare<[], { kek_id: string; added_at: number; retired_at: number | null }>(
      "SELECT * FROM keks ORDER BY added_at, kek_id",
    ),
    kekUse: db.prepare<[], { kek_id: string; n: number }>(
      "SELECT kek_id, count(*) AS n FROM agent_keys GROUP BY kek_id",
    ),
    retire: db.prepare("UPDATE keks SET retired_at = ? WHERE kek_id = ? AND retired_at IS NULL"),
    withoutRecovery: db
      .prepare<[string], number>(
        "SELECT count(*) FROM agent_keys WHERE recovery_key_id IS NULL OR recovery_key_id != ?",
      )
      .pluck(),
  };
}

/**
 * Per-agent data keys: created on an agent's first write, wrapped under the primary KEK (and sealed
 * to the recovery public key when one is configured), unwrapped on demand and cached in memory.
 * Reads always use the agent's newest generation: a re-encrypting rotation moves all of an agent's
 * rows to a new generation in one transaction, so rows never straddle generations at commit.
 */
export class KeyManager {
  readonly #db: Sqlite;
  readonly #ring: Kek[];
  readonly #recovery: RecoveryPublicKey | null;
  readonly #now: () => number;
  readonly #cache = new Map<string, AgentKeySet>();
  readonly #stmts: ReturnType<typeof prepareKeyStatements>;

  constructor(db: Sqlite, ring: Kek[], recovery: RecoveryPublicKey | null, now: () => number) {
    const primary = ring[0];
    if (!primary) throw new TypeError("At least one KEK is required");
    this.#db = db;
    this.#ring = ring;
    this.#recovery = recovery;
    this.#now = now;
    this.#stmts = prepareKeyStatements(db);
    const retired = new Set(
      this.#stmts.kekRows
        .all()
        .filter((r) => r.retired_at !== null)
        .map((r) => r.kek_id),
    );
    if (retired.has(primary.id)) {
      throw new Error(
        `The primary KEK ${primary.id} was retired; put a current KEK first in the key ring (see docs/memory.md)`,
      );
    }
    const now0 = now();
    for (const kek of ring) this.#stmts.registerKek.run(kek.id, now0);
  }

  get primary(): Kek {
    return this.#ring[0] as Kek;
  }

  get recoveryKeyId(): string | null {
    return this.#recovery?.id ?? null;
  }

  #kek(id: string): Kek | undefined {
    return this.#ring.find((k) => k.id === id);
  }

  #unwrap(row: AgentKeyRow): Buffer {
    const kek = this.#kek(row.kek_id);
    if (!kek) {
      throw new UnavailableError(
        `The memory key of agent ${row.agent_id} is wrapped by a KEK that is not loaded`,
        {
          agent_id: row.agent_id,
          kek_id: row.kek_id,
        },
      );
    }
    const root = unwrapAgentRoot(kek, row.wrapped, row.agent_id, row.generation);
    // A record that fails authentication under the right KEK was tampered with or moved: never guess.
    if (!root) throw new Error(`Agent key record ${row.agent_id}/${row.generation} failed authentication`);
    return root;
  }

  #keySet(row: AgentKeyRow): AgentKeySet {
    const cacheKey = `${row.agent_id}\0${row.generation}`;
    const cached = this.#cache.get(cacheKey);
    if (cached) return cached;
    const root = this.#unwrap(row);
    const keys = deriveAgentKeys(root);
    root.fill(0);
    const set: AgentKeySet = {
      agentId: row.agent_id,
      generation: row.generation,
      keys,
      blinder: new Blinder(keys.idx),
    };
    this.#cache.set(cacheKey, set);
    return set;
  }

  /** The agent's newest key generation, or null when it has never stored anything. */
  current(agentId: string): AgentKeySet | null {
    const row = this.#stmts.current.get(agentId);
    return row ? this.#keySet(row) : null;
  }

  /** A specific generation (for rows written before a rotation committed elsewhere). */
  generation(agentId: string, generation: number): AgentKeySet {
    // Cached sets are immutable per (agent, generation): re-wrapping changes the wrapper, not the key.
    const cached = this.#cache.get(`${agentId}\0${generation}`);
    if (cached) return cached;
    const row = this.#stmts.generation.get(agentId, generation);
    if (!row) throw new Error(`No key generation ${generation} for agent ${agentId}`);
    return this.#keySet(row);
  }

  /** The newest generation, created (under the primary KEK) when the agent has none. Call inside a write transaction. */
  currentOrCreate(agentId: string): AgentKeySet {
    return this.current(agentId) ?? this.#create(agentId, 1);
  }

  #create(agentId: string, generation: number): AgentKeySet {
    const root = randomBytes(AGENT_ROOT_BYTES);
    const wrapped = wrapAgentRoot(this.primary, root, agentId, generation);
    const escrow = this.#recovery ? sealForRecovery(this.#recovery, root, agentId, generation) : null;
    this.#stmts.insert.run(
      agentId,
      generation,
      this.primary.id,
      wrapped,
      this.#recovery?.id ?? null,
      escrow,
      this.#now(),
    );
    root.fill(0);
    const row = this.#stmts.generation.get(agentId, generation);
    if (!row) throw new Error("agent key insert vanished");
    return this.#keySet(row);
  }

  /** A fresh generation for a re-encrypting rotation. Call inside the agent's rotation transaction. */
  nextGeneration(agentId: string): { previous: AgentKeySet | null; next: AgentKeySet } {
    const previous = this.current(agentId);
    const next = this.#create(agentId, (previous?.generation ?? 0) + 1);
    return { previous, next };
  }

  /** Drops generations older than `generation` once nothing refers to them. */
  dropOlderGenerations(agentId: string, generation: number): void {
    this.#stmts.deleteOlder.run(agentId, generation);
    for (const key of [...this.#cache.keys()]) {
      const [agent, gen] = key.split("\0");
      if (agent === agentId && Number(gen) < generation) this.#cache.delete(key);
    }
  }

  /**
   * Re-wraps every generation of an agent under the primary KEK (and re-seals the escrow to the
   * configured recovery key). Returns how many records changed. Call inside a transaction.
   */
  rewrapAgent(agentId: string): number {
    let changed = 0;
    for (const row of this.#stmts.ofAgent.all(agentId)) {
      const needsKek = row.kek_id !== this.primary.id;
      const needsEscrow = this.#recovery !== null && row.recovery_key_id !== this.#recovery.id;
      if (!needsKek && !needsEscrow) continue;
      const root = this.#unwrap(row);
      this.#writeWrap(row, root);
      root.fill(0);
      changed++;
    }
    return changed;
  }

  #writeWrap(row: AgentKeyRow, root: Buffer): void {
    const wrapped = wrapAgentRoot(this.primary, root, row.agent_id, row.generation);
    const escrow = this.#recovery
      ? sealForRecovery(this.#recovery, root, row.agent_id, row.generation)
      : row.recovery_sealed;
    const escrowId = this.#recovery ? this.#recovery.id : row.recovery_key_id;
    this.#stmts.rewrap.run(this.primary.id, wrapped, escrowId, escrow, row.agent_id, row.generation);
  }

  /** Every agent (including the pattern scope) that has key material. */
  agents(): string[] {
    return this.#stmts.agents.all();
  }

  /**
   * KEK recovery: opens escrow envelopes with the offline recovery private key and re-wraps them
   * under the primary KEK. By default only records whose KEK is not loaded; `all` re-wraps every one.
   */
  recover(
    recoveryKey: RecoveryPrivateKey,
    options: { all?: boolean } = {},
  ): { recovered: number; failed: { agentId: string; generation: number; reason: string }[] } {
    let recovered = 0;
    const failed: { agentId: string; generation: number; reason: string }[] = [];
    const run = this.#db.transaction(() => {
      for (const row of this.#stmts.all.all()) {
        if (!options.all && this.#kek(row.kek_id)) continue;
        if (!row.recovery_sealed) {
          failed.push({ agentId: row.agent_id, generation: row.generation, reason: "no_escrow" });
          continue;
        }
        if (row.recovery_key_id !== recoveryKey.id) {
          failed.push({ agentId: row.agent_id, generation: row.generation, reason: "other_recovery_key" });
          continue;
        }
        const root = openWithRecoveryKey(recoveryKey, row.recovery_sealed, row.agent_id, row.generation);
        if (!root || root.length !== AGENT_ROOT_BYTES) {
          failed.push({
            agentId: row.agent_id,
            generation: row.generation,
            reason: "escrow_failed_authentication",
          });
          continue;
        }
        this.#writeWrap(row, root);
        root.fill(0);
        this.#cache.delete(`${row.agent_id}\0${row.generation}`);
        recovered++;
      }
    });
    run.immediate();
    return { recovered, failed };
  }

  /** Marks a KEK retired. Refused while it is primary or still wraps any agent key. */
  retire(kekId: string): void {
    if (kekId === this.primary.id)
      throw new ConflictError("The primary KEK cannot be retired", { kek_id: kekId });
    const use = this.#stmts.kekUse.all().find((r) => r.kek_id === kekId)?.n ?? 0;
    if (use > 0) {
      throw new ConflictError(`KEK ${kekId} still wraps ${use} agent key(s); rotate first`, {
        kek_id: kekId,
        agent_keys: use,
      });
    }
    const known = this.#stmts.kekRows.all().find((r) => r.kek_id === kekId);
    if (!known) throw new ConflictError(`KEK ${kekId} is not known to this database`, { kek_id: kekId });
    this.#stmts.retire.run(this.#now(), kekId);
  }

  /** What the database and this process know about keys. */
  status(): KeyStatus {
    const use = new Map(this.#stmts.kekUse.all().map((r) => [r.kek_id, r.n]));
    const rows = this.#stmts.kekRows.all();
    const keks: KekStatus[] = rows.map((r) => ({
      id: r.kek_id,
      loaded: this.#kek(r.kek_id) !== undefined,
      primary: r.kek_id === this.primary.id,
      addedAt: r.added_at,
      retiredAt: r.retired_at,
      agentKeys: use.get(r.kek_id) ?? 0,
    }));
    for (const [id, n] of use) {
      if (!keks.some((k) => k.id === id)) {
        keks.push({ id, loaded: false, primary: false, addedAt: null, retiredAt: null, agentKeys: n });
      }
    }
    return {
      primaryKekId: this.primary.id,
      keks,
      missingKekIds: [...use.keys()].filter((id) => !this.#kek(id)),
      recoveryKeyId: this.#recovery?.id ?? null,
      agentKeysWithoutRecovery: this.#recovery
        ? (this.#stmts.withoutRecovery.get(this.#recovery.id) ?? 0)
        : 0,
    };
  }

  /** Forgets every unwrapped key (zero-filled). */
  clear(): void {
    for (const set of this.#cache.values()) {
      set.blinder.clear();
      set.keys.enc.fill(0);
      set.keys.idx.fill(0);
    }
    this.#cache.clear();
  }
}
