import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JOB_NAMES } from "@m3shd/providers";
import { describe, expect, it } from "vitest";
import { ConfigError, loadWorkerConfig, parseDuration, type WorkerConfig } from "./config";

const TOKEN = "super-secret-token-value-0123456789";

function configFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "m3shd-worker-config-"));
  const path = join(dir, "worker.json");
  writeFileSync(path, JSON.stringify(content));
  return path;
}

function run(argv: string[], env: NodeJS.ProcessEnv = {}): WorkerConfig {
  const result = loadWorkerConfig(argv, env);
  if (result.kind !== "run") throw new Error(`expected a config, got ${result.kind}`);
  return result.config;
}

function configError(argv: string[], env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    loadWorkerConfig(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

const base = ["--hub", "http://127.0.0.1:7700/", "--token", TOKEN, "--id", "box-1"];

describe("loadWorkerConfig", () => {
  it("reads the documented command line", () => {
    const config = run(
      [
        ...base,
        "--capabilities",
        "research, code_review",
        "--slots",
        "3",
        "--provider",
        "anthropic",
        "--model",
        "claude-sonnet-5-5",
        "--task-timeout",
        "90s",
        "--max-load",
        "6.5",
      ],
      { ANTHROPIC_API_KEY: "sk-ant" },
    );
    expect(config).toMatchObject({
      hub: "http://127.0.0.1:7700",
      id: "box-1",
      capabilities: ["research", "code_review"],
      slots: 3,
      maxLoad: 6.5,
      taskTimeoutMs: 90_000,
      provider: {
        kind: "anthropic",
        model: "claude-sonnet-5-5",
        apiKey: "sk-ant",
        baseURL: "https://api.anthropic.com",
      },
    });
    expect(config.spoolDir).toMatch(/\.m3shd\/workers\/box-1\/spool$/);
  });

  it("applies precedence flags > env > file", () => {
    const file = configFile({
      hub: "http://file:1",
      token: "file-token",
      id: "from-file",
      slots: 1,
      capabilities: ["a"],
      provider: {
        kind: "openai-compatible",
        baseURL: "http://127.0.0.1:11434/v1",
        model: "llama3.2",
        maxTokens: 100,
      },
    });
    const config = run(["--config", file, "--slots", "3", "--model", "qwen3"], {
      M3SHD_SLOTS: "2",
      M3SHD_AGENT_ID: "from-env",
      M3SHD_MAX_TOKENS: "200",
    });
    expect(config).toMatchObject({ hub: "http://file:1", id: "from-env", slots: 3, capabilities: ["a"] });
    expect(config.provider).toMatchObject({ kind: "openai-compatible", model: "qwen3", maxTokens: 200 });
  });

  it("finds the config file through M3SHD_WORKER_CONFIG", () => {
    const file = configFile({ hub: "http://h:1", token: "t", id: "x", provider: { kind: "jobs" } });
    expect(run([], { M3SHD_WORKER_CONFIG: file }).id).toBe("x");
  });

  it("reads the token from M3SHD_TOKEN_FILE (a compose secret), refusing both and never echoing it", () => {
    const dir = mkdtempSync(join(tmpdir(), "m3shd-worker-token-"));
    const file = join(dir, "token");
    writeFileSync(file, `${TOKEN}\n`);
    const env = { M3SHD_HUB: "http://hub:7700", M3SHD_AGENT_ID: "jobs-1", M3SHD_PROVIDER: "jobs" };
    const config = run([], { ...env, M3SHD_TOKEN_FILE: file, M3SHD_HEALTH_FILE: "/tmp/w.health" });
    expect(config.token).toBe(TOKEN);
    expect(config.healthFile).toBe("/tmp/w.health");
    const both = configError([], { ...env, M3SHD_TOKEN_FILE: file, M3SHD_TOKEN: TOKEN });
    expect(both.message).toBe("Set M3SHD_TOKEN or M3SHD_TOKEN_FILE, not both");
    writeFileSync(file, "\n");
    expect(configError([], { ...env, M3SHD_TOKEN_FILE: file }).message).toContain("is empty");
    const missing = configError([], { ...env, M3SHD_TOKEN_FILE: join(dir, "nope") });
    expect(missing.message).toContain("ENOENT");
    expect(missing.message).not.toContain(TOKEN);
  });

  it("replaces the file's provider when a higher layer names another kind", () => {
    const file = configFile({
      hub: "http://h:1",
      token: "t",
      id: "x",
      capabilities: ["a"],
      provider: { kind: "cli", command: "claude", args: ["--print"] },
    });
    const config = run(["--config", file, "--provider", "jobs"]);
    expect(config.provider).toMatchObject({ kind: "jobs" });
  });

  it("takes API keys from the environment, each vendor's variable only for its own provider", () => {
    const env = { OPENAI_API_KEY: "sk-openai", XAI_API_KEY: "xai-key" };
    expect(
      run([...base, "--capabilities", "a", "--provider", "openai", "--model", "gpt-5.4"], env).provider,
    ).toMatchObject({
      apiKey: "sk-openai",
    });
    expect(
      run([...base, "--capabilities", "a", "--provider", "grok", "--model", "grok-4"], env).provider,
    ).toMatchObject({
      apiKey: "xai-key",
      baseURL: "https://api.x.ai/v1",
    });
    const local = run(
      [
        ...base,
        "--capabilities",
        "a",
        "--provider",
        "openai-compatible",
        "--base-url",
        "http://127.0.0.1:11434/v1",
        "--model",
        "m",
      ],
      env,
    );
    expect(local.provider).not.toHaveProperty("apiKey");
    const generic = run([...base, "--capabilities", "a", "--provider", "openai", "--model", "m"], {
      ...env,
      M3SHD_PROVIDER_API_KEY: "generic",
    });
    expect(generic.provider).toMatchObject({ apiKey: "generic" });
  });

  it("reads CLI provider arguments from repeated flags or a JSON array in the environment", () => {
    const fromFlags = run([
      ...base,
      "--capabilities",
      "code",
      "--provider",
      "cli",
      "--cli-command",
      "claude",
      "--cli-arg=--print",
      "--cli-arg=--output-format=text",
    ]);
    expect(fromFlags.provider).toMatchObject({
      kind: "cli",
      command: "claude",
      args: ["--print", "--output-format=text"],
    });
    const fromEnv = run([...base, "--capabilities", "code"], {
      M3SHD_PROVIDER: "cli",
      M3SHD_CLI_COMMAND: "codex",
      M3SHD_CLI_ARGS: '["exec", "-"]',
    });
    expect(fromEnv.provider).toMatchObject({ command: "codex", args: ["exec", "-"] });
    expect(
      configError([...base, "--capabilities", "code"], {
        M3SHD_PROVIDER: "cli",
        M3SHD_CLI_COMMAND: "c",
        M3SHD_CLI_ARGS: "exec -",
      }).message,
    ).toContain("M3SHD_CLI_ARGS");
  });

  it("gives a jobs worker every built-in job as capabilities by default", () => {
    expect(run([...base, "--provider", "jobs"]).capabilities).toEqual([...JOB_NAMES]);
  });

  it("explains every problem by path and never prints the token", () => {
    const err = configError([
      "--hub",
      "ftp://x",
      "--token",
      TOKEN,
      "--id",
      "Bad_Id",
      "--provider",
      "anthropic",
      "--slots",
      "0",
    ]);
    expect(err.message).toContain("--hub / M3SHD_HUB (hub):");
    expect(err.message).toContain("--id / M3SHD_AGENT_ID (id):");
    expect(err.message).toContain("--slots / M3SHD_SLOTS (slots):");
    expect(err.message).toContain("ANTHROPIC_API_KEY or M3SHD_PROVIDER_API_KEY (provider.apiKey):");
    expect(err.message).toContain("--model / M3SHD_MODEL (provider.model):");
    expect(err.message).not.toContain(TOKEN);
    const long = "x".repeat(600);
    expect(
      configError([...base.slice(0, 2), "--token", long, "--id", "a", "--provider", "jobs"]).message,
    ).not.toContain(long);
  });

  it("names the flag and environment variable of every bad setting, and each provider's key variable", () => {
    const base2 = ["--hub", "http://h", "--id", "a"];
    const env = { M3SHD_TOKEN: TOKEN };
    const openai = configError(
      [...base2, "--provider", "openai", "--model", "m", "--capabilities", "c"],
      env,
    );
    expect(openai.message).toMatch(/^ {2}OPENAI_API_KEY or M3SHD_PROVIDER_API_KEY \(provider\.apiKey\): /m);
    const grok = configError([...base2, "--provider", "grok", "--model", "m", "--capabilities", "c"], env);
    expect(grok.message).toContain("XAI_API_KEY or M3SHD_PROVIDER_API_KEY (provider.apiKey):");
    const url = configError(
      [
        ...base2,
        "--provider",
        "openai-compatible",
        "--model",
        "m",
        "--capabilities",
        "c",
        "--base-url",
        "not a url",
      ],
      env,
    );
    expect(url.message).toMatch(/--base-url \/ M3SHD_BASE_URL \(provider\.baseURL\)/);
    const load = configError([...base2, "--provider", "jobs", "--max-load=-1"], env);
    expect(load.message).toContain("--max-load / M3SHD_MAX_LOAD (maxLoad):");
    // From the environment it reads the same: the operator sees both names.
    const fromEnv = configError([], {
      ...env,
      M3SHD_HUB: "ftp://x",
      M3SHD_AGENT_ID: "a",
      M3SHD_PROVIDER: "jobs",
    });
    expect(fromEnv.message).toContain("--hub / M3SHD_HUB (hub):");
  });

  it("rejects unknown flags and non-numeric numbers clearly", () => {
    expect(configError(["--nope"]).message).toMatch(/Unknown option '--nope'/);
    expect(configError([...base, "--provider", "jobs", "--slots", "three"]).message).toContain(
      "--slots: expected a number",
    );
    expect(configError([...base]).message).toContain("provider: required");
  });

  it("recognises --help and --version", () => {
    expect(loadWorkerConfig(["--help"]).kind).toBe("help");
    expect(loadWorkerConfig(["--version"]).kind).toBe("version");
  });
});

describe("parseDuration", () => {
  it.each([
    ["250ms", 250],
    ["90s", 90_000],
    ["90", 90_000],
    ["1.5m", 90_000],
    ["2h", 7_200_000],
  ])("%s → %i ms", (text, ms) => {
    expect(parseDuration(text, "x")).toBe(ms);
  });

  it("rejects nonsense", () => {
    expect(() => parseDuration("soon", "--task-timeout")).toThrow(/--task-timeout: expected a duration/);
  });
});
