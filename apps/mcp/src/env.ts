import { parseEnv } from "@m3shd/service-kit";
import { z } from "zod";

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );

/**
 * `m3shd-mcp`'s environment. Credentials come from here only — never from argv, which other
 * users of the machine can read in the process list.
 */
export const McpEnvSchema = z.object({
  /** The hub's base URL. */
  M3SHD_HUB_URL: z.url().default("http://127.0.0.1:7700"),
  /** stdio: the token every call is made with (an agent token or an API key). */
  M3SHD_TOKEN: z.string().min(1).max(512).optional(),
  /** stdio: read the token from this file instead (its first line). */
  M3SHD_TOKEN_FILE: z.string().optional(),
  /** HTTP: interface to bind. Loopback by default. */
  M3SHD_MCP_HOST: z.string().default("127.0.0.1"),
  /** HTTP: port to listen on; 0 picks a free one (the chosen port is logged). */
  M3SHD_MCP_PORT: z.coerce.number().int().min(0).max(65535).default(7710),
  /**
   * HTTP: the MCP endpoint's public URL, as users type it into their client — the RFC 9728
   * `resource`. Default `http://<host>:<port>/mcp`.
   */
  M3SHD_MCP_PUBLIC_URL: z.url().optional(),
  /**
   * HTTP: Host header values accepted (DNS-rebinding protection), comma-separated, with or without
   * port. Default: localhost, 127.0.0.1, [::1] and the public URL's host.
   */
  M3SHD_MCP_ALLOWED_HOSTS: list,
  /** HTTP: Origin header values accepted when a browser sends one, comma-separated. Default: none checked. */
  M3SHD_MCP_ALLOWED_ORIGINS: list,
  /** HTTP: authorization servers advertised in the protected-resource metadata. Default: the hub. */
  M3SHD_MCP_AUTH_SERVERS: list,
  /** Poll interval (ms) of await_task, Tasks and resource subscriptions. */
  M3SHD_MCP_POLL_MS: z.coerce.number().int().min(10).max(10_000).default(250),
  /** Ceiling of one await_task call (ms); never above 50 000. */
  M3SHD_MCP_AWAIT_MAX_MS: z.coerce.number().int().min(0).max(50_000).default(50_000),
  /** HTTP: a session idle this long (ms) is closed. */
  M3SHD_MCP_SESSION_IDLE_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(30 * 60_000),
});
export type McpEnv = z.output<typeof McpEnvSchema>;

export function parseMcpEnv(env: Record<string, string | undefined> = process.env): McpEnv {
  return parseEnv(McpEnvSchema, env, "m3shd-mcp");
}
