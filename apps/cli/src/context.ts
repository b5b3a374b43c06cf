import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { type Client, createClient } from "@m3shd/client";
import pc from "picocolors";
import { z } from "zod";

/** `$M3SHD_HOME/config.json`: where `m3shd` finds its hub and how `m3shd node start` runs a node. */
export const CliConfigSchema = z
  .object({
    hub: z.string().url().optional(),
    /** A bearer token (file mode 0600); `M3SHD_TOKEN` or `--token` win over it. */
    token: z.string().min(1).optional(),
    node: z
      .object({
        id: z.string().optional(),
        provider: z.string().optional(),
        capabilities: z.array(z.string()).optional(),
        slots: z.number().int().min(1).optional(),
      })
      .optional(),
  })
  .passthrough();
export type CliConfig = z.infer<typeof CliConfigSchema>;

/** A failure the CLI reports in one line and exits non-zero with (2 for usage, 1 otherwise). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Where output goes, so tests and embedders can capture it. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress bars draw only there). */
  isTTY: boolean;
}

export const processIo = (): CliIo => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  isTTY: process.stderr.isTTY === true,
});

/** The global options every command shares. */
export interface GlobalOptions {
  json?: boolean;
  hub?: string;
  token?: string;
  home?: string;
  color?: boolean;
}

/** What a command needs: output helpers, the resolved config, and a hub client on demand. */
export class CliContext {
  readonly json: boolean;
  readonly home: string;
  readonly colors: ReturnType<typeof pc.createColors>;
  #config: CliConfig | null = null;

  constructor(
    readonly io: CliIo,
    readonly options: GlobalOptions,
    /** The process's exit code, set by a command that reported a failure itself (`m3shd audit`). */
    readonly state: { exitCode: number } = { exitCode: 0 },
  ) {
    this.json = options.json === true;
    this.home = options.home ?? (io.env.M3SHD_HOME || join(homedir(), ".m3shd"));
    const colorWanted =
      options.color !== false && !io.env.NO_COLOR && (io.isTTY || io.env.FORCE_COLOR !== undefined);
    this.colors = pc.createColors(colorWanted && !this.json);
  }

  get configPath(): string {
    return join(this.home, "config.json");
  }

  get identityPath(): string {
    return this.io.env.M3SHD_IDENTITY || join(this.home, "identity.json");
  }

  config(): CliConfig {
    if (this.#config) return this.#config;
    if (!existsSync(this.configPath)) {
      this.#config = {};
      return this.#config;
    }
    try {
      this.#config = CliConfigSchema.parse(JSON.parse(readFileSync(this.configPath, "utf8")));
    } catch (err) {
      throw new CliError(`${this.configPath} is not a valid m3shd config: ${(err as Error).message}`, 2);
    }
    return this.#config;
  }

  /** Writes the config file (0600: it may hold a token). */
  saveConfig(config: CliConfig): void {
    mkdirSync(dirname(this.configPath), { recursive: true, mode: 0o700 });
    writeFileSync(this.configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    chmodSync(this.configPath, 0o600);
    this.#config = config;
  }

  hubUrl(): string {
    const url = this.options.hub ?? this.io.env.M3SHD_HUB ?? this.config().hub;
    if (!url) throw new CliError("No hub: pass --hub URL, set M3SHD_HUB, or run `m3shd init --hub URL`", 2);
    return url.replace(/\/+$/, "");
  }

  token(): string | undefined {
    return this.options.token ?? this.io.env.M3SHD_TOKEN ?? this.config().token;
  }

  /** The typed hub client (`@m3shd/client`): the only way the CLI talks to a hub. */
  client(): Client {
    return createClient({
      baseUrl: this.hubUrl(),
      token: this.token(),
      headers: { "user-agent": "m3shd-cli" },
      timeoutMs: 30_000,
    });
  }

  /** Prints a command's result: its JSON document with `--json`, else the human rendering. */
  print(result: unknown, human: () => string): void {
    if (this.json) this.io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    else this.io.stdout(`${human()}\n`);
  }

  /** A progress bar on stderr for long work (drawn only on a terminal and never with `--json`). */
  progress(label: string, total: number): Progress {
    const draw = this.io.isTTY && !this.json && total > 0;
    let done = 0;
    const render = () => {
      if (!draw) return;
      const width = 24;
      const filled = Math.round((done / total) * width);
      const bar = this.colors.green("█".repeat(filled)) + this.colors.dim("░".repeat(width - filled));
      this.io.stderr(`\r${bar} ${done}/${total} ${label}`);
    };
    render();
    return {
      tick: (n = 1) => {
        done = Math.min(total, done + n);
        render();
      },
      done: () => {
        if (draw) this.io.stderr("\n");
      },
    };
  }
}

export interface Progress {
  tick(n?: number): void;
  done(): void;
}

/** A table of rows as aligned columns (plain text; colour is applied to whole cells by callers). */
export function table(headers: string[], rows: string[][]): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes to measure width
  const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "").length;
  const widths = headers.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + " ".repeat(Math.max(0, (widths[i] ?? 0) - visible(c))))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** `3s ago`, `5m ago`, `2h ago` from an epoch-ms time. */
export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86_400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}
