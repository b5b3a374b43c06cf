import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateKek } from "../src/crypto/kek";
import { createMemoryService } from "../src/service";
import { captureLogger, taskId, tempDir, testClock } from "./helpers";

/** Words that occur nowhere by chance, in keys, values and tags, ASCII and not. */
const SECRET_WORDS = [
  "xylophonequartzvoid",
  "zebracornflakesdelta",
  "keynamemarmalade",
  "tagwordpineapplex",
  "Überzwölfkäsebrot",
  "контрабасмолоко",
  "秘密の合言葉テスト",
];

/** Every encoding a word could hide in: as given, lower/upper case, UTF-16LE. */
function needles(word: string): Buffer[] {
  const forms = new Set([word, word.toLowerCase(), word.toUpperCase(), word.normalize("NFKC").toLowerCase()]);
  return [...forms].flatMap((f) => [Buffer.from(f, "utf8"), Buffer.from(f, "utf16le")]);
}

/** Not secret words, but sealed too: no file should hold the source task id in clear either. */
const SEALED_IDS = [taskId(1)];

function scanDir(dir: string): { files: string[]; hits: string[] } {
  const files: string[] = [];
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(dir);
  for (const file of files) {
    const bytes = readFileSync(file);
    for (const word of [...SECRET_WORDS, ...SEALED_IDS]) {
      for (const needle of needles(word)) {
        if (bytes.includes(needle)) hits.push(`${file}: ${word}`);
      }
    }
  }
  return { files, hits };
}

describe("nothing readable at rest", () => {
  let previousTmp: string | undefined;
  beforeEach(() => {
    previousTmp = process.env.SQLITE_TMPDIR;
  });
  afterEach(() => {
    if (previousTmp === undefined) delete process.env.SQLITE_TMPDIR;
    else process.env.SQLITE_TMPDIR = previousTmp;
  });

  it("no distinctive word appears in any file the service wrote (db, WAL, SHM, journals, temp), nor in logs", async () => {
    const dir = tempDir();
    // Any temp file SQLite might create goes into the scanned directory.
    process.env.SQLITE_TMPDIR = dir;
    const clock = testClock();
    const { logger, lines } = captureLogger();
    const service = createMemoryService({
      dbPath: join(dir, "memory.db"),
      kek: generateKek(),
      logger,
      now: clock.now,
    });

    // Every write path: API upsert, extraction, update, search, recall, consolidation, rotation, delete.
    for (let i = 0; i < 50; i++) {
      service.store({
        agentId: `agent-${i % 3}`,
        key: `${SECRET_WORDS[2]} ${i}`,
        value: `The ${SECRET_WORDS[0]} is behind the ${SECRET_WORDS[1]} (${i}); ${SECRET_WORDS[4]} ${SECRET_WORDS[5]} ${SECRET_WORDS[6]}`,
        tags: [SECRET_WORDS[3] as string, `${SECRET_WORDS[3]}:${i % 2}`],
        confidence: 0.7,
      });
      clock.advance(1000);
    }
    service.extract({
      taskId: taskId(1),
      agentId: "agent-0",
      output: `done.\n[REMEMBER] ${SECRET_WORDS[2]} door: ${SECRET_WORDS[0]} ${SECRET_WORDS[6]}\nsecond line [/REMEMBER]`,
    });
    service.store({ agentId: "agent-1", key: `${SECRET_WORDS[2]} 1`, value: `changed ${SECRET_WORDS[1]}` });
    service.store({ agentId: "agent-2", key: "shared fact", value: `${SECRET_WORDS[0]} everywhere` });
    service.store({ agentId: "agent-1", key: "shared-fact", value: `${SECRET_WORDS[0]} everywhere` });
    expect(
      service.search({ agentIds: ["agent-0"], query: SECRET_WORDS[0] as string }).results.length,
    ).toBeGreaterThan(0);
    expect(
      service.search({ query: SECRET_WORDS[5] as string, tag: SECRET_WORDS[3] }).results.length,
    ).toBeGreaterThan(0);
    expect(service.recall({ agentId: "agent-1", text: `find ${SECRET_WORDS[0]}` }).count).toBeGreaterThan(0);
    await service.consolidate();
    expect(service.get("_mesh", "shared fact")?.tags).toContain("source:consolidation");
    await service.rotate();
    expect(service.delete("agent-0", `${SECRET_WORDS[2]} 0`)).toBe(true);

    // Scan while the WAL still holds recent pages…
    const live = scanDir(dir);
    expect(live.files.map((f) => f.slice(dir.length + 1)).sort()).toEqual(
      expect.arrayContaining(["memory.db", "memory.db-shm", "memory.db-wal"]),
    );
    expect(live.hits).toEqual([]);
    // …and after close (checkpoint into the main file).
    service.close();
    const closed = scanDir(dir);
    expect(closed.hits).toEqual([]);
    // The service did work (so the scan is meaningful) and logged it — without a secret word.
    const log = lines.join("");
    expect(log).toContain("memory extracted");
    for (const word of SECRET_WORDS) expect(log).not.toContain(word);
  });

  it("control: the same scan finds the words in a plain FTS5 database (the scan is not vacuous)", () => {
    const dir = tempDir();
    const db = new Database(join(dir, "plain.db"));
    db.pragma("journal_mode = WAL");
    db.exec("CREATE VIRTUAL TABLE f USING fts5 (body)");
    db.prepare("INSERT INTO f (body) VALUES (?)").run(SECRET_WORDS.join(" "));
    expect(scanDir(dir).hits.length).toBeGreaterThan(0);
    db.close();
  });

  it("stores values as ciphertext bound to agent and entry: a row copied to another agent does not decrypt", () => {
    const dir = tempDir();
    const service = createMemoryService({ dbPath: join(dir, "memory.db"), kek: generateKek() });
    try {
      service.store({ agentId: "alpha", key: "k", value: "alpha's secret" });
      service.store({ agentId: "beta", key: "k", value: "beta's secret" });
      // Reach into the file with a second connection and swap the two ciphertexts.
      const db = new Database(join(dir, "memory.db"));
      const rows = db.prepare("SELECT seq, sealed FROM entries ORDER BY seq").all() as {
        seq: number;
        sealed: Buffer;
      }[];
      const [a, b] = rows;
      if (!a || !b) throw new Error("expected two rows");
      db.prepare("UPDATE entries SET sealed = ? WHERE seq = ?").run(b.sealed, a.seq);
      db.close();
      expect(() => service.get("alpha", "k")).toThrow(/failed authentication/);
      expect(service.get("beta", "k")?.value).toBe("beta's secret");
    } finally {
      service.close();
    }
  });
});
