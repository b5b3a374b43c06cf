import { type MeshEvent, UnauthorizedError } from "@m3shd/protocol";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { type ConnectionState, createClient, readSseFrames, type SseFrame } from "../src/index";
import { dropProxy, MASTER, scriptedServer, testMesh, until } from "./helpers";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

async function frames(chunks: string[]): Promise<SseFrame[]> {
  const out: SseFrame[] = [];
  for await (const f of readSseFrames(streamOf(chunks))) out.push(f);
  return out;
}

describe("readSseFrames", () => {
  it("parses id, event, multi-line data, comments and retry across chunk and line-ending splits", async () => {
    const out = await frames([
      ": connected\r",
      "\n\r\nid: 1\nevent: tick\ndata: a\ndata:b\r",
      '\n\nid: 2\r\ndata: {"x":1}\r\n\r\nretry: 250\n\ndata: no id\n\n',
      ": keep",
      "alive\n",
    ]);
    expect(out).toEqual([
      { kind: "comment", text: "connected" },
      { kind: "message", id: "1", event: "tick", data: "a\nb" },
      { kind: "message", id: "2", event: "message", data: '{"x":1}' },
      { kind: "retry", ms: 250 },
      { kind: "message", id: undefined, event: "message", data: "no id" },
      { kind: "comment", text: "keepalive" },
    ]);
  });

  it("splits a multi-byte character across chunks correctly", async () => {
    const bytes = new TextEncoder().encode("data: é\n\n");
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, 7));
        c.enqueue(bytes.slice(7));
        c.close();
      },
    });
    const out: SseFrame[] = [];
    for await (const f of readSseFrames(stream)) out.push(f);
    expect(out).toEqual([{ kind: "message", id: undefined, event: "message", data: "é" }]);
  });
});

describe("mesh events over a real hub", () => {
  it("streams parsed MeshEvents and resumes after the server drops the connection, missing none", async () => {
    const mesh = await testMesh();
    const proxy = await dropProxy(mesh.url);
    const operator = createClient({ baseUrl: mesh.url, token: MASTER });
    const viaProxy = createClient({ baseUrl: proxy.url, token: MASTER });
    const states: ConnectionState[] = [];
    const received: MeshEvent[] = [];
    const stream = viaProxy.events({
      types: ["task_created"],
      reconnect: { baseDelayMs: 400, maxDelayMs: 500 },
      onStateChange: (s) => states.push(s),
    });
    await stream.opened;
    expect(stream.state).toBe("open");
    const consume = (async () => {
      for await (const event of stream) {
        received.push(event);
        if (received.length === 9) break;
      }
    })();
    const ids: string[] = [];
    const create = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const { body } = await operator.tasks.create({
          body: { title: `t${ids.length}`, prompt: "p", required_capability: "echo" },
        });
        ids.push(body.task.id);
      }
    };
    await create(3);
    await until(() => received.length === 3, 5000, "first three events");
    // The server side of the connection goes away; tasks are created while the client is cut off.
    proxy.dropAll();
    await create(3);
    await until(() => stream.reconnects >= 1 && stream.state === "open", 5000, "reconnect");
    await create(3);
    await consume;
    expect(received.map((e) => (e.type === "task_created" ? e.data.task.id : e.type))).toEqual(ids);
    expect(new Set(received.map((e) => e.id)).size).toBe(9);
    expect(stream.lastEventId).toBe(received[8]?.id);
    expect(proxy.connections()).toBeGreaterThanOrEqual(2);
    expect(states).toContain("reconnecting");
    expect(stream.state).toBe("closed");
  });

  it("a resume id the hub no longer has is reported as a gap", async () => {
    const mesh = await testMesh();
    const client = createClient({ baseUrl: mesh.url, token: MASTER });
    let gaps = 0;
    const stream = client.events({ lastEventId: "evt_not_in_the_buffer", onGap: () => gaps++ });
    const first = (async () => {
      for await (const e of stream) return e;
    })();
    await stream.opened;
    await client.tasks.create({ body: { title: "t", prompt: "p", required_capability: "echo" } });
    expect((await first)?.type).toBe("task_created");
    expect(gaps).toBe(1);
  });

  it("a refused token is fatal: no reconnect loop", async () => {
    const mesh = await testMesh();
    const client = createClient({ baseUrl: mesh.url, token: "wrong-token-wrong-token-wrong-token" });
    const stream = client.events({ reconnect: { baseDelayMs: 10 } });
    await expect(stream.opened).rejects.toBeInstanceOf(UnauthorizedError);
    const iterate = async () => {
      for await (const _ of stream) {
        // none
      }
    };
    await expect(iterate()).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(stream.done).rejects.toBeInstanceOf(UnauthorizedError);
    expect(stream.state).toBe("closed");
  });
});

describe("reconnect behaviour against a scripted server", () => {
  const route = {
    id: "diag.ticks",
    method: "GET",
    path: "/ticks",
    permission: "public",
    summary: "ticks",
    tags: [],
    responses: { 200: { kind: "sse", event: z.object({ n: z.int() }) } },
  } as const;

  it("sends Last-Event-ID on reconnect, honours 503 Retry-After, and detects a silent connection", async () => {
    const server = await scriptedServer((_req, res, i) => {
      if (i === 0) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end('id: a1\ndata: {"n":1}\n\nid: a2\ndata: {"n":2}\n\n'); // the server ends the stream
      } else if (i === 1) {
        res.writeHead(503, { "retry-after": "1", "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "unavailable", message: "restarting" } }));
      } else if (i === 2) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(": connected\n\n"); // …and then nothing: the idle timeout must reconnect
      } else {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(
          'id: a3\ndata: {"n":3}\n\ndata: not json\n\nid: a4\ndata: {"n":"bad"}\n\nid: a5\ndata: {"n":5}\n\n',
        );
      }
    });
    const client = createClient({ baseUrl: server.url, routes: [route] });
    const invalid: string[] = [];
    const controller = new AbortController();
    const got: number[] = [];
    const started = Date.now();
    const stream = client.diag.ticks({
      signal: controller.signal,
      idleTimeoutMs: 300,
      reconnect: { baseDelayMs: 20, maxDelayMs: 50 },
      onInvalidEvent: (e) => invalid.push(e.message),
      onEvent: (e) => {
        got.push(e.n);
        if (e.n === 5) controller.abort();
      },
    });
    await stream.done;
    expect(got).toEqual([1, 2, 3, 5]);
    expect(invalid).toHaveLength(2);
    expect(stream.lastEventId).toBe("a5");
    expect(server.requests[0]?.headers["last-event-id"]).toBeUndefined();
    expect(server.requests.slice(1, 4).map((r) => r.headers["last-event-id"])).toEqual(["a2", "a2", "a2"]);
    expect(server.requests[0]?.headers.accept).toBe("text/event-stream");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000 + 300);
    expect(stream.state).toBe("closed");
  });
});
