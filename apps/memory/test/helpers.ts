import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { onTestFinished } from "vitest";
import { generateKek } from "../src/crypto/kek";
import { createMemoryService, type MemoryService, type MemoryServiceOptions } from "../src/service";

/** A fresh temp directory removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "m3shd-memory-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A pino logger writing into an array of lines (to prove secrets never reach logs). */
export function captureLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: "trace" }, stream), lines };
}

/** A controllable clock. */
export function testClock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
      return t;
    },
    set(ms: number) {
      t = ms;
    },
  };
}

export interface ServiceFixture {
  service: MemoryService;
  dir: string;
  dbPath: string;
  kek: string;
}

/** A service on a fresh SQLite file in its own temp directory, closed after the test. */
export function newService(options: Partial<MemoryServiceOptions> = {}): ServiceFixture {
  const dir = tempDir();
  const dbPath = join(dir, "memory.db");
  const kek = generateKek();
  const service = createMemoryService({ dbPath, kek, ...options });
  onTestFinished(() => service.close());
  return { service, dir, dbPath, kek };
}

/** A valid task id (`task_` + ULID). */
export function taskId(n = 0): string {
  return `task_01J9Z3${String(n).padStart(20, "0")}`;
}
