import { execFile } from "node:child_process";
import { accessSync, constants, mkdirSync, readdirSync } from "node:fs";
import { dirname } from "node:path";
import { ChatDb } from "./chat-db";
import type { HubPort } from "./hub-port";
import { SchemaError } from "./schema";
import { PROBE_SCRIPT, runOsascript, SendError } from "./sender";

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** How to fix it, when not ok. */
  fix?: string;
}

export interface DoctorInput {
  chatDbPath: string;
  dataDir: string;
  handles: string[];
  hub: HubPort | null;
  /** Whether a token was configured at all (the hub check still runs without one). */
  hasToken?: boolean;
  osascript?: string;
  /** Start of the parent chain (defaults to this process). */
  pid?: number;
}

function ps(pid: number): Promise<{ ppid: number; command: string } | null> {
  return new Promise((resolve) => {
    // Fixed arguments; the pid is a number we read from ps itself.
    execFile("ps", ["-o", "ppid=", "-o", "comm=", "-p", String(pid)], { timeout: 5000 }, (err, out) => {
      const m = err ? null : out.trim().match(/^(\d+)\s+(.+)$/);
      resolve(m?.[1] && m[2] ? { ppid: Number(m[1]), command: m[2].trim() } : null);
    });
  });
}

/** This process and its ancestors, nearest first: each may need Full Disk Access. */
export async function parentChain(pid = process.pid): Promise<{ pid: number; command: string }[]> {
  const chain: { pid: number; command: string }[] = [];
  let cur = pid;
  for (let i = 0; i < 32 && cur > 1; i++) {
    const p = await ps(cur);
    if (!p) break;
    chain.push({ pid: cur, command: p.command });
    cur = p.ppid;
  }
  return chain;
}

/** The .app bundles (or binaries) in a chain: what to list under Full Disk Access. */
export function apps(chain: { command: string }[]): string[] {
  const out = chain.map(
    (c) => c.command.match(/([^/]+\.app)\//)?.[1] ?? c.command.split("/").pop() ?? c.command,
  );
  return [...new Set(out.filter((a) => a && a !== "launchd"))];
}

/** Runs every check; never throws. */
export async function runDoctor(input: DoctorInput): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const chain = await parentChain(input.pid);
  const grant = apps(chain).join(", ") || "the app that starts the bridge";

  checks.push(
    input.handles.length
      ? { name: "handles", ok: true, detail: `answering ${input.handles.join(", ")}` }
      : {
          name: "handles",
          ok: false,
          detail: "no handle configured",
          fix: "set M3SHD_IMESSAGE_HANDLES to your phone number (+15555550123) or Apple ID email",
        },
  );

  // Full Disk Access: reading ~/Library/Messages is refused (EPERM, or SQLite "authorization
  // denied" / code 23 on macOS 26.3) unless every process in the chain has it.
  let db: ChatDb | null = null;
  try {
    readdirSync(dirname(input.chatDbPath));
    db = new ChatDb(input.chatDbPath);
    db.maxRowId();
    checks.push({
      name: "full disk access",
      ok: true,
      detail: `chat.db readable; process chain: ${chain.map((c) => c.command).join(" ← ") || "?"}`,
    });
    checks.push({ name: "schema", ok: true, detail: `generation ${db.caps.generation}` });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (err instanceof SchemaError) {
      checks.push({ name: "full disk access", ok: true, detail: "chat.db readable" });
      checks.push({
        name: "schema",
        ok: false,
        detail: msg,
        fix: `this macOS release changed chat.db (missing ${err.missing.join(", ")}); update m3shd-imessage or report the missing columns`,
      });
    } else if (
      (err as NodeJS.ErrnoException).code === "ENOENT" ||
      /ENOENT|unable to open|does not exist/.test(msg)
    ) {
      checks.push({
        name: "full disk access",
        ok: false,
        detail: `no chat.db at ${input.chatDbPath}`,
        fix: "open Messages once and sign in (or set M3SHD_IMESSAGE_DB to the right path)",
      });
      checks.push({ name: "schema", ok: false, detail: "not checked (no chat.db)", fix: "see above" });
    } else {
      checks.push({
        name: "full disk access",
        ok: false,
        detail: `cannot read ${input.chatDbPath}: ${msg}`,
        fix: `System Settings → Privacy & Security → Full Disk Access: enable ${grant} (every app in the chain that starts the bridge), then quit and reopen them. Under launchd, grant it to the node binary.`,
      });
      checks.push({
        name: "schema",
        ok: false,
        detail: "not checked (chat.db unreadable)",
        fix: "fix Full Disk Access first",
      });
    }
  } finally {
    db?.close();
  }

  try {
    await runOsascript(PROBE_SCRIPT, [], {
      ...(input.osascript ? { osascript: input.osascript } : {}),
      timeoutMs: 15_000,
    });
    checks.push({ name: "automation", ok: true, detail: "may control Messages" });
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT" || /ENOENT/.test(String(err));
    checks.push({
      name: "automation",
      ok: false,
      detail: missing
        ? "osascript not found (this is not macOS?)"
        : String(err instanceof Error ? err.message : err),
      fix:
        err instanceof SendError && err.notPermitted
          ? `System Settings → Privacy & Security → Automation: allow ${grant} to control Messages (or \`tccutil reset AppleEvents\` and run doctor again to get the prompt)`
          : "run on the Mac that is signed in to Messages; open Messages once so it is set up",
    });
  }

  try {
    mkdirSync(input.dataDir, { recursive: true });
    accessSync(input.dataDir, constants.W_OK);
    checks.push({ name: "data dir", ok: true, detail: input.dataDir });
  } catch (err) {
    checks.push({
      name: "data dir",
      ok: false,
      detail: String(err),
      fix: "set M3SHD_IMESSAGE_DATA_DIR to a writable folder",
    });
  }

  if (!input.hub) {
    checks.push({ name: "hub", ok: false, detail: "no hub client configured", fix: "set M3SHD_HUB" });
    checks.push({ name: "token", ok: false, detail: "not checked", fix: "set M3SHD_TOKEN" });
    return checks;
  }
  const health = await input.hub.health().catch((e: unknown) => ({ ok: false, detail: String(e) }));
  checks.push({
    ...health,
    name: "hub",
    ...(health.ok ? {} : { fix: "check M3SHD_HUB and that the hub is running (GET /api/health)" }),
  });
  const me =
    input.hasToken === false
      ? { ok: false, detail: "no token configured" }
      : await input.hub.whoami().catch((e: unknown) => ({ ok: false, detail: String(e) }));
  checks.push({
    ...me,
    name: "token",
    ...(me.ok
      ? {}
      : {
          fix: "set M3SHD_TOKEN_FILE (or M3SHD_TOKEN) to an operator token that may create tasks and read the stream (tasks:read, tasks:write)",
        }),
  });
  return checks;
}

/** Human-readable report: one line per check, with the fix under each failure. */
export function formatDoctor(checks: DoctorCheck[]): string {
  return checks
    .map((c) => `${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}${c.ok || !c.fix ? "" : `\n    fix: ${c.fix}`}`)
    .join("\n");
}
