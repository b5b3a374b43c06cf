import { isIP } from "node:net";
import type { Context } from "hono";

/**
 * The client's IP address, for login throttling and the audit log.
 *
 * By default the TCP peer (`@hono/node-server` exposes the socket as `c.env.incoming.socket`). With
 * `trustProxy` the hub sits behind its own TLS proxy, whose address every request would otherwise
 * share: then the last `X-Forwarded-For` entry — the address the proxy itself saw and appended —
 * is used. Earlier entries are client-supplied and never trusted (anyone can send the header, so
 * trusting it without a proxy would let an attacker pick a fresh IP per login attempt).
 * Returns null when no address is known (in-process `app.request` calls).
 */
export function clientIp(c: Context, trustProxy = false): string | null {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for");
    const last = forwarded?.split(",").at(-1)?.trim();
    if (last && isIP(normalize(last))) return normalize(last);
  }
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  const peer = env?.incoming?.socket?.remoteAddress;
  return peer ? normalize(peer) : null;
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) → `10.0.0.1`, so one client has one key. */
function normalize(ip: string): string {
  return ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}
