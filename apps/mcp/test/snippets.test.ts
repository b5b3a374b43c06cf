import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import {
  claudeCodeHttpCommand,
  claudeCodeStdioCommand,
  claudeDesktopConfig,
  README_SNIPPET_OPTIONS,
} from "../src/config-snippets";

const README = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

/** The fenced block right after `<!-- snippet:name -->`. */
function snippet(name: string): string {
  const marker = `<!-- snippet:${name} -->`;
  const at = README.indexOf(marker);
  expect(at, `README lacks ${marker}`).toBeGreaterThanOrEqual(0);
  const match = /```[a-z]*\n([\s\S]*?)```/.exec(README.slice(at));
  expect(match?.[1], name).toBeTruthy();
  return (match?.[1] ?? "").trim();
}

/** POSIX shell words: whitespace-separated, with single and double quotes (no expansion). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let current = "";
  let quote: "'" | '"' | null = null;
  let started = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started || current) words.push(current);
      current = "";
      started = false;
    } else {
      current += ch;
    }
  }
  expect(quote, `unterminated quote in ${line}`).toBeNull();
  if (started || current) words.push(current);
  return words;
}

describe("README config snippets", () => {
  test("Claude Desktop: valid JSON, the generated config, credentials only in env", () => {
    const parsed = JSON.parse(snippet("claude-desktop"));
    expect(parsed).toEqual(claudeDesktopConfig(README_SNIPPET_OPTIONS));
    const server = parsed.mcpServers.m3shd;
    expect(server.command).toBe("node");
    expect(server.args.join(" ")).not.toMatch(/token/i);
    expect(Object.keys(server.env).sort()).toEqual(["M3SHD_HUB_URL", "M3SHD_TOKEN"]);
  });

  test("Claude Code stdio: `claude mcp add` parses; the server's own argv carries no credential", () => {
    const line = snippet("claude-code-stdio");
    expect(line).toBe(claudeCodeStdioCommand(README_SNIPPET_OPTIONS));
    const words = shellWords(line);
    expect(words.slice(0, 3)).toEqual(["claude", "mcp", "add"]);
    const dashdash = words.indexOf("--");
    expect(dashdash).toBeGreaterThan(0);
    const options = words.slice(3, dashdash);
    const serverArgv = words.slice(dashdash + 1);
    expect(serverArgv).toEqual(["node", README_SNIPPET_OPTIONS.binary]);
    expect(options.at(-1)).toBe("m3shd");
    expect(options[options.indexOf("--transport") + 1]).toBe("stdio");
    const env = options.flatMap((w, i) => (options[i - 1] === "--env" ? [w] : []));
    expect(env).toEqual([
      `M3SHD_HUB_URL=${README_SNIPPET_OPTIONS.hubUrl}`,
      `M3SHD_TOKEN=${README_SNIPPET_OPTIONS.token}`,
    ]);
  });

  test("Claude Code http: `claude mcp add --transport http` with a bearer header", () => {
    const line = snippet("claude-code-http");
    expect(line).toBe(claudeCodeHttpCommand(README_SNIPPET_OPTIONS));
    const words = shellWords(line);
    expect(words).toEqual([
      "claude",
      "mcp",
      "add",
      "--transport",
      "http",
      "m3shd",
      README_SNIPPET_OPTIONS.httpUrl,
      "--header",
      `Authorization: Bearer ${README_SNIPPET_OPTIONS.token}`,
    ]);
    expect(new URL(README_SNIPPET_OPTIONS.httpUrl).pathname).toBe("/mcp");
  });
});
