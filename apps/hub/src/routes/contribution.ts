import {
  approveNodeKeyRoute,
  ledgerSummaryRoute,
  listLedgerRoute,
  listNodeKeysRoute,
  revokeNodeKeyRoute,
  rotateNodeKeyRoute,
  taskReceiptRoute,
} from "@m3shd/protocol";
import {
  approveKey,
  ledgerSummary,
  listKeys,
  listLedger,
  revokeKey,
  rotateKey,
  taskReceipt,
} from "../services/contribution";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** Verifiable contribution: receipts, the credit ledger, node signing keys. */
export function registerContributionRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, taskReceiptRoute, authenticate, (_c, { params, query }) => ({
    status: 200,
    body: taskReceipt(ctx, params.id, query.tree_size),
  }));

  handle(app, listLedgerRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: listLedger(ctx, query),
  }));

  handle(app, ledgerSummaryRoute, authenticate, () => ({ status: 200, body: ledgerSummary(ctx) }));

  handle(app, listNodeKeysRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { keys: listKeys(ctx, params.id) },
  }));

  handle(app, rotateNodeKeyRoute, authenticate, (_c, { params, body }) => ({
    status: 201,
    body: { key: rotateKey(ctx, params.id, body.public_key) },
  }));

  handle(app, approveNodeKeyRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { key: approveKey(ctx, params.id, params.key_id) },
  }));

  handle(app, revokeNodeKeyRoute, authenticate, (_c, { params, body }) => ({
    status: 200,
    body: { key: revokeKey(ctx, params.id, params.key_id, body.reason) },
  }));
}
