import { SearchMemoryResponseSchema } from "@m3shd/protocol";
import { z } from "zod";
import type { HubContext } from "../../context";
import { type PluginModule, ToolError } from "../manager";

const ArgsSchema = z.strictObject({
  query: z.string().trim().min(1).max(1000),
  limit: z.int().min(1).max(20).optional(),
});

/**
 * `memory_enhance`: searches the calling agent's own memories. The agent is the one the hub
 * authenticated for the call (never an argument), and the memory service receives a principal
 * scoped to that agent with `memory:read` only, so its own scope check also keeps the search to
 * that agent's memories.
 */
export function memoryEnhancePlugin(ctx: HubContext): PluginModule {
  return {
    name: "memory_enhance",
    description: "Search of the calling agent's own memories.",
    setup(manager) {
      manager.registerTool({
        name: "memory_enhance",
        description:
          "Search your own memories. Args: {query, limit?: 1-20 (default 5)}. Returns {results: [{key, value, tags, confidence, score}]}.",
        args: ArgsSchema,
        async handler(args, call) {
          if (!ctx.memory) throw new ToolError("unavailable", "Agent memory is not enabled on this hub");
          const url = new URL(
            `http://memory.internal/api/agents/${encodeURIComponent(call.agentId)}/memory/search`,
          );
          url.searchParams.set("q", args.query);
          url.searchParams.set("limit", String(args.limit ?? 5));
          const principal = {
            subject: `agent:${call.agentId}`,
            permissions: ["memory:read"],
            agentId: call.agentId,
          };
          const res = await ctx.memory.client.forward(new Request(url, { method: "GET" }), principal);
          const text = await res.text();
          if (res.status !== 200) {
            throw new ToolError("unavailable", `The memory service answered ${res.status}`);
          }
          let body: unknown = null;
          try {
            body = JSON.parse(text);
          } catch {
            // Falls through to the schema check below.
          }
          const parsed = SearchMemoryResponseSchema.safeParse(body);
          if (!parsed.success)
            throw new ToolError("unavailable", "The memory service's answer did not parse");
          return {
            results: parsed.data.results.map(({ entry, score }) => ({
              key: entry.key,
              value: entry.value,
              tags: entry.tags,
              confidence: entry.confidence,
              score,
            })),
          };
        },
      });
    },
  };
}
