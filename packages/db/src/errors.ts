/**
 * The query functions throw the protocol's typed errors (`NotFoundError`, `IllegalTransitionError`,
 * `ConflictError`), so every service maps one error hierarchy to HTTP at its edge. Nothing here
 * knows about HTTP.
 */
export {
  ConflictError,
  IllegalTransitionError,
  isM3shdError as isDbError,
  M3shdError as DbError,
  NotFoundError,
} from "@m3shd/protocol";
