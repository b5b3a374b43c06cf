import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { until } from "../helpers";
import { MASTER } from "../mesh-fixture";

const require = createRequire(import.meta.url);
const TSX = pathToFileURL(require.resolve("tsx")).href;
/** The bridge's real entry point, run from source (tsx, `@m3shd/source`): nothing to build first. */
export const BRIDGE_ENTRY = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
const WORKER_ENTRY = join(dirname(fileURLToPath(import.meta.resolve("@m3shd/worker"))), "index.ts");
/** `pnpm start`'s process: the whole mesh (hub + dispatcher) on its own, killable with -9. */
const MESH_ENTRY = join(dirname(fileURLToPath(import.meta.resolve("@m3shd/mesh"))), "index.ts");
/** The fake `osascript` (records argv and stdin, plays Messages), first on the bridge's PATH. */
export const FAKE_BIN = fileURLToPath(new URL("../bin", import.meta.url));

type Teardown = (fn: () => Promise<void>) => void;

/** Children still running: killed if this process exits without its teardowns (a crashed run). */
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** A child process whose stdout is JSON log lines (pino), with waits on those lines. */
export interface Proc {
  child: ChildProcess;
  pid: number;
  logs: Record<string, unknown>[];
  stderr(): string;
  waitForLog(match: string | ((line: Record<string, unknown>) => boolean), ms?: number): Promise<void>;
  /** Log lines with this `msg`. */
  count(msg: string): number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no shutdown handler runs, nothing is flushed. */
  kill9(): Promise<void>;
}

function spawnProc(label: string, args: string[], env: Record<string, string>, teardown: Teardown): Proc {
  const child = spawn(process.execPath, ["--import", TSX, "--conditions=@m3shd/source", ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  let buffer = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (text: string) => {
    buffer += text;
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    stderr += text;
  });
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const kill9 = async () => {
    if (alive()) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  teardown(kill9);
  return {
    child,
    pid: child.pid ?? -1,
    logs,
    stderr: () => stderr,
    count: (msg) => logs.filter((l) => l.msg === msg).length,
    async waitForLog(match, ms = 45_000) {
      const test = typeof match === "string" ? (l: Record<string, unknown>) => l.msg === match : match;
      await until(
        () => {
          if (logs.some(test)) return true;
          if (!alive())
            throw new Error(`${label} exited before logging ${String(match)}: ${stderr.slice(-2000)}`);
          return false;
        },
        ms,
        `${label} to log ${String(match)}`,
      );
    },
    exited,
    kill9,
  };
}

/** What a bridge needs to know about its Mac: the temp Messages home of `messagesHome`. */
export interface BridgeHome {
  root: string;
  chatDbPath: string;
  attachmentsRoot: string;
  dataDir: string;
}

/** The real `m3shd-imessage run`, as a child process, against `hubUrl`. */
export function spawnBridge(
  home: BridgeHome,
  hubUrl: string,
  teardown: Teardown,
  extra: Record<string, string> = {},
): Proc {
  return spawnProc("the bridge", [BRIDGE_ENTRY, "run"], bridgeEnv(home, hubUrl, extra), teardown);
}

/** Runs `m3shd-imessage doctor` to its exit; its report is on stdout. */
export function runDoctorProcess(
  home: BridgeHome,
  hubUrl: string,
  teardown: Teardown,
  extra: Record<string, string> = {},
) {
  const proc = spawnProc("doctor", [BRIDGE_ENTRY, "doctor"], bridgeEnv(home, hubUrl, extra), teardown);
  return proc.exited.then(({ code }) => ({
    code,
    report: proc.logs.map((l) => (typeof l.raw === "string" ? l.raw : JSON.stringify(l))).join("\n"),
  }));
}

function bridgeEnv(home: BridgeHome, hubUrl: string, extra: Record<string, string>): Record<string, string> {
  return {
    PATH: [FAKE_BIN, dirname(process.execPath), process.env.PATH ?? "/usr/bin:/bin"].join(delimiter),
    HOME: home.root,
    M3SHD_HUB: hubUrl,
    M3SHD_TOKEN: MASTER,
    M3SHD_IMESSAGE_HANDLES: "+1 (555) 555-0123",
    M3SHD_IMESSAGE_DB: home.chatDbPath,
    M3SHD_IMESSAGE_ATTACHMENTS: home.attachmentsRoot,
    M3SHD_IMESSAGE_DATA_DIR: home.dataDir,
    M3SHD_IMESSAGE_POLL_MS: "250",
    M3SHD_IMESSAGE_SETTLE_MS: "100",
    M3SHD_IMESSAGE_RETRY_BASE_MS: "100",
    M3SHD_IMESSAGE_RETRY_MAX_MS: "1000",
    M3SHD_IMESSAGE_SENDS_PER_HOUR: "150",
    LOG_LEVEL: "info",
    FAKE_OSASCRIPT_LOG: osascriptLog(home),
    FAKE_MESSAGES_DB: home.chatDbPath,
    FAKE_BSQ_FROM: require.resolve("better-sqlite3"),
    ...extra,
  };
}

export function osascriptLog(home: BridgeHome): string {
  return join(home.root, "osascript.jsonl");
}

/** Every osascript run the fake recorded, in order. */
export function osascriptCalls(home: BridgeHome): { argv: string[]; stdin: string }[] {
  try {
    return readFileSync(osascriptLog(home), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { argv: string[]; stdin: string });
  } catch {
    return [];
  }
}

/** A real `m3shd-worker` serving `capabilities` with the Anthropic provider pointed at the fake model server. */
export function spawnModelWorker(
  hubUrl: string,
  id: string,
  capabilities: string[],
  fakeUrl: string,
  model: string,
  home: string,
  teardown: Teardown,
): Proc {
  return spawnProc(
    `worker ${id}`,
    [
      WORKER_ENTRY,
      "--hub",
      hubUrl,
      "--id",
      id,
      "--capabilities",
      capabilities.join(","),
      "--slots",
      "4",
      "--provider",
      "anthropic",
      "--model",
      model,
      "--base-url",
      fakeUrl,
      "--heartbeat",
      "1s",
      "--poll-wait",
      "5s",
      "--spool-dir",
      join(home, "spool"),
    ],
    {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      M3SHD_TOKEN: MASTER,
      ANTHROPIC_API_KEY: "fake-key",
      M3SHD_LOG_LEVEL: "info",
    },
    teardown,
  );
}

/** The mesh as its own process on `port` with `dataDir` (memory off), so a test can kill -9 it. */
export async function spawnMesh(dataDir: string, port: number, teardown: Teardown): Promise<Proc> {
  const proc = spawnProc(
    "the mesh",
    [MESH_ENTRY],
    {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dataDir,
      M3SHD_DATA_DIR: dataDir,
      M3SHD_HOST: "127.0.0.1",
      M3SHD_PORT: String(port),
      M3SHD_MASTER_TOKEN: MASTER,
      M3SHD_LOG_LEVEL: "warn",
    },
    teardown,
  );
  await until(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`the mesh exited: ${proc.stderr().slice(-2000)}`);
      const res = await fetch(`http://127.0.0.1:${port}/api/health`).catch(() => null);
      return res?.status === 200;
    },
    45_000,
    "the mesh to answer /api/health",
  );
  return proc;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** The files a process holds open (Linux /proc), e.g. to see which chat.db-wal the reader has. */
export function openFiles(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  return readdirSync(dir).flatMap((fd) => {
    try {
      return [readlinkSync(join(dir, fd))];
    } catch {
      return [];
    }
  });
}
