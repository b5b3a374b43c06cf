import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createProvider } from "./config";
import { isProviderError, type ProviderError } from "./errors";

const FAKE_CLI = fileURLToPath(new URL("../test/fixtures/fake-cli.mjs", import.meta.url));

function cli(mode: string, extra: Record<string, unknown> = {}) {
  return createProvider({
    kind: "cli",
    command: process.execPath,
    args: [FAKE_CLI, mode],
    model: "fake-cli",
    ...extra,
  });
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
  if (!isProviderError(err)) throw err;
  return err;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `mode` until the CLI printed its pid, returning the pid and the run's settlement. */
async function runUntilPid(mode: string, extra: Record<string, unknown>, signal?: AbortSignal) {
  let resolvePid: (pid: number) => void = () => undefined;
  const pid = new Promise<number>((resolve) => {
    resolvePid = resolve;
  });
  const settled = rejection(
    cli(mode, extra).run({
      prompt: "x",
      ...(signal ? { signal } : {}),
      onText: (t) => {
        const match = /pid:(\d+)/.exec(t);
        if (match) resolvePid(Number(match[1]));
      },
    }),
  );
  return { pid: await pid, settled };
}

describe("cli provider", () => {
  it("writes the prompt to stdin and streams stdout back", async () => {
    const seen: string[] = [];
    const result = await cli("echo").run({ prompt: "hello cli", onText: (t) => seen.push(t) });
    expect(result).toMatchObject({
      output: "HELLO CLI",
      model: "fake-cli",
      usageReported: false,
      stopReason: "exit 0",
      costUsd: null,
    });
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });

  it("never puts the prompt in the argument list, and no shell interprets it", async () => {
    const prompt = '$(touch /tmp/m3shd-pwned); `id`; "quoted" && rm -rf ~ | cat';
    const argv = await cli("argv").run({ prompt });
    expect(JSON.parse(argv.output)).toEqual(["argv"]);
    const echoed = await cli("echo").run({ prompt });
    expect(echoed.output).toBe(prompt.toUpperCase());
  });

  it("prepends the system prompt on stdin", async () => {
    const result = await cli("echo").run({ prompt: "task", system: "rules" });
    expect(result.output).toBe("RULES\n\nTASK");
  });

  it("fails a non-zero exit without retrying, with the stderr tail", async () => {
    const err = await rejection(cli("fail", { retry: { maxAttempts: 3 } }).run({ prompt: "x" }));
    expect(err).toMatchObject({ code: "process_failed", retryable: false, attempts: 1 });
    expect(err.message).toContain("exited with code 3");
    expect(err.message).toContain("something went wrong: boom");
  });

  it("fails a command that does not exist", async () => {
    const missing = createProvider({ kind: "cli", command: "/nonexistent/m3shd-cli", args: [] });
    const err = await rejection(missing.run({ prompt: "x" }));
    expect(err).toMatchObject({ code: "process_failed", retryable: false });
    expect(err.message).toContain("ENOENT");
  });

  it("on timeout sends SIGTERM and the process exits", async () => {
    const { pid, settled } = await runUntilPid("sleep", { timeoutMs: 300 });
    const err = await settled;
    expect(err).toMatchObject({ code: "timeout", retryable: true });
    expect(isAlive(pid)).toBe(false);
  });

  it("SIGKILLs a process that ignores SIGTERM after the grace period", async () => {
    const started = Date.now();
    const { pid, settled } = await runUntilPid("stubborn", { timeoutMs: 300, killGraceMs: 200 });
    const err = await settled;
    expect(err.code).toBe("timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(isAlive(pid)).toBe(false);
  });

  it("kills the process when the caller aborts", async () => {
    const controller = new AbortController();
    const { pid, settled } = await runUntilPid("sleep", {}, controller.signal);
    controller.abort(new Error("shutdown"));
    expect(await settled).toMatchObject({ code: "aborted", retryable: false });
    expect(isAlive(pid)).toBe(false);
  });

  it("stops a process that writes more than maxOutputBytes", async () => {
    const err = await rejection(cli("flood", { maxOutputBytes: 100_000 }).run({ prompt: "x" }));
    expect(err).toMatchObject({ code: "output_too_large", retryable: false });
  });
});
