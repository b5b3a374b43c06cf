import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type {
  FakeApi,
  FakeRequestInfo,
  FakeScript,
  FakeUsage,
  RecordedRequest,
  ScriptMatch,
} from "./scripts";
import { anthropicWire, chatWire, type ReplyContext, responsesWire, type WireFormat } from "./wire";

export interface FakeProviderServerOptions {
  /** Interface to bind (default loopback). */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /**
   * Keys the server accepts (`Authorization: Bearer <key>`, or `x-api-key` for Anthropic). When
   * unset any key, or none, is accepted — as a local Ollama does.
   */
  apiKeys?: string[];
  /** The reply when no queued script matches. Default: `[<model>] <prompt>`, word by word. */
  defaultReply?: (request: FakeRequestInfo) => FakeScript;
  /** Largest request body read (default 8 MiB). */
  maxBodyBytes?: number;
}

export interface FakeProviderServer {
  /** `http://127.0.0.1:<port>` — the Anthropic SDK's `baseURL`. */
  readonly url: string;
  /** `http://127.0.0.1:<port>/v1` — the OpenAI SDK's `baseURL`. */
  readonly openaiBaseURL: string;
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Queues scripts; each answers the first later request it matches. */
  enqueue(scripts: FakeScript | FakeScript[], match?: ScriptMatch): void;
  /** Scripts still queued. */
  pending(): number;
  /** Resolves once `count` requests (optionally of one API) have arrived. */
  waitForRequests(count: number, options?: { api?: FakeApi; timeoutMs?: number }): Promise<RecordedRequest[]>;
  /** Forgets recorded requests and queued scripts. */
  reset(): void;
  /** Stops listening and destroys open connections (hung ones included). */
  close(): Promise<void>;
}

const ANTHROPIC_VERSION_WITHOUT_SAMPLING = "2026-10-21";

interface Queued {
  script: FakeScript;
  match: ScriptMatch;
}

function defaultReply(request: FakeRequestInfo): FakeScript {
  return { kind: "reply", text: `[${request.model}] ${request.prompt}` };
}

/** Splits text into word-sized deltas (each word keeps its leading whitespace). */
export function splitWords(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? (text ? [text] : []);
}

function lastUserText(api: FakeApi, body: Record<string, unknown>): string {
  const textOf = (content: unknown): string => {
    if (typeof content === "string") return content;
    if (Array.isArray(content)) {
      return content
        .map((part) => (typeof part === "object" && part && "text" in part ? String(part.text) : ""))
        .join("");
    }
    return "";
  };
  if (api === "responses") {
    const input = body.input;
    if (typeof input === "string") return input;
    if (Array.isArray(input)) {
      const last = [...input].reverse().find((m) => m && (m as { role?: unknown }).role === "user");
      return textOf((last as { content?: unknown } | undefined)?.content);
    }
    return "";
  }
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = [...messages].reverse().find((m) => m && (m as { role?: unknown }).role === "user");
  return textOf((last as { content?: unknown } | undefined)?.content);
}

function systemOf(api: FakeApi, body: Record<string, unknown>): string | null {
  if (api === "anthropic") return typeof body.system === "string" ? body.system : null;
  if (api === "responses") return typeof body.instructions === "string" ? body.instructions : null;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const sys = messages.find((m) => m && (m as { role?: unknown }).role === "system") as
    | { content?: unknown }
    | undefined;
  return typeof sys?.content === "string" ? sys.content : null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A fake LLM provider on a real HTTP server (loopback, ephemeral port) that speaks the Anthropic
 * Messages API and OpenAI's Chat Completions and Responses APIs, streamed (SSE) or not. Tests
 * point the official SDKs at it through `baseURL` — the SDKs are never mocked — and script what
 * each request gets: canned or token-by-token replies, 429 with `retry-after`, 5xx, hung or
 * dropped connections, malformed frames and in-stream error events. It records every request so
 * tests can assert what the SDKs actually sent.
 */
export async function startFakeProviderServer(
  options: FakeProviderServerOptions = {},
): Promise<FakeProviderServer> {
  const queue: Queued[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  const makeReply = options.defaultReply ?? defaultReply;
  const maxBody = options.maxBodyBytes ?? 8 * 1024 * 1024;
  let counter = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  function notify() {
    for (const w of [...waiters]) w();
  }

  function record(entry: RecordedRequest) {
    requests.push(entry);
    notify();
  }

  async function readBody(req: IncomingMessage): Promise<string | null> {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBody) return null;
      parts.push(chunk as Buffer);
    }
    return Buffer.concat(parts).toString("utf8");
  }

  function apiOf(method: string, path: string): FakeApi | null {
    if (method !== "POST") return null;
    if (path === "/v1/messages") return "anthropic";
    if (path === "/v1/chat/completions") return "chat";
    if (path === "/v1/responses") return "responses";
    return null;
  }

  function sendJson(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  function takeScript(api: FakeApi, model: string): FakeScript | undefined {
    const index = queue.findIndex(
      (q) =>
        (q.match.api === undefined || q.match.api === api) &&
        (q.match.model === undefined || q.match.model === model),
    );
    if (index < 0) return undefined;
    const [taken] = queue.splice(index, 1);
    return taken?.script;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      headers[k] = Array.isArray(v) ? v.join(", ") : (v ?? "");
    const raw = await readBody(req);
    let body: unknown = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      body = null;
    }
    const api = apiOf(method, path);
    const requestId = `req_fake_${++counter}`;
    const wire: WireFormat | null =
      api === "anthropic"
        ? anthropicWire
        : api === "chat"
          ? chatWire
          : api === "responses"
            ? responsesWire()
            : null;
    const reject = (status: number, message: string, type?: string) => {
      record({ api, method, path, headers, body, answeredWith: "rejected", receivedAt: Date.now() });
      const errorBody = wire ? wire.errorBody(status, message, type, requestId) : { error: { message } };
      sendJson(res, status, errorBody, { "request-id": requestId, "x-request-id": requestId });
    };

    if (!api || !wire) return reject(404, `No route for ${method} ${path}`);
    if (raw === null) return reject(413, "Request body too large");
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return reject(400, "Request body must be a JSON object");
    }
    const json = body as Record<string, unknown>;
    if (options.apiKeys) {
      const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? "")?.[1];
      const key = bearer ?? (api === "anthropic" ? headers["x-api-key"] : undefined);
      if (!key || !options.apiKeys.includes(key)) return reject(401, "Invalid API key");
    }
    if (typeof json.model !== "string" || json.model.length === 0)
      return reject(400, "model: Field required");
    if (api === "anthropic") {
      if (typeof json.max_tokens !== "number") return reject(400, "max_tokens: Field required");
      if (!Array.isArray(json.messages)) return reject(400, "messages: Field required");
      // API version 2026-10-21 rejects sampling parameters outright, even at default values.
      if (headers["anthropic-version"] === ANTHROPIC_VERSION_WITHOUT_SAMPLING) {
        for (const field of ["temperature", "top_p", "top_k"]) {
          if (field in json) return reject(400, `${field}: Extra inputs are not permitted`);
        }
      }
    } else if (api === "chat" && !Array.isArray(json.messages)) {
      return reject(400, "messages: Field required");
    } else if (api === "responses" && json.input === undefined) {
      return reject(400, "input: Field required");
    }

    const info: FakeRequestInfo = {
      api,
      model: json.model,
      prompt: lastUserText(api, json),
      system: systemOf(api, json),
      body: json,
    };
    const script = takeScript(api, json.model) ?? makeReply(info);
    record({ api, method, path, headers, body, answeredWith: script.kind, receivedAt: Date.now() });
    await answer(res, req, wire, info, script, requestId);
  }

  async function answer(
    res: ServerResponse,
    req: IncomingMessage,
    wire: WireFormat,
    info: FakeRequestInfo,
    script: FakeScript,
    requestId: string,
  ) {
    const streaming = info.body.stream === true;
    if (script.kind === "error") {
      const headers: Record<string, string> = { "request-id": requestId, "x-request-id": requestId };
      if (script.retryAfterSeconds !== undefined) headers["retry-after"] = String(script.retryAfterSeconds);
      if (script.retryAfterMs !== undefined) headers["retry-after-ms"] = String(script.retryAfterMs);
      const message = script.message ?? `Fake ${script.status}`;
      sendJson(res, script.status, wire.errorBody(script.status, message, script.type, requestId), headers);
      return;
    }
    if (script.kind === "raw") {
      res.writeHead(script.status ?? 200, {
        "content-type": script.contentType ?? (streaming ? "text/event-stream" : "application/json"),
        ...script.headers,
      });
      res.end(script.body);
      return;
    }
    if (script.kind === "hang" && script.beforeHeaders) return; // never answers

    const reply = script.kind === "reply" ? script : undefined;
    const text = reply?.chunks ? reply.chunks.join("") : (reply?.text ?? `[${info.model}] ${info.prompt}`);
    const chunks = reply?.chunks ?? splitWords(text);
    const idPrefix = info.api === "anthropic" ? "msg_" : info.api === "chat" ? "chatcmpl-" : "resp_";
    const usage: FakeUsage = {
      input_tokens:
        reply?.usage?.input_tokens ??
        Math.max(1, Math.ceil((info.prompt.length + (info.system?.length ?? 0)) / 4)),
      output_tokens: reply?.usage?.output_tokens ?? Math.max(1, chunks.length),
      cached_input_tokens: reply?.usage?.cached_input_tokens ?? 0,
    };
    const streamOptions = info.body.stream_options as { include_usage?: unknown } | undefined;
    const ctx: ReplyContext = {
      api: info.api,
      id: `${idPrefix}fake${randomBytes(8).toString("hex")}`,
      model: reply?.model ?? info.model,
      created: Math.floor(Date.now() / 1000),
      usage,
      stopReason: reply?.stopReason ?? null,
      includeUsage: streamOptions?.include_usage === true,
      logprob: info.body.logprobs === true ? (reply?.logprob ?? -0.1) : null,
      text,
      instructions: info.system,
    };
    if (reply?.headersDelayMs) await sleep(reply.headersDelayMs);

    if (!streaming) {
      if (script.kind !== "reply") {
        // Failure scripts on a JSON request: hang/drop/garble the body the same way.
        if (script.kind === "hang") return;
        if (script.kind === "disconnect") return void res.socket?.destroy();
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"id": "broken", ');
        return;
      }
      sendJson(res, 200, wire.json(ctx), { "request-id": requestId, "x-request-id": requestId });
      return;
    }

    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "request-id": requestId,
      "x-request-id": requestId,
    });
    res.flushHeaders();
    let closed = false;
    req.on("close", () => {
      closed = true;
    });
    res.on("close", () => {
      closed = true;
    });
    const write = (frame: string) => {
      if (!closed) res.write(frame);
    };
    for (const frame of wire.head(ctx)) write(frame);
    const limit = script.kind === "reply" ? chunks.length : Math.min(script.afterChunks ?? 0, chunks.length);
    for (let i = 0; i < limit && !closed; i++) {
      if (reply?.gate && i === (reply.gateAfterChunks ?? 0)) await reply.gate.catch(() => undefined);
      if (reply?.delayMs) await sleep(reply.delayMs);
      write(wire.delta(ctx, chunks[i] as string));
    }
    if (reply?.gate && (reply.gateAfterChunks ?? 0) >= limit) await reply.gate.catch(() => undefined);
    if (closed) return;
    switch (script.kind) {
      case "reply":
        for (const frame of wire.tail(ctx)) write(frame);
        res.end();
        return;
      case "hang":
        return; // headers (and some deltas) sent; the rest never comes
      case "malformed":
        write(wire.malformed(ctx));
        res.end();
        return;
      case "stream_error":
        write(wire.streamError(ctx, script.errorType, script.message ?? "Overloaded"));
        res.end();
        return;
      case "disconnect":
        res.socket?.destroy();
        return;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  return {
    url,
    openaiBaseURL: `${url}/v1`,
    requests,
    enqueue(scripts, match = {}) {
      for (const script of Array.isArray(scripts) ? scripts : [scripts]) queue.push({ script, match });
    },
    pending: () => queue.length,
    waitForRequests(count, { api, timeoutMs = 10_000 } = {}) {
      const matching = () => requests.filter((r) => api === undefined || r.api === api);
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = matching();
          if (found.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`Timed out waiting for ${count} ${api ?? ""} request(s); got ${matching().length}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    reset() {
      queue.length = 0;
      requests.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
