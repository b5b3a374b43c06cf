import { z } from "zod";
import type { PluginsConfig } from "../config";
import { type PluginModule, ToolError } from "../manager";

/** Largest search-backend response read. */
const RESPONSE_MAX_BYTES = 2 * 1024 * 1024;

/** The part of SearXNG's `format=json` answer the tool uses (extra fields are ignored). */
const SearxngResponseSchema = z.object({
  results: z
    .array(
      z.object({
        url: z.string().optional(),
        title: z.string().optional(),
        content: z.string().optional(),
        engine: z.string().optional(),
      }),
    )
    .default([]),
  answers: z.array(z.unknown()).default([]),
});

const ArgsSchema = z.strictObject({
  query: z.string().trim().min(1).max(512),
  max_results: z.int().min(1).max(10).optional(),
});

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** Reads a response body up to `max` bytes, or throws. */
async function readBounded(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > max) throw new ToolError("unavailable", "The search backend's answer is too large");
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw new ToolError("unavailable", "The search backend's answer is too large");
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * `web_search`: a query to a self-hosted SearXNG (`GET {url}/search?q=…&format=json`), answered
 * with the top results' title, URL and snippet. The backend's address never reaches the agent.
 */
export function webSearchPlugin(config: PluginsConfig["webSearch"]): PluginModule {
  return {
    name: "web_search",
    description: "Web search through the configured SearXNG instance (M3SHD_SEARXNG_URL).",
    setup(manager) {
      manager.registerTool({
        name: "web_search",
        description:
          "Search the web. Args: {query: string, max_results?: 1-10 (default 5)}. Returns {query, results: [{title, url, snippet}], answers}.",
        args: ArgsSchema,
        async handler(args, call) {
          if (!config) {
            throw new ToolError(
              "unavailable",
              "web_search is not configured on this hub (M3SHD_SEARXNG_URL)",
            );
          }
          const url = new URL(`${config.url.replace(/\/+$/, "")}/search`);
          url.searchParams.set("q", args.query);
          url.searchParams.set("format", "json");
          let res: Response;
          try {
            res = await fetch(url, {
              headers: { accept: "application/json" },
              redirect: "error",
              signal: AbortSignal.any([call.signal, AbortSignal.timeout(config.timeoutMs ?? 10_000)]),
            });
          } catch {
            throw new ToolError("unavailable", "The search backend is unreachable");
          }
          const text = await readBounded(res, RESPONSE_MAX_BYTES);
          if (!res.ok) throw new ToolError("unavailable", `The search backend answered ${res.status}`);
          let parsed: z.infer<typeof SearxngResponseSchema>;
          try {
            parsed = SearxngResponseSchema.parse(JSON.parse(text));
          } catch {
            throw new ToolError("unavailable", "The search backend's answer is not SearXNG JSON");
          }
          const limit = args.max_results ?? config.maxResults ?? 5;
          return {
            query: args.query,
            results: parsed.results
              .filter((r) => r.url)
              .slice(0, limit)
              .map((r) => ({
                title: clip(r.title ?? "", 300),
                url: clip(r.url ?? "", 2000),
                snippet: clip(r.content ?? "", 1000),
              })),
            answers: parsed.answers
              .filter((a): a is string => typeof a === "string")
              .slice(0, 3)
              .map((a) => clip(a, 1000)),
          };
        },
      });
    },
  };
}
