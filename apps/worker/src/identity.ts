import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  generateNodeIdentity,
  type NodeIdentity,
  readIdentityFile,
  sha256Hex,
  signCanonical,
  writeIdentityFile,
} from "@m3shd/crypto";
import type { ResultEnvelope, SignedResultEnvelope, Task, Usage } from "@m3shd/protocol";

/** `M3SHD_HOME`, default `~/.m3shd`: where the node's identity (and the `m3shd` CLI's config) live. */
export function m3shdHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.M3SHD_HOME && env.M3SHD_HOME.length > 0 ? env.M3SHD_HOME : join(homedir(), ".m3shd");
}

/** The default identity file, `$M3SHD_HOME/identity.json`. */
export function defaultIdentityPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(m3shdHome(env), "identity.json");
}

/**
 * `m3shd-worker init` / `m3shd init`: creates the node's Ed25519 identity file (mode 0600). Refuses
 * to replace an existing one unless `force` — the hub has bound its public key, and a new key needs
 * an admin's rotation.
 */
export function initIdentity(path: string, options: { nodeId?: string | null; force?: boolean } = {}) {
  if (existsSync(path) && !options.force) {
    const existing = readIdentityFile(path);
    return { created: false, path, identity: existing };
  }
  const identity = generateNodeIdentity(options.nodeId ?? null);
  writeIdentityFile(path, identity, { overwrite: options.force === true });
  return { created: true, path, identity };
}

/** The envelope a worker signs for one `done` result (see `ResultEnvelopeSchema`). */
export function signResult(
  identity: NodeIdentity,
  input: {
    task: Pick<Task, "id" | "prompt">;
    attempt: number;
    agentId: string;
    output: string;
    model: string | null;
    usage: Usage | null;
    startedAt: number;
    finishedAt: number;
  },
): SignedResultEnvelope {
  const envelope: ResultEnvelope = {
    v: 1,
    task_id: input.task.id,
    attempt: input.attempt,
    agent_id: input.agentId,
    key_id: identity.key_id,
    input_sha256: sha256Hex(input.task.prompt),
    output_sha256: sha256Hex(input.output),
    model: input.model,
    usage: input.usage,
    started_at: input.startedAt,
    finished_at: input.finishedAt,
  };
  return { ...envelope, signature: signCanonical(identity.private_key, envelope) };
}
