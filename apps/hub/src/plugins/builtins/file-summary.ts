import { constants } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { z } from "zod";
import type { PluginsConfig } from "../config";
import { type PluginModule, ToolError } from "../manager";

export const FILE_SUMMARY_DEFAULTS = { maxBytes: 1024 * 1024, excerptChars: 4000 };

const ArgsSchema = z.strictObject({
  /** Relative to the configured root. */
  path: z.string().min(1).max(1024),
  max_chars: z.int().min(100).max(16_000).optional(),
});

/** Whether `child` is `root` or inside it (both absolute, normalised). */
function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

const OUTSIDE = "The path is outside the directory file_summary may read";

/** Where an opened descriptor really points (Linux); null where the platform cannot say. */
async function descriptorPath(fd: number): Promise<string | null> {
  if (process.platform !== "linux") return null;
  return realpath(`/proc/self/fd/${fd}`).catch(() => null);
}

/**
 * `file_summary`: size, line count and the opening of a text file under the configured root.
 *
 * The path is the agent's input, so every way out of the root is refused (403), checked three
 * times: lexically (`..`, an absolute path) before touching the disk, so nothing outside is even
 * probed; after resolving symlinks (`realpath`), so a link inside the root pointing out of it is
 * refused; and on the opened descriptor (Linux: `/proc/self/fd`), so a symlink swapped in between
 * the check and the open cannot redirect the read. The final component is opened `O_NOFOLLOW`.
 * Files over the size cap are refused (413), not read. The answer names the file by its path
 * relative to the root: never an absolute path.
 */
export function fileSummaryPlugin(config: PluginsConfig["fileSummary"]): PluginModule {
  return {
    name: "file_summary",
    description: "Summaries of text files under one configured directory (M3SHD_FILE_SUMMARY_ROOT).",
    setup(manager) {
      manager.registerTool({
        name: "file_summary",
        description:
          "Summarise a text file under the shared root. Args: {path: relative path, max_chars?: 100-16000}. Returns {path, bytes, lines, words, excerpt, truncated}.",
        args: ArgsSchema,
        async handler(args) {
          if (!config) {
            throw new ToolError(
              "unavailable",
              "file_summary is not configured on this hub (M3SHD_FILE_SUMMARY_ROOT)",
            );
          }
          const maxBytes = config.maxBytes ?? FILE_SUMMARY_DEFAULTS.maxBytes;
          let root: string;
          try {
            root = await realpath(resolve(config.root));
          } catch {
            throw new ToolError("unavailable", "file_summary's root directory is missing");
          }
          if (args.path.includes("\0") || isAbsolute(args.path)) throw new ToolError("forbidden", OUTSIDE);
          const lexical = resolve(root, args.path);
          if (!isInside(root, lexical)) throw new ToolError("forbidden", OUTSIDE);
          let real: string;
          try {
            real = await realpath(lexical);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === "ENOENT" || code === "ENOTDIR") throw new ToolError("not_found", "No such file");
            if (code === "ELOOP") throw new ToolError("forbidden", OUTSIDE);
            throw new ToolError("forbidden", "The file cannot be read");
          }
          if (!isInside(root, real)) throw new ToolError("forbidden", OUTSIDE);
          let handle: Awaited<ReturnType<typeof open>>;
          try {
            handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === "ENOENT") throw new ToolError("not_found", "No such file");
            throw new ToolError("forbidden", code === "ELOOP" ? OUTSIDE : "The file cannot be read");
          }
          try {
            const opened = await descriptorPath(handle.fd);
            if (opened !== null && !isInside(root, opened)) throw new ToolError("forbidden", OUTSIDE);
            const info = await handle.stat();
            if (!info.isFile()) throw new ToolError("validation_failed", "The path is not a regular file");
            if (info.size > maxBytes) {
              throw new ToolError(
                "payload_too_large",
                `The file is over file_summary's ${maxBytes}-byte cap`,
              );
            }
            const buffer = Buffer.alloc(info.size);
            const { bytesRead } = await handle.read(buffer, 0, info.size, 0);
            const bytes = buffer.subarray(0, bytesRead);
            if (bytes.subarray(0, 8192).includes(0)) {
              throw new ToolError("validation_failed", "The file is not text");
            }
            const text = bytes.toString("utf8");
            const maxChars = args.max_chars ?? config.excerptChars ?? FILE_SUMMARY_DEFAULTS.excerptChars;
            return {
              path: relative(root, real).split(sep).join("/"),
              bytes: bytesRead,
              lines: text === "" ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0),
              words: (text.match(/\S+/g) ?? []).length,
              excerpt: text.slice(0, maxChars),
              truncated: text.length > maxChars,
            };
          } finally {
            await handle.close();
          }
        },
      });
    },
  };
}
