import { spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import { isProviderError, ProviderError } from "./errors";
import type { Attempt } from "./types";

export interface CliAdapterOptions {
  /** Executable (a path, or a name looked up on PATH). Never run through a shell. */
  command: string;
  /** Arguments, passed as an array: nothing is ever parsed or interpolated by a shell. */
  args: readonly string[];
  cwd?: string | undefined;
  /** Environment of the subprocess (already merged with the worker's when inheriting). */
  env: NodeJS.ProcessEnv;
  /** After SIGTERM, how long the process may take to exit before SIGKILL. */
  killGraceMs: number;
  /** Output cap in bytes; a process that writes more is killed. */
  maxOutputBytes: number;
  /** Name reported as the model (the CLI chooses its own model). */
  model: string;
}

const STDERR_TAIL_CHARS = 2048;

/**
 * A subprocess agent such as `claude --print` or `codex exec`. The prompt goes to stdin, never
 * into the argument list or a shell string, so no prompt can inject a flag or a command. Stdout
 * is the output, streamed as it arrives. On cancellation or timeout the process group gets
 * SIGTERM, then SIGKILL after `killGraceMs`. A non-zero exit is a non-retryable failure carrying
 * the tail of stderr: a CLI that fails on an input usually fails the same way again.
 */
export function cliAttempt(options: CliAdapterOptions): Attempt {
  return ({ input, signal, emit }) =>
    new Promise((resolve, reject) => {
      signal.throwIfAborted();
      // A process group of its own (POSIX), so a kill reaches whatever the CLI spawned too.
      const detached = process.platform !== "win32";
      const child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        env: options.env,
        stdio: ["pipe", "pipe", "pipe"],
        shell: false,
        detached,
        windowsHide: true,
      });
      const decoder = new StringDecoder("utf8");
      let output = "";
      let outputBytes = 0;
      let stderrTail = "";
      let failure: ProviderError | null = null;
      let killTimer: NodeJS.Timeout | undefined;
      let exited = false;

      const kill = (sig: NodeJS.Signals) => {
        if (exited || child.pid === undefined) return;
        try {
          if (detached) process.kill(-child.pid, sig);
          else child.kill(sig);
        } catch {
          // Already gone.
        }
      };
      const terminate = (reason: ProviderError) => {
        failure ??= reason;
        kill("SIGTERM");
        killTimer ??= setTimeout(() => kill("SIGKILL"), options.killGraceMs);
      };
      const onAbort = () => {
        const reason = signal.reason;
        terminate(
          isProviderError(reason)
            ? reason
            : new ProviderError("Call cancelled", { code: "aborted", retryable: false, cause: reason }),
        );
      };
      signal.addEventListener("abort", onAbort, { once: true });

      child.stdout.on("data", (buf: Buffer) => {
        outputBytes += buf.length;
        if (outputBytes > options.maxOutputBytes) {
          terminate(
            new ProviderError(`CLI output exceeded ${options.maxOutputBytes} bytes`, {
              code: "output_too_large",
              retryable: false,
            }),
          );
          return;
        }
        const text = decoder.write(buf);
        if (text) {
          output += text;
          emit(text);
        }
      });
      child.stderr.on("data", (buf: Buffer) => {
        stderrTail = (stderrTail + buf.toString("utf8")).slice(-STDERR_TAIL_CHARS);
      });
      // The CLI may exit without reading all of stdin; that is its business, not an error.
      child.stdin.on("error", () => undefined);
      child.on("error", (err: NodeJS.ErrnoException) => {
        failure ??= new ProviderError(`Could not start ${options.command}: ${err.code ?? err.message}`, {
          code: "process_failed",
          retryable: false,
          cause: err,
        });
      });
      child.on("close", (code, sig) => {
        exited = true;
        clearTimeout(killTimer);
        signal.removeEventListener("abort", onAbort);
        if (failure) {
          reject(failure);
          return;
        }
        const rest = decoder.end();
        if (rest) {
          output += rest;
          emit(rest);
        }
        if (code === 0) {
          resolve({
            output,
            usage: { input_tokens: 0, output_tokens: 0 },
            usageReported: false,
            model: options.model,
            confidence: null,
            stopReason: "exit 0",
          });
          return;
        }
        const how = code === null ? `was killed by ${sig}` : `exited with code ${code}`;
        const tail = stderrTail.trim();
        reject(
          new ProviderError(`${options.command} ${how}${tail ? `; stderr: ${tail}` : ""}`, {
            code: "process_failed",
            retryable: false,
          }),
        );
      });
      child.stdin.end(input.system ? `${input.system}\n\n${input.prompt}` : input.prompt);
    });
}
