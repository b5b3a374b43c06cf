import { open, realpath, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, isAbsolute, join, sep } from "node:path";

/** 20 MB: larger images are refused rather than pushed through the hub. */
export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;

export type ImageKind = "jpeg" | "png" | "gif" | "webp" | "heic" | "heif";
const MIME: Record<ImageKind, string> = {
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
};

export type AttachmentCheck =
  | { ok: true; path: string; kind: ImageKind; mime: string; bytes: number }
  | { ok: false; name: string; reason: string };

/** Identifies an image by its first bytes; the file name and chat.db's mime_type are not trusted. */
export function sniffImage(head: Uint8Array): ImageKind | null {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return "png";
  if (b.length >= 6 && (b.toString("latin1", 0, 6) === "GIF87a" || b.toString("latin1", 0, 6) === "GIF89a"))
    return "gif";
  if (b.length >= 12 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP")
    return "webp";
  // ISO-BMFF: <size:4> "ftyp" <major brand:4>
  if (b.length >= 12 && b.toString("latin1", 4, 8) === "ftyp") {
    const brand = b.toString("latin1", 8, 12);
    if (["heic", "heix", "hevc", "hevx", "heim", "heis"].includes(brand)) return "heic";
    if (["mif1", "msf1", "heif"].includes(brand)) return "heif";
  }
  return null;
}

/** Expands the `~/` that chat.db stores in `attachment.filename`. */
export function expandHome(path: string, home = homedir()): string {
  return path === "~" ? home : path.startsWith("~/") ? join(home, path.slice(2)) : path;
}

/**
 * Checks one attachment before it leaves the Mac: the real path (after resolving every
 * symlink) must lie inside the Messages attachments folder — a row in chat.db, or a link
 * planted in that folder, must not make the bridge upload ~/.ssh/id_ed25519 — it must be a
 * regular file of at most 20 MB, and its magic bytes must say JPEG, PNG, GIF, WebP, HEIC or HEIF.
 */
export async function checkAttachment(
  filename: string | null,
  attachmentsRoot: string,
  options: { home?: string; maxBytes?: number } = {},
): Promise<AttachmentCheck> {
  const name = filename ? basename(filename) : "attachment";
  if (!filename)
    return { ok: false, name, reason: "the attachment has no file on this Mac (not downloaded?)" };
  const path = expandHome(filename, options.home);
  if (!isAbsolute(path)) return { ok: false, name, reason: "the attachment path is not absolute" };
  let real: string;
  let root: string;
  try {
    root = await realpath(expandHome(attachmentsRoot, options.home));
  } catch {
    return { ok: false, name, reason: "the Messages attachments folder is missing" };
  }
  try {
    real = await realpath(path);
  } catch {
    return { ok: false, name, reason: "the file is missing (not downloaded yet?)" };
  }
  if (!real.startsWith(root + sep)) {
    return { ok: false, name, reason: "the file is outside the Messages attachments folder" };
  }
  const st = await stat(real);
  if (!st.isFile()) return { ok: false, name, reason: "not a regular file" };
  const max = options.maxBytes ?? MAX_ATTACHMENT_BYTES;
  if (st.size > max) {
    return {
      ok: false,
      name,
      reason: `too large (${(st.size / 1048576).toFixed(1)} MB > ${max / 1048576} MB)`,
    };
  }
  const fh = await open(real, "r");
  let kind: ImageKind | null;
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await fh.read(head, 0, 16, 0);
    kind = sniffImage(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
  if (!kind)
    return { ok: false, name, reason: "not an image (only JPEG, PNG, GIF, WebP, HEIC, HEIF are accepted)" };
  return { ok: true, path: real, kind, mime: MIME[kind], bytes: st.size };
}
