import { listMessagesRoute, postMessageRoute } from "@m3shd/protocol";
import { listMessages, postMessage } from "../services/messages";
import type { HubApp, RouteDeps } from "../types";
import { callerId } from "./caller";
import { handle } from "./define";

/** Chat: post (≤ 50 KB, streamed as `message_created`) and read back by channel. */
export function registerMessageRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, postMessageRoute, authenticate, async (c, { body }) => ({
    status: 201,
    body: { message: await postMessage(ctx, body, callerId(c)) },
  }));

  handle(app, listMessagesRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: listMessages(ctx, query),
  }));
}
