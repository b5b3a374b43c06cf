import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@m3shd/client";
import { type Mesh, type MeshOptions, startMesh } from "@m3shd/mesh";
import type { NextTaskResponse, Task } from "@m3shd/protocol";
import { pino } from "pino";
import { onTestFinished } from "vitest";
import { until } from "./helpers";

export const MASTER = "imessage-test-master-token-not-a-secret-00";

/**
 * A real mesh (hub + dispatcher, in-process queues) on an ephemeral loopback port with its own
 * data dir, torn down after the test. Memory is off: no test here is about recall.
 */
export async function startTestMesh(
  options: Partial<MeshOptions> = {},
  teardown: (fn: () => Promise<void>) => void = onTestFinished,
): Promise<Mesh & { dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), "m3shd-imsg-mesh-"));
  const mesh = await startMesh({
    dataDir,
    port: 0,
    masterToken: MASTER,
    memory: { enabled: false },
    logger: pino({ level: process.env.M3SHD_TEST_LOG ?? "silent" }),
    ...options,
    hub: { ...options.hub, workflows: { escalationThreshold: 1, ...options.hub?.workflows } },
    dispatcher: {
      sweepEveryMs: { heartbeats: 500, zombies: 1000, deadlines: 1000, reconcile: 500 },
      ...options.dispatcher,
    },
  });
  teardown(async () => {
    await mesh.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return Object.assign(mesh, { dataDir });
}

/** The operator's client, for setting the scene and reading what the bridge did. */
export function operator(url: string) {
  return createClient({ baseUrl: url, token: MASTER });
}

/** Every task on the hub (newest first). */
export async function allTasks(url: string): Promise<Task[]> {
  return (await operator(url).tasks.list({ query: { limit: 500 } })).body.tasks;
}

/**
 * An agent played by the test over the worker contract (register, long-poll, complete), so a
 * test decides exactly what each task answers — hostile text, a plan, a failure, a handoff.
 */
export async function playAgent(url: string, id: string, capabilities: string[]) {
  const client = createClient({ baseUrl: url, token: MASTER, headers: { "x-m3shd-agent": id } });
  await client.worker.register({ params: { id }, body: { capabilities, max_concurrent: 8 } });
  return {
    id,
    client,
    /** The next task assigned to this agent. */
    async claim(ms = 10_000): Promise<NextTaskResponse> {
      return until(() => client.nextTask(id, { waitSeconds: 1 }), ms, `a task for ${id}`);
    },
    async complete(claim: NextTaskResponse, output: string, extra: { model?: string; cost?: number } = {}) {
      await client.tasks.complete({
        params: { id: claim.task.id },
        body: {
          status: "done",
          output,
          attempt: claim.attempt,
          ...(extra.model
            ? {
                model: extra.model,
                usage: { input_tokens: 1200, output_tokens: 300 },
                cost_usd: extra.cost ?? 0.0123,
              }
            : {}),
        },
      });
    },
    async fail(claim: NextTaskResponse, error: string, retryable: boolean) {
      await client.tasks.complete({
        params: { id: claim.task.id },
        body: { status: "failed", error, retryable, attempt: claim.attempt },
      });
    },
    async handoff(claim: NextTaskResponse, partial: string) {
      return (
        await client.tasks.handoff({
          params: { id: claim.task.id },
          body: { partial_output: partial, reason: "test handoff", attempt: claim.attempt },
        })
      ).body;
    },
    /** Asks the operator for approval, as agents do before a risky action. */
    async requestApproval(action: string, description: string) {
      return (await client.approvals.create({ body: { action, description } })).body.approval;
    },
  };
}
