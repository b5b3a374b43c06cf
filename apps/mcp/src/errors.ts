import { ERROR_CODES, type ErrorCode } from "@m3shd/protocol";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

/** `_meta` key of a tool error's protocol code and message. */
export const ERROR_META_KEY = "m3shd/error";

/** The structured body of every tool error: the protocol's code and message, nothing else. */
export interface ToolErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

const CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** Largest message passed through: a hub message is short; anything longer is not ours. */
const MESSAGE_MAX = 2000;

/**
 * The protocol error carried by `err`, if it is one: a `MeshPortError`, an `M3shdError`, or the
 * client's typed error — anything with a protocol `code` and a `message`. Duck-typed on purpose,
 * so two copies of a package (or the client's own error class) map the same way.
 */
export function protocolErrorOf(err: unknown): ToolErrorBody["error"] | null {
  if (typeof err !== "object" || err === null) return null;
  const { code, message, details } = err as { code?: unknown; message?: unknown; details?: unknown };
  if (typeof code !== "string" || !CODES.has(code) || typeof message !== "string") return null;
  return {
    code: code as ErrorCode,
    message: message.slice(0, MESSAGE_MAX),
    ...(details !== undefined ? { details } : {}),
  };
}

/**
 * An MCP tool error (`isError: true`) for whatever a tool threw. A hub refusal keeps its protocol
 * code and message; anything else becomes `internal` with a fixed message — an unexpected error's
 * text or stack may carry paths, tokens or internals, so it goes to the log, never to the model.
 */
export function toolError(err: unknown, log?: (err: unknown) => void): CallToolResult {
  const known = protocolErrorOf(err);
  if (!known) log?.(err);
  const error = known ?? { code: "internal" as const, message: "The MCP server failed to complete the call" };
  return {
    isError: true,
    content: [{ type: "text", text: `${error.code}: ${error.message}` }],
    // Not `structuredContent`: a client validates that against the tool's output schema even on
    // an error result. The machine-readable error rides in `_meta` instead.
    _meta: { [ERROR_META_KEY]: error },
  };
}
