import { describe, expect, it } from "vitest";
import { Deliverer, RetryableError } from "../src/deliverer";
import type { BridgeState, InboundMessage } from "../src/state";
import { messagesHome, until } from "./helpers";

function outbox(state: BridgeState): string[] {
  return (state.db.prepare("SELECT text FROM outbox ORDER BY id").all() as { text: string }[]).map(
    (r) => r.text,
  );
}

describe("inbound retry queue", () => {
  it("retries with backoff while the hub is down, keeps order, survives a restart, delivers each once", async () => {
    const env = messagesHome("tahoe");
    let state = env.openState();
    const inbox = env.inbox(state);
    inbox.start();
    for (let i = 0; i < 5; i++)
      env.writer.insert({ chat: env.chats.dm, handle: env.handles.operator, text: `m${i}` });
    await until(() => state.counter("rows.accepted") === 5, 10_000, "five queued");

    let hubUp = false;
    const delivered: string[] = [];
    const attempts: string[] = [];
    const handle = async (m: InboundMessage) => {
      attempts.push(m.text);
      if (!hubUp) throw new RetryableError("connect ECONNREFUSED 127.0.0.1:1");
      delivered.push(m.text);
      return { replies: [`got ${m.text}`] };
    };
    const mk = (s: BridgeState) =>
      new Deliverer(s, {
        handle,
        reply: (chat, text) => s.enqueueOutbound(chat, text, Date.now()),
        baseBackoffMs: 20,
        maxBackoffMs: 100,
        maxAttempts: 1000,
      });
    let d = mk(state);
    d.kick();
    await until(() => attempts.length >= 3, 10_000, "three failed attempts");
    // Only the head of the queue is tried while the hub is down.
    expect(new Set(attempts)).toEqual(new Set(["m0"]));
    await d.stop();
    await inbox.stop();
    state.close();

    state = env.openState();
    expect(state.pendingInbound()).toBe(5);
    hubUp = true;
    d = mk(state);
    d.kick();
    await until(() => delivered.length === 5 && state.pendingInbound() === 0, 10_000, "all delivered");
    expect(delivered).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(outbox(state)).toEqual(["got m0", "got m1", "got m2", "got m3", "got m4"]);
    await d.stop();
  });

  it("answers a refusal (4xx) once instead of retrying forever", async () => {
    const env = messagesHome("sonoma");
    const state = env.openState();
    const inbox = env.inbox(state);
    inbox.start();
    env.writer.insert({ chat: env.chats.dm, handle: env.handles.operator, text: "budget claude 10" });
    await until(() => state.counter("rows.accepted") === 1);
    let calls = 0;
    const d = new Deliverer(state, {
      handle: async () => {
        calls++;
        throw new Error("unknown agent claude");
      },
      reply: (chat, text) => state.enqueueOutbound(chat, text, Date.now()),
      baseBackoffMs: 10,
      maxBackoffMs: 10,
      maxAttempts: 5,
    });
    d.kick();
    await until(() => state.pendingInbound() === 0);
    await d.settled();
    expect(calls).toBe(1);
    expect(outbox(state)).toEqual(["Could not do that: unknown agent claude"]);
    await d.stop();
  });
});
