import { LIMITS } from "@m3shd/protocol";
import { describe, expect, it } from "vitest";
import { ChunkStreamer, type SendOutcome } from "./streamer";

function harness(outcomes: SendOutcome[] = []) {
  const sent: { content: string; seq: number; at: number }[] = [];
  let gone = 0;
  const started = Date.now();
  const streamer = new ChunkStreamer({
    flushMs: 50,
    flushBytes: 100,
    retryMs: 20,
    send: async (content, seq) => {
      const outcome = outcomes.shift() ?? "sent";
      if (outcome === "sent") sent.push({ content, seq, at: Date.now() - started });
      return outcome;
    },
    onGone: () => {
      gone++;
    },
  });
  return { streamer, sent, gone: () => gone };
}

describe("ChunkStreamer", () => {
  it("batches small pieces into one chunk per flush interval", async () => {
    const { streamer, sent } = harness();
    for (let i = 0; i < 20; i++) streamer.push("ab");
    await new Promise((r) => setTimeout(r, 120));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ content: "ab".repeat(20), seq: 0 });
    expect(sent[0]?.at).toBeGreaterThanOrEqual(45);
    await streamer.close();
  });

  it("sends at once when the byte threshold is reached, and numbers chunks from 0", async () => {
    const { streamer, sent } = harness();
    streamer.push("x".repeat(150));
    await new Promise((r) => setTimeout(r, 10));
    expect(sent.map((s) => s.seq)).toEqual([0]);
    streamer.push("tail");
    await streamer.close();
    expect(sent.map((s) => s.content)).toEqual(["x".repeat(150), "tail"]);
    expect(sent.map((s) => s.seq)).toEqual([0, 1]);
    expect(streamer.text).toBe(`${"x".repeat(150)}tail`);
  });

  it("re-sends a failed chunk under the same seq", async () => {
    const { streamer, sent } = harness(["retry", "retry", "sent"]);
    streamer.push("x".repeat(120));
    await new Promise((r) => setTimeout(r, 120));
    expect(sent).toEqual([expect.objectContaining({ content: "x".repeat(120), seq: 0 })]);
    await streamer.close();
  });

  it("splits text larger than the hub's chunk limit", async () => {
    const { streamer, sent } = harness();
    const big = "é".repeat(LIMITS.streamChunkBytes); // 2 bytes each: two chunks' worth
    streamer.push(big);
    await streamer.close();
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.every((s) => Buffer.byteLength(s.content) <= LIMITS.streamChunkBytes)).toBe(true);
    expect(sent.map((s) => s.content).join("")).toBe(big);
  });

  it("stops and reports when the task is gone", async () => {
    const { streamer, sent, gone } = harness(["gone"]);
    streamer.push("x".repeat(200));
    await new Promise((r) => setTimeout(r, 20));
    streamer.push("more");
    await streamer.close();
    expect(sent).toHaveLength(0);
    expect(gone()).toBe(1);
    expect(streamer.text).toBe(`${"x".repeat(200)}more`);
  });

  it("close() gives up on a hub that is not taking chunks instead of spinning", async () => {
    const { streamer } = harness(["retry", "retry", "retry", "retry"]);
    streamer.push("abc");
    const started = Date.now();
    await streamer.close();
    expect(Date.now() - started).toBeLessThan(100);
  });
});
