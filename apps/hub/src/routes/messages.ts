import { CreateMessageBodySchema, LIMITS, ListMessagesQuerySchema } from "@m3shd/protocol";
import { jsonBody, queryParams } from "@m3shd/service-kit";
import { authorize } from "../middleware/auth";
import { listMessages, postMessage } from "../services/messages";
import type { HubApp, RouteDeps } from "../types";
import { callerId } from "./caller";

/** Chat: post (≤ 50 KB, streamed as `message_created`) and read back by channel. */
export function registerMessageRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.post(
    "/api/messages",
    authorize("messages:write", authenticate),
    ...jsonBody(CreateMessageBodySchema, 4 * LIMITS.messageBytes + 4 * 1024),
    async (c) => c.json({ message: await postMessage(ctx, c.req.valid("json"), callerId(c)) }, 201),
  );

  app.get(
    "/api/messages",
    authorize("messages:read", authenticate),
    queryParams(ListMessagesQuerySchema),
    (c) => c.json(listMessages(ctx, c.req.valid("query"))),
  );
}
