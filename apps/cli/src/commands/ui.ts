import { spawn } from "node:child_process";
import type { CommandModule } from "../program";

/** `m3shd ui`: the dashboard's URL, opened in a browser with `--open`. */
export const uiCommand: CommandModule = {
  name: "ui",
  register(program, context) {
    program
      .command("ui")
      .description("print the dashboard URL (--open opens it in the default browser)")
      .option("--open", "open it")
      .action((opts: { open?: boolean }) => {
        const ctx = context();
        const url = `${ctx.hubUrl()}/`;
        let opened = false;
        if (opts.open) {
          const opener =
            process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
          try {
            spawn(opener, [url], { stdio: "ignore", detached: true })
              .on("error", () => undefined)
              .unref();
            opened = true;
          } catch {
            opened = false;
          }
        }
        ctx.print({ url, opened }, () => url);
      });
  },
};
