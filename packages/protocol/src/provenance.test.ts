import { describe, expect, it } from "vitest";
import { HASH_A, HASH_B, NOW } from "../test/fixtures";
import { HealthResponseSchema } from "./health";
import { newId } from "./ids";
import {
  ConsistencyQuerySchema,
  ConsistencyResponseSchema,
  MerkleRootResponseSchema,
  ProvenanceResponseSchema,
} from "./provenance";

describe("provenance responses", () => {
  it("parses a chain with a failed verdict and an inclusion proof", () => {
    const taskId = newId("task");
    const response = {
      task_id: taskId,
      chain: [
        {
          index: 0,
          task_id: taskId,
          agent_id: "a-1",
          timestamp: NOW,
          output_sha256: HASH_A,
          prev_hash: "0".repeat(64),
          hash: HASH_B,
        },
      ],
      verdict: { ok: false, index: 0, reason: "hash mismatch" },
      merkle: { leaf_index: 0, tree_size: 1, root: HASH_A, proof: [] },
    };
    expect(ProvenanceResponseSchema.parse(response)).toEqual(response);
    expect(
      ProvenanceResponseSchema.safeParse({
        ...response,
        merkle: { ...response.merkle, root: HASH_A.toUpperCase() },
      }).success,
    ).toBe(false);
  });

  it("parses root and consistency responses", () => {
    expect(MerkleRootResponseSchema.parse({ size: 0, root: HASH_A })).toEqual({ size: 0, root: HASH_A });
    const consistency = { from: 3, to: 7, root_from: HASH_A, root_to: HASH_B, proof: [HASH_A, HASH_B] };
    expect(ConsistencyResponseSchema.parse(consistency)).toEqual(consistency);
  });

  it("coerces the consistency query and requires 1 ≤ from ≤ to", () => {
    expect(ConsistencyQuerySchema.parse({ from: "3", to: "7" })).toEqual({ from: 3, to: 7 });
    expect(ConsistencyQuerySchema.parse({ from: "7", to: "7" })).toEqual({ from: 7, to: 7 });
    expect(ConsistencyQuerySchema.safeParse({ from: "8", to: "7" }).success).toBe(false);
    expect(ConsistencyQuerySchema.safeParse({ from: "0", to: "7" }).success).toBe(false);
    expect(ConsistencyQuerySchema.safeParse({ to: "7" }).success).toBe(false);
  });
});

describe("HealthResponseSchema", () => {
  it("accepts the embedded and the Redis shapes", () => {
    const embedded = {
      status: "ok",
      db: "ok",
      queue: { driver: "memory", redis: "n/a" },
      version: "0.1.0",
      uptime_s: 12.5,
      sweepers: [
        {
          kind: "heartbeats",
          last_run_at: 1_700_000_000_000,
          every_ms: 5000,
          overdue: false,
          last_error: null,
        },
      ],
    };
    expect(HealthResponseSchema.parse(embedded)).toEqual(embedded);
    expect(
      HealthResponseSchema.safeParse({
        ...embedded,
        status: "degraded",
        queue: { driver: "bullmq", redis: "down" },
      }).success,
    ).toBe(true);
    expect(
      HealthResponseSchema.safeParse({ ...embedded, queue: { driver: "kafka", redis: "ok" } }).success,
    ).toBe(false);
    expect(
      HealthResponseSchema.safeParse({
        ...embedded,
        sweepers: [{ kind: "nope", last_run_at: null, every_ms: 1, overdue: true, last_error: null }],
      }).success,
    ).toBe(false);
  });
});
