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
  const logger = pino({ level: env.LOG_LEVEL });
  const hub = createHubPort({
    baseUrl: env.M3SHD_HUB,
    token,
    preferredCapability: env.M3SHD_IMESSAGE_DO_CAPABILITY,
    reconnectMaxMs: Math.min(15_000, env.M3SHD_IMESSAGE_RETRY_MAX_MS),
    onWarn: (msg, err) => logger.warn({ err: String(err) }, msg),
  });
  if (cmd === "doctor") {
    const checks = await runDoctor({
      chatDbPath: env.M3SHD_IMESSAGE_DB,
      dataDir: env.M3SHD_IMESSAGE_DATA_DIR,
      handles: env.M3SHD_IMESSAGE_HANDLES,
      hub,
      hasToken: token !== undefined,
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
  // Without a token every message would wait in the retry queue for a 401 to go away.
  if (!token) throw new Error("set M3SHD_TOKEN_FILE (or M3SHD_TOKEN) to an operator token");
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
      retry: {
        baseBackoffMs: env.M3SHD_IMESSAGE_RETRY_BASE_MS,
        maxBackoffMs: env.M3SHD_IMESSAGE_RETRY_MAX_MS,
      },
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
