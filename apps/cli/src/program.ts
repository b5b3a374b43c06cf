import { Command, CommanderError } from "commander";
import { aggregateCommand } from "./commands/aggregate";
import { auditCommand } from "./commands/audit";
import { exportCommand } from "./commands/export";
import { initCommand } from "./commands/init";
import { jobsCommand } from "./commands/jobs";
import { ledgerCommand } from "./commands/ledger";
import { nodeCommand } from "./commands/node";
import { peersCommand } from "./commands/peers";
import { statusCommand } from "./commands/status";
import { tokenCommand } from "./commands/token";
import { uiCommand } from "./commands/ui";
import { CliContext, CliError, type CliIo, type GlobalOptions, processIo } from "./context";

export const CLI_VERSION = "0.1.0";

/**
 * One command module: adds its command (and subcommands) to the program. `context()` builds the
 * command's `CliContext` from the global options when it runs. To add a command (`m3shd backup`,
 * say), write a module like these and append it to `COMMANDS`: nothing else changes.
 */
export interface CommandModule {
  name: string;
  register(program: Command, context: () => CliContext): void;
}

/** The registry, in help order. */
export const COMMANDS: CommandModule[] = [
  initCommand,
  statusCommand,
  nodeCommand,
  peersCommand,
  jobsCommand,
  ledgerCommand,
  exportCommand,
  auditCommand,
  aggregateCommand,
  uiCommand,
  tokenCommand,
];

/** The `m3shd` program over `io` (tests pass their own), with every module in `commands`. */
export function createProgram(
  io: CliIo = processIo(),
  commands: readonly CommandModule[] = COMMANDS,
  state: { exitCode: number } = { exitCode: 0 },
): Command {
  const program = new Command("m3shd")
    .description("Run an M3SHD node, read the mesh, and export and audit contribution receipts offline.")
    .version(CLI_VERSION)
    .option("--json", "print one JSON document instead of text (every command)")
    .option("--hub <url>", "hub URL (env M3SHD_HUB, or `hub` in $M3SHD_HOME/config.json)")
    .option("--token <token>", "bearer token (prefer env M3SHD_TOKEN: flags show in `ps`)")
    .option("--home <dir>", "M3SHD_HOME: identity and config directory (default ~/.m3shd)")
    .option("--no-color", "plain output")
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  const context = () => new CliContext(io, program.opts<GlobalOptions>(), state);
  for (const command of commands) command.register(program, context);
  for (const command of program.commands)
    command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  return program;
}

/** Runs `m3shd` with `argv` (without node and script); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const state = { exitCode: 0 };
  const program = createProgram(io, COMMANDS, state);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    const json = program.opts<GlobalOptions>().json === true;
    const { message, code, details } =
      err instanceof CliError
        ? { message: err.message, code: err.exitCode, details: err.details }
        : describeError(err);
    if (json)
      io.stdout(
        `${JSON.stringify({ ok: false, error: message, ...(details ? { details } : {}) }, null, 2)}\n`,
      );
    else io.stderr(`m3shd: ${message}\n`);
    return code;
  }
}

/** A hub error (`@m3shd/client`'s `HubError`) or anything else, as one line. */
function describeError(err: unknown): { message: string; code: number; details?: unknown } {
  const e = err as { status?: number; code?: string; message?: string; details?: unknown };
  if (typeof e?.status === "number")
    return { message: `hub answered ${e.status} ${e.code ?? ""}: ${e.message}`, code: 1, details: e.details };
  return { message: err instanceof Error ? err.message : String(err), code: 1 };
}
