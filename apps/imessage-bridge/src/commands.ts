/**
 * Text → command. A table of patterns tried in order; the first that matches wins, and text
 * that matches none is chat. Parsing never fails: a malformed command is chat too, so a
 * typo never starts an error-reply storm.
 */
export type Command =
  | { kind: "status" }
  | { kind: "tasks" }
  | { kind: "context_get" }
  | { kind: "context_set"; key: string; value: string }
  | { kind: "agent"; agent: string; text: string }
  | { kind: "approve"; id: string | null }
  | { kind: "reject"; id: string | null; reason: string | null }
  | { kind: "pending" }
  | { kind: "costs" }
  | { kind: "escalations" }
  | { kind: "do"; text: string }
  | { kind: "auto"; goal: string }
  | { kind: "summary" }
  | { kind: "budget" }
  | { kind: "budget_set"; agent: string; tokens: number }
  | { kind: "chat"; text: string };

export type CommandKind = Command["kind"];

interface Pattern {
  kind: CommandKind;
  /** Matched against the trimmed text; flags `is` (case-insensitive, dot matches newlines). */
  re: RegExp;
  build: (m: RegExpMatchArray) => Command | null;
}

/** Trailing punctuation people type after a keyword ("status?", "costs!"). */
const END = String.raw`[\s?!.]*$`;
const ID = "([A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_-]{1,80})";
const AGENT = "([a-z0-9][a-z0-9_-]{0,63})";

function keyword(
  kind: "status" | "tasks" | "pending" | "costs" | "escalations" | "summary" | "budget",
): Pattern {
  return { kind, re: new RegExp(`^${kind}${END}`, "is"), build: () => ({ kind }) as Command };
}

/** Parses "50000", "50,000", "50k", "1.5m" into a positive integer token count. */
export function parseTokens(raw: string): number | null {
  const m = /^(\d[\d,_]*(?:\.\d+)?)([km]?)$/i.exec(raw.trim());
  if (!m?.[1]) return null;
  const base = Number(m[1].replace(/[,_]/g, ""));
  const mult = m[2]?.toLowerCase() === "k" ? 1e3 : m[2]?.toLowerCase() === "m" ? 1e6 : 1;
  const n = Math.round(base * mult);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** The table. Order matters only where patterns overlap (`@context` before `@<agent>`). */
export const COMMAND_PATTERNS: readonly Pattern[] = [
  keyword("status"),
  keyword("tasks"),
  { kind: "context_get", re: new RegExp(`^@context${END}`, "is"), build: () => ({ kind: "context_get" }) },
  {
    kind: "context_set",
    re: /^@context\s+([A-Za-z0-9_.:-]{1,128})\s*=\s*(.+)$/is,
    build: (m) => (m[1] && m[2]?.trim() ? { kind: "context_set", key: m[1], value: m[2].trim() } : null),
  },
  {
    kind: "agent",
    re: new RegExp(String.raw`^@${AGENT}\s+(\S.*)$`, "is"),
    build: (m) =>
      m[1] && m[2] && m[1].toLowerCase() !== "context"
        ? { kind: "agent", agent: m[1].toLowerCase(), text: m[2].trim() }
        : null,
  },
  {
    kind: "approve",
    re: new RegExp(String.raw`^approve(?:\s+${ID})?${END}`, "is"),
    build: (m) => ({ kind: "approve", id: m[1] ?? null }),
  },
  {
    kind: "reject",
    re: new RegExp(String.raw`^reject(?:\s+${ID})?(?:\s*[:\-]?\s+(\S.*))?$`, "is"),
    build: (m) => ({ kind: "reject", id: m[1] ?? null, reason: m[2]?.trim() || null }),
  },
  keyword("pending"),
  keyword("costs"),
  keyword("escalations"),
  { kind: "do", re: /^do\s+(\S.*)$/is, build: (m) => (m[1] ? { kind: "do", text: m[1].trim() } : null) },
  {
    kind: "auto",
    re: /^auto\s+(\S.*)$/is,
    build: (m) => (m[1] ? { kind: "auto", goal: m[1].trim() } : null),
  },
  keyword("summary"),
  keyword("budget"),
  {
    kind: "budget_set",
    re: new RegExp(String.raw`^budget\s+${AGENT}\s+(\S+)${END}`, "is"),
    build: (m) => {
      const tokens = m[2] ? parseTokens(m[2]) : null;
      return m[1] && tokens ? { kind: "budget_set", agent: m[1].toLowerCase(), tokens } : null;
    },
  },
];

/** Parses one inbound text. Always returns a command; unknown input is `chat`. */
export function parseCommand(input: string): Command {
  const text = input.trim();
  for (const p of COMMAND_PATTERNS) {
    const m = text.match(p.re);
    if (!m) continue;
    const cmd = p.build(m);
    if (cmd) return cmd;
  }
  return { kind: "chat", text };
}
