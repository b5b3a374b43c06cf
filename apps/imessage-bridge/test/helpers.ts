import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { onTestFinished } from "vitest";
import { HandleFilter } from "../src/handles";
import { Inbox, type InboxOptions } from "../src/inbox";
import { BridgeState } from "../src/state";
import { createChatDb, type Gen, MessagesWriter } from "./chat-db-fixture";

export const OPERATOR = "+15555550123";
export const STRANGER = "+15555550999";
export const PREFIX = "⟐ ";

interface Example {
  id: string;
  attributedBody_hex: string;
  expected_text: string | null;
  match: string;
}
export const BODIES = (
  JSON.parse(readFileSync(new URL("./fixtures/attributed-body-examples.json", import.meta.url), "utf8")) as {
    examples: Example[];
  }
).examples;

/**
 * A temp "~/Library/Messages" with a real chat.db of one generation, and the bridge's data dir.
 * Removed after the test (or, from a `beforeAll`, pass `afterAll` as `teardown`).
 */
export function messagesHome(gen: Gen, teardown: (fn: () => Promise<void>) => void = onTestFinished) {
  const root = mkdtempSync(join(tmpdir(), `m3shd-imsg-${gen}-`));
  const messagesDir = join(root, "Library", "Messages");
  const attachmentsRoot = join(messagesDir, "Attachments");
  const dataDir = join(root, "bridge");
  mkdirSync(attachmentsRoot, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  const chatDbPath = createChatDb(messagesDir, gen);
  const writer = new MessagesWriter(chatDbPath, gen);
  const operator = writer.handle(OPERATOR);
  const stranger = writer.handle(STRANGER);
  const dm = writer.chat({ handles: [operator], identifier: OPERATOR });
  const strangerDm = writer.chat({ handles: [stranger], identifier: STRANGER });
  const group = writer.chat({
    handles: [operator, stranger],
    group: true,
    identifier: "chat493028137459312",
  });
  const states: BridgeState[] = [];
  const inboxes: Inbox[] = [];
  teardown(async () => {
    for (const i of inboxes) await i.stop();
    for (const s of states) s.close();
    writer.close();
    rmSync(root, { recursive: true, force: true });
  });
  return {
    root,
    gen,
    messagesDir,
    attachmentsRoot,
    dataDir,
    chatDbPath,
    writer,
    handles: { operator, stranger },
    chats: { dm, strangerDm, group },
    openState(): BridgeState {
      const s = new BridgeState(join(dataDir, "bridge.db"));
      states.push(s);
      return s;
    },
    inbox(state: BridgeState, options: Partial<InboxOptions> = {}): Inbox {
      const inbox = new Inbox(state, {
        chatDbPath,
        attachmentsRoot,
        filter: new HandleFilter([OPERATOR]),
        relayPrefix: PREFIX,
        pollMs: 250,
        settleMs: 150,
        echoWindowMs: 600_000,
        stallMs: 5_000,
        startAt: "latest",
        ...options,
      });
      inboxes.push(inbox);
      return inbox;
    },
  };
}

/** Puts test/bin (the fake osascript) first on PATH for this test; returns its argv log path. */
export function fakeOsascript(env: { chatDbPath: string; root: string }, extra: Record<string, string> = {}) {
  const log = join(env.root, "osascript.jsonl");
  const saved = { ...process.env };
  process.env.PATH = `${new URL("./bin", import.meta.url).pathname}${delimiter}${process.env.PATH ?? ""}`;
  process.env.FAKE_OSASCRIPT_LOG = log;
  process.env.FAKE_MESSAGES_DB = env.chatDbPath;
  process.env.FAKE_BSQ_FROM = createRequire(import.meta.url).resolve("better-sqlite3");
  for (const [k, v] of Object.entries(extra)) process.env[k] = v;
  onTestFinished(() => {
    process.env = saved;
  });
  return {
    log,
    calls(): { argv: string[]; stdin: string }[] {
      try {
        return readFileSync(log, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { argv: string[]; stdin: string });
      } catch {
        return [];
      }
    },
  };
}

/** Polls real state until `fn` is truthy (no fixed sleeps). */
type Truthy<T> = Exclude<T, false | null | undefined | 0 | "">;
export async function until<T>(
  fn: () => T | Promise<T>,
  ms = 10_000,
  what = "condition",
): Promise<Truthy<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as Truthy<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Inbound messages the inbox queued, oldest first. */
export function queued(state: BridgeState) {
  return (
    state.db.prepare("SELECT body FROM inbound ORDER BY created_at, rowid").all() as { body: string }[]
  ).map((r) => JSON.parse(r.body) as import("../src/state").InboundMessage);
}
