/**
 * The client configuration snippets the README shows, generated here so a test can prove the
 * README's copies parse and match (and that no credential is ever put in the server's argv).
 */

export interface SnippetOptions {
  /** Absolute path of the built binary (`apps/mcp/dist/index.js` in a checkout). */
  binary: string;
  hubUrl: string;
  /** What to write where the token goes (a placeholder in docs). */
  token: string;
  /** The Streamable HTTP endpoint, for the remote variant. */
  httpUrl: string;
}

export const README_SNIPPET_OPTIONS: SnippetOptions = {
  binary: "/path/to/m3shd/apps/mcp/dist/index.js",
  hubUrl: "http://127.0.0.1:7700",
  token: "<your M3SHD token>",
  httpUrl: "http://127.0.0.1:7710/mcp",
};

/** `claude_desktop_config.json`: the stdio server, credentials in `env`. */
export function claudeDesktopConfig(o: SnippetOptions) {
  return {
    mcpServers: {
      m3shd: {
        command: "node",
        args: [o.binary],
        env: { M3SHD_HUB_URL: o.hubUrl, M3SHD_TOKEN: o.token },
      },
    },
  };
}

/** Single-quotes a shell word unless it is plainly safe. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** `claude mcp add` for the stdio server (the token goes to the server's environment). */
export function claudeCodeStdioCommand(o: SnippetOptions): string {
  return [
    "claude",
    "mcp",
    "add",
    "--transport",
    "stdio",
    "--env",
    `M3SHD_HUB_URL=${o.hubUrl}`,
    "--env",
    `M3SHD_TOKEN=${o.token}`,
    "m3shd",
    "--",
    "node",
    o.binary,
  ]
    .map(shellWord)
    .join(" ");
}

/** `claude mcp add` for the Streamable HTTP server (the token is a bearer header). */
export function claudeCodeHttpCommand(o: SnippetOptions): string {
  return [
    "claude",
    "mcp",
    "add",
    "--transport",
    "http",
    "m3shd",
    o.httpUrl,
    "--header",
    `Authorization: Bearer ${o.token}`,
  ]
    .map(shellWord)
    .join(" ");
}
