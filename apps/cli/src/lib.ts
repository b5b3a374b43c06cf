export {
  type AuditResult,
  auditBundle,
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  entryHashOf,
  exportBundle,
  totalsOf,
} from "./bundle";
export { CliContext, CliError, type CliIo, type GlobalOptions, processIo } from "./context";
export { CLI_VERSION, COMMANDS, type CommandModule, createProgram, runCli } from "./program";
