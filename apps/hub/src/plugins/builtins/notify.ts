import { z } from "zod";
import { publishToNtfy } from "../../services/alerts";
import type { NtfyConfig } from "../../services/workflow-config";
import { type PluginModule, ToolError } from "../manager";

const ArgsSchema = z.strictObject({
  message: z.string().trim().min(1).max(4096),
  title: z.string().trim().min(1).max(200).optional(),
  /** ntfy priority 1 (min) … 5 (max). */
  priority: z.int().min(1).max(5).optional(),
  tags: z
    .array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/))
    .max(5)
    .optional(),
});

/**
 * `notify`: a push notification to the operator through the hub's ntfy (the alerts' server and
 * topic, `M3SHD_NTFY_*`), posted directly so the agent learns whether it was delivered. The
 * title and an `agent-<id>` tag say which agent sent it; the agent cannot pose as the hub.
 */
export function notifyPlugin(ntfy: () => NtfyConfig | null): PluginModule {
  return {
    name: "notify",
    description:
      "Push notifications to the operator through the hub's ntfy (M3SHD_NTFY_URL, M3SHD_NTFY_TOPIC).",
    setup(manager) {
      manager.registerTool({
        name: "notify",
        description:
          "Send the operator a push notification. Args: {message, title?, priority?: 1-5, tags?: string[]}. Returns {delivered: true}.",
        args: ArgsSchema,
        async handler(args, call) {
          const config = ntfy();
          if (!config) {
            throw new ToolError(
              "unavailable",
              "notify is not configured on this hub (M3SHD_NTFY_URL, M3SHD_NTFY_TOPIC)",
            );
          }
          try {
            await publishToNtfy(
              { ...config, timeoutMs: Math.min(config.timeoutMs ?? 10_000, 10_000) },
              {
                title: `${args.title ?? "Message"} (from ${call.agentId})`,
                message: args.message,
                priority: args.priority ?? 3,
                tags: [...(args.tags ?? []), `agent-${call.agentId}`.slice(0, 64)],
              },
            );
          } catch {
            throw new ToolError("unavailable", "The notification server did not accept the message");
          }
          return { delivered: true };
        },
      });
    },
  };
}
