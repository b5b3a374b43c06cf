import { homedir } from "node:os";
import { resolve } from "node:path";

/** Deep-masks strings of a JSON-like value; `add` registers one more path to mask. */
export interface Redactor {
  <T>(value: T): T;
  add(path: string): void;
}

const MASK = "<hidden>";
/** A stack frame line (`    at fn (file:1:2)`): indented, `at `, ending in `:line:column`. */
const STACK_FRAME = /^[ \t]+at [^\n]*:\d+:\d+\)?[ \t]*(?:\n|$)/gm;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * What a tool answers goes to a model, and from there anywhere: it must not map the hub's disk.
 * The redactor replaces the hub's own directories (data dir, plugins dir, roots, working
 * directory, home) with `<hidden>` wherever they appear, and removes stack frames. A path is
 * matched only as a whole path (not inside a longer name). Paths shorter than 4 characters (`/`,
 * `/tmp`'s parent…) are never masked: they would mangle ordinary text.
 */
export function createRedactor(paths: readonly (string | undefined)[]): Redactor {
  const known = new Set<string>();
  let pattern: RegExp | null = null;
  const add = (path: string | undefined) => {
    if (!path) return;
    const absolute = resolve(path).replace(/\/+$/, "");
    if (absolute.length < 4) return;
    known.add(absolute);
    // Longest first, so a root's parent never masks half of the root.
    const sorted = [...known].sort((a, b) => b.length - a.length).map(escapeRegExp);
    pattern = new RegExp(`(?:${sorted.join("|")})(?![A-Za-z0-9_.-])`, "g");
  };
  for (const path of [...paths, process.cwd(), homedir()]) add(path);
  const mask = (text: string): string => {
    const unstacked = text.replace(STACK_FRAME, "");
    return pattern ? unstacked.replace(pattern, MASK) : unstacked;
  };
  const walk = (value: unknown, depth: number): unknown => {
    if (typeof value === "string") return mask(value);
    if (depth > 64 || typeof value !== "object" || value === null) return value;
    if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[mask(k)] = walk(v, depth + 1);
    return out;
  };
  const redactor = (<T>(value: T): T => walk(value, 0) as T) as Redactor;
  redactor.add = add;
  return redactor;
}
