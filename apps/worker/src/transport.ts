import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import type { FetchLike } from "@m3shd/client";

/** A `fetch` over a keep-alive pool the worker controls, and the switch that drops the pool. */
export interface PooledFetch {
  fetch: FetchLike;
  /** Closes every pooled connection; later requests connect afresh. */
  reset(): void;
}

const POOL = { keepAlive: true, maxSockets: 64, maxFreeSockets: 8 };

/**
 * `fetch` for `@m3shd/client` on node:http with a pool that can be dropped. After a 5xx the pool
 * is dropped (once the body is read) and the hub client drops it after a transport failure, so
 * the next request opens a fresh connection: a hub instance that is shutting down (or gone behind
 * a load balancer) keeps answering on sockets already open to it, and a worker must not stay
 * pinned to it. The global `fetch` offers no way to drop its pool, and undici's `Agent` (which
 * would) is not importable from Node without adding undici as a dependency; node:http's `Agent`
 * has `destroy()` and costs nothing.
 */
export function createPooledFetch(): PooledFetch {
  let http = new HttpAgent(POOL);
  let https = new HttpsAgent(POOL);
  const reset = () => {
    const old = [http, https];
    http = new HttpAgent(POOL);
    https = new HttpsAgent(POOL);
    for (const agent of old) agent.destroy();
  };

  const fetchFn: FetchLike = (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === "https:";
      const method = (init.method ?? "GET").toUpperCase();
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const body = typeof init.body === "string" ? init.body : undefined;
      if (init.body !== undefined && init.body !== null && body === undefined) {
        reject(new TypeError("the pooled fetch sends string bodies only"));
        return;
      }
      if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
      const send = secure ? httpsRequest : httpRequest;
      const req = send(
        target,
        { method, headers, agent: secure ? https : http, ...(init.signal ? { signal: init.signal } : {}) },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 500) res.once("end", reset);
          const responseHeaders = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            responseHeaders.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
          }
          // A null-body status must be built without a body (the Response constructor refuses one).
          const empty = status === 204 || status === 205 || status === 304 || method === "HEAD";
          if (empty) res.resume();
          try {
            resolve(
              new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
                status,
                headers: responseHeaders,
              }),
            );
          } catch (err) {
            res.destroy();
            reject(err);
          }
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  return { fetch: fetchFn, reset };
}
