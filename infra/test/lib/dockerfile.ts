import { readFileSync } from "node:fs";

/** One instruction of a Dockerfile: keyword (upper case) and its arguments, continuations joined. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  /** The image (or earlier stage) it starts from. */
  from: string;
  name: string | null;
  instructions: Instruction[];
}

export interface Dockerfile {
  path: string;
  stages: Stage[];
  /** The last stage: the image that runs. */
  final: Stage;
}

/** Parses a Dockerfile into stages (enough of the syntax for our own files: no heredocs, no parser directives but `syntax`). */
export function parseDockerfile(path: string): Dockerfile {
  const lines = readFileSync(path, "utf8").split("\n");
  const instructions: Instruction[] = [];
  let pending = "";
  let start = 0;
  for (const [i, raw] of lines.entries()) {
    const line = raw.trimEnd();
    if (!pending && (line.trim() === "" || line.trimStart().startsWith("#"))) continue;
    if (pending && line.trimStart().startsWith("#")) continue; // comments inside a continuation
    if (!pending) start = i + 1;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = "";
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (match?.[1])
      instructions.push({ keyword: match[1].toUpperCase(), args: (match[2] ?? "").trim(), line: start });
  }
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const parts = ins.args.split(/\s+/).filter((p) => !p.startsWith("--"));
      const asIndex = parts.findIndex((p) => p.toUpperCase() === "AS");
      stages.push({
        from: parts[0] ?? "",
        name: asIndex >= 0 ? (parts[asIndex + 1] ?? null) : null,
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  const final = stages.at(-1);
  if (!final) throw new Error(`${path}: no FROM`);
  return { path, stages, final };
}

/** An instruction's exec-form arguments (`["node", "x"]`), or null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith("[")) return null;
  const parsed: unknown = JSON.parse(args);
  return Array.isArray(parsed) && parsed.every((a) => typeof a === "string") ? parsed : null;
}

/** The last instruction with `keyword` in a stage, or undefined. */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** `ENV A=1 B=2` instructions of a stage, merged in order. */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.keyword === "ENV")) {
    for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) {
      if (m[1]) env[m[1]] = m[3] ?? m[2] ?? "";
    }
  }
  return env;
}

/** The HEALTHCHECK command of the final stage (exec form), or null. */
export function healthcheckOf(file: Dockerfile): string[] | null {
  const ins = last(file.final, "HEALTHCHECK");
  if (!ins) return null;
  const cmd = /\bCMD\s+(\[.*\])\s*$/s.exec(ins.args);
  return cmd?.[1] ? execForm(cmd[1]) : null;
}

/**
 * Whether a base image reference is pinned: by digest (`@sha256:…`), or by an exact version tag
 * (`20.20.2-bookworm-slim`, `7.4.2`) — never `latest`, a bare major (`node:20`) or no tag.
 */
export function isPinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = image.includes(":") ? image.slice(image.lastIndexOf(":") + 1) : "";
  return /^v?\d+\.\d+\.\d+(?:-[A-Za-z0-9][A-Za-z0-9._-]*)?$/.test(tag);
}
