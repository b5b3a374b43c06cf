import { execFile } from "node:child_process";

/**
 * The only AppleScript the bridge runs. User content reaches it solely through `argv`
 * (`on run argv`): it is never spliced into script text, and no shell is involved, so a
 * reply containing `"; do shell script "…` is just text that Messages sends.
 */
export const SEND_SCRIPT = `on run argv
  set targetChat to item 1 of argv
  set messageText to item 2 of argv
  tell application "Messages"
    send messageText to chat id targetChat
  end tell
end run
`;

/** A fixed probe for the Automation permission (no user content at all). */
export const PROBE_SCRIPT = `on run argv
  tell application "Messages" to get name
end run
`;

export class SendError extends Error {
  constructor(
    message: string,
    /** -1743: the user has not allowed this process to control Messages (Automation). */
    readonly notPermitted: boolean,
  ) {
    super(message);
    this.name = "SendError";
  }
}

export interface OsascriptOptions {
  /** Executable name or path; resolved on PATH like any command (tests put a fake first). */
  osascript?: string;
  timeoutMs?: number;
}

/** Runs `osascript - <args…>` with `script` on stdin, via execFile (no shell). */
export function runOsascript(script: string, args: readonly string[], options: OsascriptOptions = {}) {
  return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = execFile(
      options.osascript ?? "osascript",
      ["-", ...args],
      { timeout: options.timeoutMs ?? 30_000, maxBuffer: 1024 * 1024, windowsHide: true },
      (err, stdout, stderr) => {
        if (err) {
          const text = `${stderr || err.message}`.trim();
          reject(
            new SendError(
              `osascript failed: ${text.slice(0, 300)}`,
              /-1743|not allowed|Not authori[sz]ed/i.test(text),
            ),
          );
        } else resolve({ stdout, stderr });
      },
    );
    child.stdin?.on("error", () => {}); // a fast-failing child closes stdin early; the exit code reports it
    child.stdin?.end(script);
  });
}

/** Sends one text into one chat (`chat.guid`, e.g. `iMessage;-;+15555550123`). */
export async function sendMessage(
  chatGuid: string,
  text: string,
  options: OsascriptOptions = {},
): Promise<void> {
  await runOsascript(SEND_SCRIPT, [chatGuid, text], options);
}

/** iMessage replies longer than this are cut (Messages splits or drops very long texts). */
export const MAX_REPLY_CHARS = 3000;

/**
 * Prefixes a reply with the relay marker and cuts it to `limit` characters (code points, so
 * an emoji is never split) at a word boundary, ending with a link to the full output.
 */
export function formatReply(
  text: string,
  options: { prefix: string; limit?: number; link?: string | null },
): string {
  const limit = options.limit ?? MAX_REPLY_CHARS;
  // argv cannot carry NUL (execve ends a string there; Node refuses it): U+FFFD stands in, here,
  // so the stored reply is exactly what is sent and what its echo row will hold.
  const full = options.prefix + text.replaceAll("\u0000", "\uFFFD");
  const chars = Array.from(full);
  if (chars.length <= limit) return full;
  const tail = options.link ? `… (full output: ${options.link})` : "… (truncated)";
  const room = limit - Array.from(tail).length;
  let cut = chars.slice(0, Math.max(0, room)).join("");
  const lastSpace = cut.search(/\s\S*$/);
  // Cut at the last whitespace unless that would throw away most of the text (one huge word).
  if (lastSpace > Array.from(options.prefix).length && lastSpace > room * 0.6) cut = cut.slice(0, lastSpace);
  return cut.trimEnd() + tail;
}
