import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Hub } from "./app";

export interface ServedHub {
  url: string;
  port: number;
  /** Stop accepting, end streams and long-polls, wait for in-flight requests (bounded). */
  close(): Promise<void>;
}

/** Serves a hub over HTTP on `host:port` (port 0 picks a free one). */
export async function serveHub(hub: Hub, options: { host: string; port: number }): Promise<ServedHub> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: hub.app.fetch, hostname: options.host, port: options.port }, () =>
      resolve(s as Server),
    );
    s.once("error", reject);
  });
  // Long-polls hold connections for up to 30 s; keep idle sockets alive a little longer than that.
  server.keepAliveTimeout = 35_000;
  server.headersTimeout = 36_000;
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      hub.close();
      await new Promise<void>((resolve) => {
        // In-flight requests get a grace period; then every socket is cut — a keep-alive client
        // that keeps sending must not be served by a hub whose database is about to close.
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, 5000);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
