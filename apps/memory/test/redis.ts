import { connect } from "node:net";

/** The machine's Redis for integration tests. */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

type Reply = string | number | null | Reply[];

/**
 * Deletes every key under `prefix:` with a few raw RESP commands over one socket: ioredis is the
 * queue package's dependency, not this app's, and a cleanup helper does not justify adding it.
 */
export async function dropRedisPrefix(prefix: string, url = REDIS_URL): Promise<number> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname || "127.0.0.1", port: Number(port || 6379) });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let buffer = Buffer.alloc(0);
  let waiting: ((reply: Reply) => void) | null = null;
  socket.on("data", (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!waiting) return;
    const parsed = parse(buffer, 0);
    if (parsed) {
      buffer = buffer.subarray(parsed.end);
      const done = waiting;
      waiting = null;
      done(parsed.value);
    }
  });
  const command = (...args: string[]) =>
    new Promise<Reply>((resolve) => {
      waiting = resolve;
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
    });
  let deleted = 0;
  let cursor = "0";
  try {
    do {
      const reply = (await command("SCAN", cursor, "MATCH", `${prefix}:*`, "COUNT", "500")) as [
        string,
        string[],
      ];
      cursor = reply[0];
      if (reply[1].length > 0) deleted += Number(await command("DEL", ...reply[1]));
    } while (cursor !== "0");
  } finally {
    socket.end();
  }
  return deleted;
}

function parse(buf: Buffer, start: number): { value: Reply; end: number } | null {
  const lineEnd = buf.indexOf("\r\n", start);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[start] ?? 0);
  const line = buf.toString("utf8", start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, end: next };
    case "-":
      throw new Error(`redis: ${line}`);
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return null;
      return { value: buf.toString("utf8", next, next + length), end: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, at);
        if (!item) return null;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`redis: unexpected reply type ${type}`);
  }
}
