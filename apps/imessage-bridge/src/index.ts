#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { onShutdown, parseEnv } from "@m3shd/service-kit";
import { pino } from "pino";
import { createBridge } from "./bridge";
import { formatDoctor, runDoctor } from "./doctor";
import { BridgeEnvSchema } from "./env";
import { createHubPort } from "./hub-client";

const USAGE = `usage: m3shd-imessage [run|doctor]

  run      read Messages, forward to the hub, relay replies (default)
  doctor   check Full Disk Access, Automation, chat.db schema, hub and token

Configuration is read from the environment; see the README (M3SHD_HUB, M3SHD_TOKEN,
M3SHD_IMESSAGE_HANDLES, …).`;

async function main(): Promise<void> {
  const cmd = process.argv[2] ?? "run";
  if (cmd === "-h" || cmd === "--help" || cmd === "help") {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const env = parseEnv(BridgeEnvSchema, process.env, "m3shd-imessage");
  const token = env.M3SHD_TOKEN_FILE ? readFileSync(env.M3SHD_TOKEN_FILE, "utf8").trim() : env.M3SHD_TOKEN;
  const hub = createHubPort({ baseUrl: env.M3SHD_HUB, token });
  if (cmd === "doctor") {
    const checks = await runDoctor({
      chatDbPath: env.M3SHD_IMESSAGE_DB,
      dataDir: env.M3SHD_IMESSAGE_DATA_DIR,
      handles: env.M3SHD_IMESSAGE_HANDLES,
      hub,
    });
    process.stdout.write(`${formatDoctor(checks)}\n`);
    process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
    return;
  }
  if (cmd !== "run") {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const logger = pino({ level: env.LOG_LEVEL });
  if (!hub) throw new Error("no hub client available (run `m3shd-imessage doctor`)");
  const bridge = createBridge({
    hub,
    logger,
    config: {
      chatDbPath: env.M3SHD_IMESSAGE_DB,
      attachmentsRoot: env.M3SHD_IMESSAGE_ATTACHMENTS,
      dataDir: env.M3SHD_IMESSAGE_DATA_DIR,
      handles: env.M3SHD_IMESSAGE_HANDLES,
      relayPrefix: env.M3SHD_IMESSAGE_PREFIX,
      pollMs: env.M3SHD_IMESSAGE_POLL_MS,
      settleMs: env.M3SHD_IMESSAGE_SETTLE_MS,
      sendsPerHour: env.M3SHD_IMESSAGE_SENDS_PER_HOUR,
      startAt: env.M3SHD_IMESSAGE_START_AT,
      subtaskCapability: env.M3SHD_IMESSAGE_SUBTASK_CAPABILITY,
      router: {
        doCapability: env.M3SHD_IMESSAGE_DO_CAPABILITY,
        planCapability: env.M3SHD_IMESSAGE_PLAN_CAPABILITY,
        chatCapability: env.M3SHD_IMESSAGE_CHAT_CAPABILITY,
      },
    },
  });
  bridge.start();
  onShutdown(logger, () => bridge.stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`m3shd-imessage: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
