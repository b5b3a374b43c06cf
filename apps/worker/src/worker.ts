import { randomBytes } from "node:crypto";
import { renameSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { readIdentityFile } from "@m3shd/crypto";
import {
  type Agent,
  type CompleteTaskInput,
  LIMITS,
  type NextTaskResponse,
  type Plugin,
  type RegisterAgentBody,
  type SignedResultEnvelope,
  type Task,
} from "@m3shd/protocol";
import {
  backoffDelay,
  createProvider,
  isProviderError,
  type Provider,
  type RunResult,
  sleep,
} from "@m3shd/providers";
import { type Logger, pino } from "pino";
import { parseWorkerConfig, type WorkerConfig, type WorkerConfigInput } from "./config";
import { BadResponseError, HubClient, isHubError, isHubStatus, isTransientHubError } from "./hub-client";
import { signResult } from "./identity";
import { Spool, type SpoolEntry, type SpoolRecord } from "./spool";
import { ChunkStreamer, type SendOutcome } from "./streamer";
import { capWithNote, tailWithNote, utf8Bytes } from "./text";
import { outcomeOf, outcomeOfError, runWithTools, TaskMovedOnError, toolCatalog } from "./tools";

export const WORKER_VERSION = "0.1.0";

/** Injectable parts, for tests and for running a worker inside another process. */
export interface WorkerDeps {
  logger?: Logger;
  /** Used instead of building one from `config.provider`. */
  provider?: Provider;
  /** 1-minute load average (default `os.loadavg()[0]`). */
  loadavg?: () => number;
}

export interface WorkerStats {
  registered: boolean;
  hubReachable: boolean;
  active: number;
  completed: number;
  failed: number;
  handedOff: number;
  cancelled: number;
  consecutiveFailures: number;
  /** Epoch ms until which the worker takes no new work after repeated failures (0 = not paused). */
  pausedUntil: number;
  /** Results delivered from the spool after an earlier attempt failed. */
  redelivered: number;
  /** Spool records dropped because the hub said the task had moved on. */
  dropped: number;
}

export interface WorkerHandle {
  readonly agentId: string;
  readonly config: WorkerConfig;
  /** Resolves with the agent once the first registration succeeded. */
  readonly registered: Promise<Agent>;
  /** Settles when the worker has stopped; rejects on a fatal error (the hub refused the token). */
  readonly done: Promise<void>;
  /**
   * Graceful stop: no more polling, running tasks get `graceMs` (default `shutdownGraceMs`) to
   * finish, the rest are handed off with their partial output. Calling again with a shorter grace
   * (a second Ctrl-C) hands off at once.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
  stats(): WorkerStats;
  /** Ids of the tasks executing now. */
  activeTasks(): string[];
  /** Delivers spooled results now (normally driven by reconnects and a backoff timer). */
  drainSpool(): Promise<void>;
}

/** Why an execution was aborted. */
type AbortKind = "timeout" | "shutdown" | "cancelled";
class ExecutionAbort extends Error {
  readonly kind: AbortKind;
  constructor(kind: AbortKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

interface Execution {
  task: Task;
  /**
   * The attempt (lease) the hub issued with this claim, when it issues one: sent with every
   * stream, complete and handoff of this execution so a write from a stale lease is refused.
   */
  attempt: number | undefined;
  controller: AbortController;
  streamer: ChunkStreamer;
  done: Promise<void>;
}

/** Waits for `promise`, but at most `ms`; the timer never outlives the wait (it would hold the process open). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** The hub answered for this result for good: the task is done elsewhere, cancelled, or gone. */
/** [fencing] A completion body before the claim's attempt is added (`completeRecord` adds it). */
type ResultBody = CompleteTaskInput extends infer T
  ? T extends unknown
    ? Omit<T, "attempt">
    : never
  : never;

function isDefinitiveRefusal(err: unknown): boolean {
  if (!isHubError(err)) return false;
  if (err.status === 404 || err.status === 409) return true;
  // "Task X is not assigned to agent Y": it was reclaimed and given to another agent. Any other
  // 403 (a bad token) is not about this result and must not drop it.
  const details = err.details as { task_id?: unknown } | undefined;
  return err.status === 403 && typeof details?.task_id === "string";
}

/** The hub will never accept this body (validation), so retrying it is pointless. */
function isInvalidBody(err: unknown): boolean {
  return isHubStatus(err, 400, 413, 422);
}

function isFatalAuth(err: unknown): boolean {
  return isHubError(err) && (err.status === 401 || (err.status === 403 && !isDefinitiveRefusal(err)));
}

/**
 * Starts a worker: registers with the hub, heartbeats, long-polls for tasks while it has a free
 * slot (and its load is under the ceiling), runs each through its provider, streams output,
 * completes — or spools the result when the hub is unreachable and delivers it later. Uses only
 * the hub's HTTP API.
 */
export async function startWorker(
  input: WorkerConfigInput | WorkerConfig,
  deps: WorkerDeps = {},
): Promise<WorkerHandle> {
  const config = parseWorkerConfig(input);
  const log =
    deps.logger ??
    pino({
      level: config.logLevel,
      base: { service: "worker", agent_id: config.id },
      redact: { paths: ["token", "*.token", "apiKey", "*.apiKey", "authorization"], censor: "[redacted]" },
    });
  const identity = config.identity ? readIdentityFile(config.identity) : null;
  const corrupt = new Set(config.testCorruptResults);
  const provider =
    deps.provider ??
    createProvider(
      config.provider,
      corrupt.size > 0
        ? { corruptJobOutput: (job, output) => (corrupt.has(job) ? `${output} ` : output) }
        : {},
    );
  if (corrupt.size > 0 || config.testCorruptSignature)
    log.warn(
      { corrupt_results: [...corrupt], corrupt_signature: config.testCorruptSignature },
      "TEST ONLY: this worker corrupts its results on purpose (M3SHD_TEST_CORRUPT_*)",
    );
  const readLoad = deps.loadavg ?? (() => loadavg()[0] ?? 0);
  const hub = new HubClient({
    baseUrl: config.hub,
    token: config.token,
    agentId: config.id,
    requestTimeoutMs: config.requestTimeoutMs,
    userAgent: `m3shd-worker/${WORKER_VERSION}`,
    retryMaxDelayMs: config.hubRetryMaxMs,
  });
  const spool = new Spool(config.spoolDir);
  await spool.init();

  const active = new Map<string, Execution>();
  const stats: WorkerStats = {
    registered: false,
    hubReachable: true,
    active: 0,
    completed: 0,
    failed: 0,
    handedOff: 0,
    cancelled: 0,
    consecutiveFailures: 0,
    pausedUntil: 0,
    redelivered: 0,
    dropped: 0,
  };
  /** Spool files written by this process whose first delivery has not been tried yet. */
  const fresh = new Set<string>();
  const life = new AbortController(); // aborted when the worker stops for good
  let stopping = false;
  let pollController: AbortController | null = null;
  let wakeUp: (() => void) | null = null;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  let drainFailures = 0;
  let draining: Promise<void> | null = null;
  let drainAgain = false;
  let loadHigh = false;
  /** Failed long-polls in a row; the poll loop naps `reconnectDelay(pollFailures)` after each. */
  let pollFailures = 0;
  /** The poll loop is napping in its failure backoff (not for slots, load or a pause). */
  let pollBackingOff = false;

  let resolveRegistered: (agent: Agent) => void = () => undefined;
  let rejectRegistered: (err: unknown) => void = () => undefined;
  const registered = new Promise<Agent>((resolve, reject) => {
    resolveRegistered = resolve;
    rejectRegistered = reject;
  });
  registered.catch(() => undefined);
  let resolveDone: () => void = () => undefined;
  let rejectDone: (err: unknown) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });

  /**
   * Resolves after `ms`, or earlier when something changes (a slot frees, the worker stops). Only
   * the poll loop naps, so one waiter is enough.
   */
  function nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        if (wakeUp === finish) wakeUp = null;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      wakeUp = finish;
    });
  }
  function wake() {
    wakeUp?.();
  }

  /**
   * Liveness for a container's HEALTHCHECK (`healthFile`): rewritten (atomically: temp file and
   * rename) after each answer from the hub, at most once a second. A worker that cannot reach its
   * hub stops rewriting it, so the probe, which checks its age, fails — no port is opened for it.
   */
  let healthWrittenAt = 0;
  let healthWarned = false;
  function touchHealth() {
    if (!config.healthFile || Date.now() - healthWrittenAt < 1000) return;
    healthWrittenAt = Date.now();
    const tmp = `${config.healthFile}.${process.pid}.tmp`;
    try {
      writeFileSync(
        tmp,
        `${JSON.stringify({ at: healthWrittenAt, agent: config.id, active: active.size })}\n`,
      );
      renameSync(tmp, config.healthFile);
    } catch (err) {
      if (!healthWarned) log.warn({ err: (err as Error).message }, "cannot write the health file");
      healthWarned = true;
    }
  }

  function hubUp() {
    touchHealth();
    if (!stats.hubReachable) {
      stats.hubReachable = true;
      log.info("hub reachable again");
      // Deliver what piled up while it was away.
      scheduleDrain(0);
    }
  }
  function hubDown(err: unknown) {
    if (stats.hubReachable) {
      stats.hubReachable = false;
      log.warn({ err: (err as Error).message }, "hub unreachable; results will be spooled until it returns");
    }
  }

  const registerBody: RegisterAgentBody = {
    ...(config.name ? { name: config.name } : {}),
    machine: config.machine,
    capabilities: config.capabilities,
    max_concurrent: config.slots,
    provider: provider.kind,
    model: provider.model.slice(0, LIMITS.nameChars),
    meta: {
      worker_version: WORKER_VERSION,
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: availableParallelism(),
    },
    // This process, as opposed to an earlier one under the same agent id: when the hub sees a new
    // instance it requeues what the old one held at once (a kill -9 and restart loses no time).
    instance_id: randomBytes(12).toString("base64url"),
    // The node's signing key: bound to this agent at its first registration.
    ...(identity ? { public_key: identity.public_key } : {}),
  };

  /** Registers (again), retrying transient failures; throws on a fatal refusal. */
  async function register(): Promise<void> {
    for (let attempt = 1; !life.signal.aborted; attempt++) {
      try {
        const agent = await hub.register(registerBody);
        hubUp();
        if (!stats.registered) {
          log.info(
            {
              capabilities: config.capabilities,
              slots: config.slots,
              provider: provider.kind,
              model: provider.model,
            },
            "registered with the hub",
          );
        }
        stats.registered = true;
        resolveRegistered(agent);
        return;
      } catch (err) {
        if (isTransientHubError(err)) {
          hubDown(err);
          await sleep(reconnectDelay(attempt), life.signal).catch(() => undefined);
          continue;
        }
        throw err;
      }
    }
  }

  /** The hub answered 404 for this agent (it lost its database, or the agent was deleted). */
  let reRegistering: Promise<void> | null = null;
  function reRegister(): Promise<void> {
    reRegistering ??= (async () => {
      log.warn("the hub does not know this agent (restarted on a fresh database?); registering again");
      await register().catch((e: unknown) => fail(e));
    })().finally(() => {
      reRegistering = null;
    });
    return reRegistering;
  }

  function reconnectDelay(attempt: number): number {
    return backoffDelay(
      attempt,
      { baseDelayMs: Math.min(500, config.hubRetryMaxMs), maxDelayMs: config.hubRetryMaxMs },
      undefined,
    );
  }

  // [fencing] Cancellation notices handled since the last heartbeat, acknowledged on the next one.
  const cancelAcks = new Set<string>();

  async function beat(): Promise<void> {
    try {
      const load = Math.max(0, readLoad());
      const acks = [...cancelAcks].slice(0, LIMITS.cancelledNoticesMax);
      // Over the ceiling the poll loop stops asking for work; the flag tells the dispatcher to stop
      // assigning it too (else tasks sit `assigned` here until the zombie sweep). Sent only with
      // `--max-load`, so a worker without it still talks to hubs that predate the field.
      const res = await hub.heartbeat({
        active_tasks: active.size,
        load_avg: load,
        ...(acks.length > 0 ? { cancelled_ack: acks } : {}),
        ...(config.maxLoad !== undefined ? { draining: load > config.maxLoad } : {}),
      });
      for (const id of acks) cancelAcks.delete(id);
      hubUp();
      stopCancelled(res.cancelled);
      // The hub answers again (it restarted): a poll loop asleep in its backoff — seconds, after
      // a long outage — polls now instead of idling while work waits for it.
      if (pollBackingOff) {
        pollFailures = 0;
        wake();
      }
    } catch (err) {
      if (isHubStatus(err, 404)) {
        await reRegister();
      } else if (isTransientHubError(err)) {
        hubDown(err);
      } else {
        log.error({ err: (err as Error).message }, "heartbeat refused");
      }
    }
  }

  function scheduleHeartbeat() {
    if (life.signal.aborted) return;
    heartbeatTimer = setTimeout(() => {
      void beat().finally(scheduleHeartbeat);
    }, config.heartbeatIntervalMs);
  }

  /**
   * [fencing] The heartbeat lists the agent's tasks cancelled while it held them: each running
   * one is aborted instead of finished for nothing. Every listed id is acknowledged on the next
   * heartbeat (ids this worker does not run too, so the hub stops listing them). A task reclaimed
   * rather than cancelled is caught by fencing: its next chunk or result gets 409.
   */
  function stopCancelled(ids: readonly string[]): void {
    for (const taskId of ids) {
      cancelAcks.add(taskId);
      const exec = active.get(taskId);
      if (exec && !exec.controller.signal.aborted) {
        exec.controller.abort(new ExecutionAbort("cancelled", "task is now cancelled"));
      }
    }
  }

  /** Naps in the poll loop's failure backoff; a successful heartbeat cuts it short. */
  async function backOff(): Promise<void> {
    pollBackingOff = true;
    try {
      await nap(reconnectDelay(pollFailures));
    } finally {
      pollBackingOff = false;
    }
  }

  async function pollLoop(): Promise<void> {
    while (!stopping) {
      if (active.size >= config.slots) {
        await nap(60_000);
        continue;
      }
      if (config.maxLoad !== undefined) {
        const load = readLoad();
        if (load > config.maxLoad) {
          if (!loadHigh)
            log.warn({ load, max_load: config.maxLoad }, "load above ceiling; not taking new work");
          loadHigh = true;
          await nap(1000);
          continue;
        }
        if (loadHigh) log.info({ load }, "load back under the ceiling; taking work again");
        loadHigh = false;
      }
      const pausedFor = stats.pausedUntil - Date.now();
      if (pausedFor > 0) {
        await nap(pausedFor);
        continue;
      }
      pollController = new AbortController();
      try {
        const claim = await hub.nextTask(config.pollWaitSeconds, pollController.signal);
        pollFailures = 0;
        hubUp();
        if (!claim) continue;
        if (stopping) {
          // Claimed just as we stopped: give it straight back.
          await deliverFresh(handoffRecord(claim.task, claim.attempt, "", "worker shutting down"));
          continue;
        }
        startExecution(claim);
      } catch (err) {
        if (stopping) break;
        pollFailures++;
        if (isHubStatus(err, 404)) {
          await reRegister();
        } else if (isTransientHubError(err)) {
          hubDown(err);
          await backOff();
        } else if (isFatalAuth(err)) {
          fail(err);
          return;
        } else {
          log.error({ err: (err as Error).message }, "long-poll failed");
          await backOff();
        }
      } finally {
        pollController = null;
      }
    }
  }

  function startExecution(claim: NextTaskResponse) {
    const { task, attempt } = claim;
    const controller = new AbortController();
    const tlog = log.child({ task_id: task.id, attempt: task.attempt });
    const streamer = new ChunkStreamer({
      flushMs: config.streamFlushMs,
      flushBytes: config.streamFlushBytes,
      retryMs: Math.min(1000, config.hubRetryMaxMs),
      send: async (content, seq): Promise<SendOutcome> => {
        try {
          await hub.stream(task.id, { content, seq, attempt: task.attempt });
          return "sent";
        } catch (err) {
          if (isDefinitiveRefusal(err)) return "gone";
          if (isTransientHubError(err)) hubDown(err);
          return "retry";
        }
      },
      onGone: () =>
        controller.abort(new ExecutionAbort("cancelled", "the hub no longer accepts output for this task")),
    });
    const exec: Execution = { task, attempt, controller, streamer, done: Promise.resolve() };
    active.set(task.id, exec);
    stats.active = active.size;
    tlog.info({ capability: task.required_capability }, "task started");
    exec.done = execute(exec, tlog)
      .catch((err: unknown) => tlog.error({ err }, "task execution crashed"))
      .finally(() => {
        active.delete(task.id);
        stats.active = active.size;
        wake();
      });
  }

  /** The hub's plugin list for `--tool-catalog`, re-read at most every 30 s. */
  let catalogCache: { at: number; plugins: Plugin[] } | null = null;
  async function systemFor(task: Task, tlog: Logger): Promise<string | undefined> {
    const configured = "system" in config.provider ? config.provider.system : undefined;
    if (!config.toolCatalog || config.toolRounds === 0) return configured;
    if (!catalogCache || Date.now() - catalogCache.at > 30_000) {
      try {
        catalogCache = { at: Date.now(), plugins: await hub.listPlugins() };
      } catch (err) {
        // Without the catalogue the task still runs; the prompt may describe its tools itself.
        tlog.warn({ err: (err as Error).message }, "could not list the hub's tools");
        return configured;
      }
    }
    const catalog = toolCatalog(catalogCache.plugins, task.required_capability, config.toolRounds);
    return [configured, catalog].filter(Boolean).join("\n\n") || undefined;
  }

  async function execute(exec: Execution, tlog: Logger): Promise<void> {
    const { task, controller, streamer } = exec;
    const timer = setTimeout(
      () =>
        controller.abort(
          new ExecutionAbort(
            "timeout",
            `task timed out after ${Math.round(config.taskTimeoutMs / 1000)} s (worker task timeout)`,
          ),
        ),
      config.taskTimeoutMs,
    );
    let result: RunResult | null = null;
    let failure: unknown = null;
    const started = Date.now();
    try {
      // [fencing] The hub composes memory, parent outputs and handoffs with the submitted prompt.
      // The model may call tools: each round's answer streams, the last one is the output.
      const system = await systemFor(task, tlog);
      const run = await runWithTools(task.composed_prompt, {
        maxRounds: config.toolRounds,
        model: (prompt, round) => {
          if (round > 0) streamer.push("\n\n");
          return provider.run({
            prompt,
            ...(system !== undefined ? { system } : {}),
            capability: task.required_capability,
            signal: controller.signal,
            onText: (text) => streamer.push(text),
          });
        },
        tool: async (tool, args) => {
          const callStarted = Date.now();
          try {
            const res = await hub.invokeTool(
              tool,
              { task_id: task.id, attempt: task.attempt, args },
              controller.signal,
            );
            tlog.info({ tool, ok: res.ok, ms: Date.now() - callStarted }, "tool called");
            return outcomeOf(res);
          } catch (err) {
            const outcome = outcomeOfError(err);
            tlog.warn({ tool, err: (err as Error).message }, "tool call refused");
            return outcome;
          }
        },
      });
      if (run.toolRounds > 0) tlog.info({ rounds: run.toolRounds, calls: run.toolCalls }, "tool rounds done");
      result = run;
    } catch (err) {
      if (err instanceof TaskMovedOnError && !controller.signal.aborted) {
        controller.abort(new ExecutionAbort("cancelled", err.message));
      }
      failure = err;
    } finally {
      clearTimeout(timer);
    }
    // Send what is left of the stream before the completion, but never wait long for it.
    await within(streamer.close(), Math.max(1000, config.streamFlushMs * 4));

    const reason = controller.signal.aborted ? (controller.signal.reason as unknown) : null;
    const abortKind = reason instanceof ExecutionAbort ? reason.kind : null;

    // A result that came back is delivered even if an abort fired just after it (the hub answers
    // 409 if the task moved on meanwhile): finished work is never thrown away.
    if (result) {
      if (utf8Bytes(result.output) > LIMITS.outputBytes) {
        // The same call would produce the same overflow: fail for good rather than retry.
        await finishFailed(
          exec,
          tlog,
          `output is ${utf8Bytes(result.output)} bytes, over the hub's ${LIMITS.outputBytes}-byte limit`,
          false,
          result.model,
          "output_too_large",
        );
        return;
      }
      const model = result.model.slice(0, LIMITS.nameChars);
      const usage = result.usageReported ? result.usage : null;
      const body: ResultBody = {
        status: "done",
        output: result.output,
        model,
        ...(usage ? { usage } : {}),
        ...(result.confidence !== null ? { confidence: result.confidence } : {}),
        ...(result.costUsd !== null ? { cost_usd: result.costUsd } : {}),
        // Signed by the node's key, so a stolen bearer token alone cannot forge this result.
        ...(identity
          ? {
              envelope: withTestSignatureFault(
                signResult(identity, {
                  task,
                  attempt: task.attempt,
                  agentId: config.id,
                  output: result.output,
                  model,
                  usage,
                  startedAt: started,
                  finishedAt: Date.now(),
                }),
              ),
            }
          : {}),
      };
      stats.completed++;
      stats.consecutiveFailures = 0;
      stats.pausedUntil = 0;
      tlog.info(
        {
          ms: Date.now() - started,
          model: result.model,
          usage: result.usage,
          cost_usd: result.costUsd,
          attempts: result.attempts,
          chunks: streamer.chunksSent,
        },
        "task finished",
      );
      await deliverFresh(completeRecord(exec, body));
      return;
    }

    if (abortKind === "cancelled") {
      stats.cancelled++;
      tlog.info(
        { reason: (reason as Error).message },
        "task cancelled or reclaimed by the hub; result dropped",
      );
      return;
    }
    if (abortKind === "shutdown") {
      stats.handedOff++;
      tlog.info({ partial_bytes: utf8Bytes(streamer.text) }, "handing the task off with its partial output");
      await deliverFresh(handoffRecord(task, exec.attempt, streamer.text, "worker shutting down"));
      return;
    }
    if (abortKind === "timeout") {
      await finishFailed(exec, tlog, (reason as Error).message, true, undefined, "timeout");
      return;
    }
    const perr = isProviderError(failure) ? failure : null;
    const message = perr
      ? `${provider.kind} provider: ${perr.message} (${perr.code}${perr.attempts ? `, ${perr.attempts} attempt(s)` : ""})`
      : `worker error: ${(failure as Error)?.message ?? String(failure)}`;
    await finishFailed(exec, tlog, message, perr ? perr.retryable : true, undefined, perr?.code ?? "unknown");
  }

  async function finishFailed(
    exec: Execution,
    tlog: Logger,
    error: string,
    retryable: boolean,
    model: string | undefined,
    code: string,
  ) {
    stats.failed++;
    // A task whose input is bad says nothing about this worker's health.
    if (code !== "invalid_input") {
      stats.consecutiveFailures++;
      if (stats.consecutiveFailures >= config.failureThreshold) {
        const pause = Math.min(
          config.failureBackoffMaxMs,
          config.failureBackoffMs * 2 ** (stats.consecutiveFailures - config.failureThreshold),
        );
        stats.pausedUntil = Date.now() + pause;
        // The hub raises the escalation itself from the same consecutive failures.
        log.warn(
          { consecutive_failures: stats.consecutiveFailures, pause_ms: pause },
          "repeated task failures: pausing before taking more work",
        );
      }
    }
    tlog.warn({ error, retryable, code }, "task failed");
    await deliverFresh(
      completeRecord(exec, {
        status: "failed",
        error: capWithNote(error, LIMITS.errorBytes),
        retryable,
        ...(model ? { model: model.slice(0, LIMITS.nameChars) } : {}),
      }),
    );
  }

  /** TEST ONLY: a signature with one bit flipped (`M3SHD_TEST_CORRUPT_SIGNATURE=1`). */
  function withTestSignatureFault(envelope: SignedResultEnvelope): SignedResultEnvelope {
    if (!config.testCorruptSignature) return envelope;
    const bytes = Buffer.from(envelope.signature, "base64url");
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    return { ...envelope, signature: bytes.toString("base64url") };
  }

  function completeRecord(exec: Execution, body: ResultBody): SpoolRecord {
    return {
      version: 1,
      kind: "complete",
      task_id: exec.task.id,
      agent_id: config.id,
      attempt: exec.task.attempt,
      created_at: Date.now(),
      body: { ...body, attempt: exec.task.attempt },
    };
  }

  function handoffRecord(
    task: Task,
    /** The claim's attempt (lease): authoritative for the fencing; the task's own as a fallback. */
    lease: number | undefined,
    partial: string,
    reason: string,
  ): SpoolRecord {
    const attempt = lease ?? task.attempt;
    return {
      version: 1,
      kind: "handoff",
      task_id: task.id,
      agent_id: config.id,
      attempt,
      created_at: Date.now(),
      // The continuation carries on from the end of the work: keep the tail if it must be cut.
      body: {
        partial_output: tailWithNote(partial, LIMITS.handoffPartialBytes),
        reason,
        attempt,
      },
    };
  }

  /**
   * Every result goes to the spool first and is delivered from there, so a crash or an outage
   * between finishing and delivering loses nothing.
   */
  async function deliverFresh(record: SpoolRecord): Promise<void> {
    const file = await spool.put(record);
    fresh.add(file);
    await drain();
  }

  type Outcome = "delivered" | "dropped" | "kept";

  async function deliverOne(entry: SpoolEntry): Promise<Outcome> {
    const { record, file } = entry;
    const rlog = log.child({ task_id: record.task_id, attempt: record.attempt, spool: record.kind });
    const firstTry = fresh.delete(file);
    try {
      if (!firstTry) {
        // A replay: make sure the record still belongs to the task's current attempt. The hub fences
        // it too (409 stale_attempt); checking first keeps the log clear of expected refusals.
        const task = await hub.getTask(record.task_id);
        const ours = task.assigned_to === config.id && task.attempt === record.attempt;
        const replayableDone =
          record.kind === "complete" && record.body.status === "done" && task.status === "done";
        if (!ours || (task.status !== "running" && !replayableDone)) {
          rlog.warn(
            { status: task.status, assigned_to: task.assigned_to, attempt: task.attempt },
            "spooled result is stale; dropped",
          );
          await spool.remove(file);
          stats.dropped++;
          return "dropped";
        }
      }
      if (record.kind === "complete") {
        const res = await hub.complete(record.task_id, record.body, record.lease);
        rlog.info(
          {
            status: record.body.status,
            replayed: res.replayed,
            from_spool: !firstTry,
            ...(res.contribution ? { contribution: res.contribution } : {}),
          },
          "result delivered",
        );
      } else {
        const res = await hub.handoff(record.task_id, record.body, record.lease);
        rlog.info({ continuation: res.continuation.id, from_spool: !firstTry }, "task handed off");
      }
      await spool.remove(file);
      if (!firstTry) stats.redelivered++;
      return "delivered";
    } catch (err) {
      if (isDefinitiveRefusal(err)) {
        rlog.warn({ err: (err as Error).message }, "the hub says the task moved on; result dropped");
        await spool.remove(file);
        stats.dropped++;
        return "dropped";
      }
      if (isInvalidBody(err)) {
        rlog.error(
          { err: (err as Error).message, details: isHubError(err) ? err.details : undefined },
          "the hub rejects this result as invalid; moved to the spool's dead/ folder",
        );
        await spool.quarantine(file);
        return "dropped";
      }
      if (err instanceof BadResponseError) {
        // Accepted, but the answer did not match the contract: the hub has it.
        rlog.warn({ err: err.message }, "result delivered; the hub's answer did not match the protocol");
        await spool.remove(file);
        return "delivered";
      }
      if (isTransientHubError(err)) hubDown(err);
      else rlog.error({ err: (err as Error).message }, "delivery refused; will retry");
      return "kept";
    }
  }

  /** Delivers every spooled record, oldest first; stops at the first that must wait. */
  function drain(): Promise<void> {
    if (draining) {
      drainAgain = true;
      return draining;
    }
    draining = (async () => {
      do {
        drainAgain = false;
        let blocked = false;
        for (const entry of await spool.list()) {
          if ((await deliverOne(entry)) === "kept") {
            blocked = true;
            break;
          }
        }
        if (blocked) {
          drainFailures++;
          scheduleDrain(reconnectDelay(drainFailures));
          return;
        }
        drainFailures = 0;
      } while (drainAgain);
    })()
      .catch((err: unknown) => log.error({ err }, "spool drain failed"))
      .finally(() => {
        draining = null;
      });
    return draining;
  }

  function scheduleDrain(delayMs: number) {
    if (drainTimer) clearTimeout(drainTimer);
    if (life.signal.aborted && delayMs > 0) return;
    drainTimer = setTimeout(() => {
      drainTimer = undefined;
      void drain();
    }, delayMs);
    drainTimer.unref();
  }

  let fatal: unknown = null;
  function fail(err: unknown) {
    if (fatal) return;
    fatal = err;
    log.fatal({ err: (err as Error).message }, "the hub refused this worker; stopping");
    rejectRegistered(err);
    void stop({ graceMs: 0 });
  }

  let stopPromise: Promise<void> | null = null;
  let forceHandoff: (() => void) | null = null;
  function stop(options: { graceMs?: number } = {}): Promise<void> {
    const graceMs = options.graceMs ?? config.shutdownGraceMs;
    if (stopPromise) {
      if (graceMs === 0) forceHandoff?.();
      return stopPromise;
    }
    stopping = true;
    pollController?.abort(new Error("worker stopping"));
    wake();
    stopPromise = (async () => {
      const running = [...active.values()];
      if (running.length > 0) {
        log.info({ running: running.length, grace_ms: graceMs }, "stopping: letting running tasks finish");
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          forceHandoff = () => {
            clearTimeout(timer);
            resolve();
          };
          void Promise.allSettled(running.map((e) => e.done)).then(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        for (const exec of active.values()) {
          exec.controller.abort(new ExecutionAbort("shutdown", "worker shutting down"));
        }
        await Promise.allSettled([...active.values()].map((e) => e.done));
      }
      await loop.catch(() => undefined);
      // One last delivery pass for anything spooled (bounded: the hub may be down).
      await within(drain(), Math.min(5000, config.requestTimeoutMs));
      life.abort(new Error("worker stopped"));
      clearTimeout(heartbeatTimer);
      hub.resetConnections();
      if (drainTimer) clearTimeout(drainTimer);
      log.info({ spooled: await spool.count().catch(() => -1) }, "worker stopped");
      if (fatal) rejectDone(fatal);
      else resolveDone();
    })();
    return stopPromise;
  }

  // Boot: deliver leftovers from a previous run, register, then heartbeat and poll.
  const loop = (async () => {
    try {
      await register();
    } catch (err) {
      fail(err);
      return;
    }
    if (stopping) return;
    scheduleHeartbeat();
    void drain();
    await pollLoop();
  })();
  done.catch(() => undefined);

  return {
    agentId: config.id,
    config,
    registered,
    done,
    stop,
    stats: () => ({ ...stats }),
    activeTasks: () => [...active.keys()],
    drainSpool: () => drain(),
  };
}
