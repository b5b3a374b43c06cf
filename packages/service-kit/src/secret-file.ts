import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Reads a secret from `path`, creating it with `generate()` on first run. The file is written with
 * mode 0600 (exclusive create, so two processes starting at once never overwrite each other's), and
 * an existing file readable by group or others is tightened back to 0600.
 */
export function loadOrCreateSecret(
  path: string,
  generate: () => string,
): { value: string; created: boolean } {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) {
    try {
      writeFileSync(path, `${generate()}\n`, { mode: 0o600, flag: "wx" });
      return { value: readFileSync(path, "utf8").trim(), created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const value = readFileSync(path, "utf8").trim();
  if (!value) throw new Error(`Secret file ${path} is empty; delete it to have a new secret generated`);
  return { value, created: false };
}
