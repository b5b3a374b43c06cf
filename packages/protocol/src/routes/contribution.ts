import { z } from "zod";
import {
  LedgerListResponseSchema,
  LedgerQuerySchema,
  LedgerSummaryResponseSchema,
  NodeKeyIdSchema,
  NodeKeyListResponseSchema,
  NodeKeyResponseSchema,
  ReceiptQuerySchema,
  ReceiptSchema,
  RevokeNodeKeyBodySchema,
  RotateNodeKeyBodySchema,
} from "../contribution";
import { AgentIdSchema } from "../ids";
import { defineRoute } from "../route";
import { SMALL_BODY_BYTES } from "./common";
import { AgentPathSchema, TaskPathSchema } from "./tasks";

export const NodeKeyPathSchema = z.strictObject({ id: AgentIdSchema, key_id: NodeKeyIdSchema });

/**
 * Permissions: a receipt is part of a task's record, so it needs what reading the task and its
 * provenance needs (`tasks:read`). The ledger and its summary are per-node accounting of the fleet,
 * read like the agent list (`agents:read`); node public keys are public material, read the same
 * way. Approving, revoking and rotating a node's key decide which machine's results are trusted —
 * an admin decision like an agent's settings (`agents:admin`).
 */
export const taskReceiptRoute = defineRoute({
  id: "tasks.receipt",
  method: "GET",
  path: "/api/tasks/:id/receipt",
  permission: "tasks:read",
  summary: "A task's contribution receipt: signed results, validation decisions, ledger entries, proofs",
  description:
    "404 until a result was submitted for the task. `tree_size` proves each ledger entry's inclusion against " +
    "that size of the Merkle log (an export's checkpoint); entries beyond it are left out.",
  tags: ["contribution"],
  params: TaskPathSchema,
  query: ReceiptQuerySchema,
  responses: { 200: ReceiptSchema },
  errors: [404, 422],
});

export const listLedgerRoute = defineRoute({
  id: "ledger.list",
  method: "GET",
  path: "/api/ledger",
  permission: "agents:read",
  summary: "The credit ledger, oldest first",
  description:
    "Filter by node (`node`), creation time (`since`, epoch ms) and Merkle tree size (`tree_size`).",
  tags: ["contribution"],
  query: LedgerQuerySchema,
  responses: { 200: LedgerListResponseSchema },
  errors: [422],
});

export const ledgerSummaryRoute = defineRoute({
  id: "ledger.summary",
  method: "GET",
  path: "/api/ledger/summary",
  permission: "agents:read",
  summary: "Per node: units, validated and invalid results, consecutive-valid streaks",
  tags: ["contribution"],
  responses: { 200: LedgerSummaryResponseSchema },
});

export const listNodeKeysRoute = defineRoute({
  id: "agents.keys",
  method: "GET",
  path: "/api/agents/:id/keys",
  permission: "agents:read",
  summary: "A node's signing keys (public), newest first",
  tags: ["contribution"],
  params: AgentPathSchema,
  responses: { 200: NodeKeyListResponseSchema },
  errors: [404, 422],
});

export const rotateNodeKeyRoute = defineRoute({
  id: "agents.rotateKey",
  method: "POST",
  path: "/api/agents/:id/keys",
  permission: "agents:admin",
  summary: "Bind a new signing key to a node (rotation): the key becomes active, the previous one is revoked",
  tags: ["contribution"],
  params: AgentPathSchema,
  body: RotateNodeKeyBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 201: NodeKeyResponseSchema },
  errors: [404, 409, 413, 415, 422],
});

export const approveNodeKeyRoute = defineRoute({
  id: "agents.approveKey",
  method: "POST",
  path: "/api/agents/:id/keys/:key_id/approve",
  permission: "agents:admin",
  summary: "Approve a node key waiting for approval",
  tags: ["contribution"],
  params: NodeKeyPathSchema,
  responses: { 200: NodeKeyResponseSchema },
  errors: [404, 409, 422],
});

export const revokeNodeKeyRoute = defineRoute({
  id: "agents.revokeKey",
  method: "POST",
  path: "/api/agents/:id/keys/:key_id/revoke",
  permission: "agents:admin",
  summary: "Revoke a node key: results signed with it are refused from now on",
  tags: ["contribution"],
  params: NodeKeyPathSchema,
  body: RevokeNodeKeyBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 200: NodeKeyResponseSchema },
  errors: [404, 409, 413, 415, 422],
});

/** Verifiable contribution: receipts, the ledger, node keys. */
export const CONTRIBUTION_ROUTES = [
  taskReceiptRoute,
  listLedgerRoute,
  ledgerSummaryRoute,
  listNodeKeysRoute,
  rotateNodeKeyRoute,
  approveNodeKeyRoute,
  revokeNodeKeyRoute,
] as const;
