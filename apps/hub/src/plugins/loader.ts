import { readdir, stat } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Logger } from "pino";
import type { PluginManager, PluginModule } from "./manager";

const MODULE_EXTENSIONS = new Set([".mjs", ".js", ".cjs"]);
const INDEX_FILES = ["index.mjs", "index.js", "index.cjs"];

/** Other users may write it: anything they drop there would run inside the hub. */
const isWorldWritable = (mode: number) => (mode & 0o002) !== 0;

/**
 * The module a directory entry names: a `.mjs`/`.js`/`.cjs` file, or a directory with an
 * `index.mjs`/`index.js`/`index.cjs`. Dotfiles and anything else are not plugins.
 */
async function moduleFile(dir: string, entry: string): Promise<string | null> {
  if (entry.startsWith(".")) return null;
  const path = join(dir, entry);
  const info = await stat(path);
  if (info.isFile()) return MODULE_EXTENSIONS.has(extname(entry)) ? path : null;
  if (!info.isDirectory()) return null;
  for (const index of INDEX_FILES) {
    const candidate = join(path, index);
    if (
      await stat(candidate).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return candidate;
  }
  return null;
}

/** The plugin module an import produced: named exports, or a default export holding them. */
function pluginModuleOf(imported: Record<string, unknown>, fallbackName: string): PluginModule {
  const inner = imported.default;
  const source =
    typeof imported.setup === "function"
      ? imported
      : inner && typeof inner === "object"
        ? (inner as Record<string, unknown>)
        : typeof inner === "function"
          ? { setup: inner }
          : imported;
  return {
    name: typeof source.name === "string" ? source.name : fallbackName,
    ...(typeof source.description === "string" ? { description: source.description } : {}),
    setup: source.setup as PluginModule["setup"],
  };
}

/**
 * Loads every plugin in `dir`, in name order, at hub start. A plugin that fails to import or whose
 * `setup` throws (or times out) is logged and skipped; the hub starts either way. A directory
 * other users may write to is refused as a whole, and a world-writable plugin file is skipped.
 * Returns the names loaded.
 */
export async function loadPluginDirectory(
  manager: PluginManager,
  dir: string,
  logger: Logger,
): Promise<string[]> {
  const root = resolve(dir);
  let entries: string[];
  try {
    const info = await stat(root);
    if (!info.isDirectory()) throw new Error("not a directory");
    if (isWorldWritable(info.mode)) {
      logger.error("plugins directory is world-writable; no plugin loaded from it");
      return [];
    }
    entries = (await readdir(root)).sort();
  } catch (err) {
    logger.error({ err: (err as Error).message }, "plugins directory unreadable; no plugin loaded from it");
    return [];
  }
  const loaded: string[] = [];
  for (const entry of entries) {
    const fallbackName = basename(entry, extname(entry)).toLowerCase();
    let file: string | null;
    try {
      file = await moduleFile(root, entry);
      if (!file) continue;
      if (isWorldWritable((await stat(file)).mode)) {
        logger.error({ plugin: fallbackName, file: entry }, "plugin file is world-writable; skipped");
        continue;
      }
    } catch (err) {
      logger.error({ plugin: fallbackName, file: entry, err }, "plugin failed to load; skipped");
      continue;
    }
    let imported: Record<string, unknown>;
    try {
      imported = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      logger.error({ plugin: fallbackName, file: entry, err }, "plugin failed to load; skipped");
      continue;
    }
    const module = pluginModuleOf(imported, fallbackName);
    if (await manager.register("directory", module, entry)) loaded.push(module.name ?? fallbackName);
  }
  return loaded;
}
