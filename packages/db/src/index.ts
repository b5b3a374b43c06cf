export { loadTaskRelations, toApiAgent, toApiTask, toApiTasks } from "./api-shapes";
export {
  BACKUP_FORMAT,
  type BackupFileRecord,
  type BackupManifest,
  type BackupResult,
  backupDataDir,
  DATA_DIR_SECRET_FILES,
  inspectSqlite,
  LATEST_FILE,
  listBackups,
  MANIFEST_FILE,
  pruneBackups,
  restoreBackup,
  sqliteFilesIn,
  verifyBackup,
} from "./backup";
export {
  DEFAULT_BUSY_TIMEOUT_MS,
  type OpenDatabaseOptions,
  type OpenedDatabase,
  openDatabase,
} from "./connection";
export { ConflictError, DbError, IllegalTransitionError, isDbError, NotFoundError } from "./errors";
export { MIGRATIONS_FOLDER, MigrationIntegrityError, migrateDatabase } from "./migrate";
export * from "./queries";
export * as schema from "./schema";
export * from "./schema";
export type { Database, Executor, Schema } from "./types";
