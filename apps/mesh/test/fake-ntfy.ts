import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { onTestFinished } from "vitest";

/** One publish the fake ntfy accepted, as ntfy would store it. */
export interface NtfyMessage {
  id: string;
  time: number;
  event: "message";
  topic: string;
  title?: string;
  message: string;
  priority?: number;
  tags?: string[];
  /** The Authorization header it came with, if any. */
  authorization: string | null;
}

const PRIORITY_WORDS: Record<string, number> = { min: 1, low: 2, default: 3, high: 4, max: 5, urgent: 5 };

function parsePriority(value: unknown): number | null | "invalid" {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value === "number")
    return Number.isInteger(value) && value >= 1 && value <= 5 ? value : "invalid";
  const text = String(value).trim().toLowerCase();
  if (/^[1-5]$/.test(text)) return Number(text);
  return PRIORITY_WORDS[text] ?? "invalid";
}

/**
 * A local stand-in for an ntfy server, speaking the publish API as documented (see
 * shared/vectors/ntfy/NOTES.md): JSON to the root URL (`{ topic, message, title, tags, priority }`)
 * or a body to `/<topic>` with `Title`/`Priority`/`Tags` headers; an invalid priority is a 400 with
 * ntfy's error body; a success answers the stored message as one JSON line. `behave` can make it
 * fail or stall a request, to exercise retries and timeouts.
 */
export async function fakeNtfy(
  options: {
    /** Called per request before it is handled: a status to fail with, or a delay (ms) first. */
    behave?: (n: number) => { status?: number; delayMs?: number } | undefined;
    /** Require this exact Authorization header. */
    authorization?: string;
  } = {},
) {
  const messages: NtfyMessage[] = [];
  const attempts: { status: number; at: number }[] = [];
  let seq = 0;
  const waiters = new Set<() => void>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const n = ++seq;
      const reply = (status: number, body: unknown) => {
        attempts.push({ status, at: Date.now() });
        res.writeHead(status, { "content-type": "application/json" });
        res.end(`${JSON.stringify(body)}\n`);
      };
      const behaviour = options.behave?.(n);
      if (behaviour?.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
      if (res.destroyed) return;
      if (behaviour?.status)
        return reply(behaviour.status, { code: 50001, http: behaviour.status, error: "test failure" });
      if (req.method !== "POST" && req.method !== "PUT")
        return reply(405, { code: 40501, http: 405, error: "method not allowed" });
      const authorization = req.headers.authorization ?? null;
      if (options.authorization !== undefined && authorization !== options.authorization) {
        return reply(401, { code: 40101, http: 401, error: "unauthorized" });
      }
      const text = Buffer.concat(chunks).toString("utf8");
      let fields: Record<string, unknown>;
      if (req.url === "/" || req.url === "") {
        try {
          fields = JSON.parse(text) as Record<string, unknown>;
        } catch {
          return reply(400, { code: 40024, http: 400, error: "invalid request: cannot parse JSON" });
        }
        if (typeof fields.topic !== "string" || fields.topic === "") {
          return reply(400, { code: 40009, http: 400, error: "invalid topic" });
        }
      } else {
        const header = (name: string) => req.headers[name] as string | undefined;
        fields = {
          topic: (req.url ?? "/").slice(1).split("?")[0],
          message: text,
          title: header("x-title") ?? header("title") ?? header("t"),
          priority: header("x-priority") ?? header("priority") ?? header("p"),
          tags: (header("x-tags") ?? header("tags") ?? header("ta"))?.split(",").filter(Boolean),
        };
      }
      const priority = parsePriority(fields.priority);
      if (priority === "invalid") {
        return reply(400, {
          code: 40007,
          http: 400,
          error: "invalid priority parameter",
          link: "https://ntfy.sh/docs/publish/#message-priority",
        });
      }
      const message: NtfyMessage = {
        id: `fake${n}`,
        time: Math.floor(Date.now() / 1000),
        event: "message",
        topic: fields.topic as string,
        ...(typeof fields.title === "string" ? { title: fields.title } : {}),
        message: typeof fields.message === "string" && fields.message !== "" ? fields.message : "triggered",
        ...(priority !== null ? { priority } : {}),
        ...(Array.isArray(fields.tags) && fields.tags.length > 0 ? { tags: fields.tags as string[] } : {}),
        authorization,
      };
      messages.push(message);
      for (const w of [...waiters]) w();
      const { authorization: _auth, ...stored } = message;
      reply(200, stored);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  onTestFinished(close);
  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    attempts,
    /** Resolves once `n` messages were accepted (or rejects after `ms`). */
    async waitFor(n: number, ms = 15_000): Promise<NtfyMessage[]> {
      const end = Date.now() + ms;
      while (messages.length < n) {
        const left = end - Date.now();
        if (left <= 0) throw new Error(`fake ntfy: ${messages.length} of ${n} messages after ${ms} ms`);
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          };
          const timer = setTimeout(done, left);
          waiters.add(done);
        });
      }
      return messages;
    },
    close,
  };
}
