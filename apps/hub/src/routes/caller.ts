import type { Context } from "hono";
import { actingAgent, principalOf } from "../middleware/auth";

/**
 * Who a write is attributed to (`set_by`, a message's sender): the agent the request acts for
 * (an agent token, or `X-M3shd-Agent` from a principal allowed to act for agents), otherwise the
 * principal's subject (`master`, `user:<id>`, `key:<id>`). Never taken from the body.
 */
export function callerId(c: Context): string {
  return actingAgent(c) ?? principalOf(c).subject;
}
