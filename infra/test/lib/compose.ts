import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const INFRA = join(REPO, "infra");
export const COMPOSE_FILE = join(INFRA, "compose.yml");
export const SCHEMA_FILE = join(INFRA, "schema", "compose-spec.json");

/** The parts of a compose service this repository uses (the schema checks the rest). */
export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  secrets?: string[];
  tmpfs?: string[];
  read_only?: boolean;
  restart?: string;
  mem_limit?: string;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string; environment?: string }>;
}

/** infra/compose.yml as compose reads it: YAML with anchors and `<<` merge keys resolved. */
export function loadCompose(path = COMPOSE_FILE): { raw: unknown; compose: ComposeFile } {
  const raw: unknown = parse(readFileSync(path, "utf8"), { merge: true });
  return { raw, compose: raw as ComposeFile };
}

/** `256m`, `1g`, `512M` → bytes. */
export function bytesOf(size: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg])?b?$/i.exec(size.trim());
  if (!m?.[1]) throw new Error(`not a size: ${size}`);
  const unit = (m[2] ?? "b").toLowerCase();
  const factor = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit] ?? 1;
  return Number(m[1]) * factor;
}
