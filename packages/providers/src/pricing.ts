import { z } from "zod";
import type { TokenUsage } from "./types";

/** Prices of one model in USD per million tokens. */
export const ModelPriceSchema = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
  /** Price of input tokens served from the prompt cache; `input` when omitted. */
  cachedInput: z.number().min(0).optional(),
});
export type ModelPrice = z.infer<typeof ModelPriceSchema>;

/** A price table: model id (or id prefix, see `findModelPrice`) → prices. */
export const PriceTableSchema = z.record(z.string().min(1), ModelPriceSchema);
export type PriceTable = z.infer<typeof PriceTableSchema>;

/**
 * Built-in list prices, USD per million tokens, as published by the providers in November 2026
 * (standard tier, short-context band; cache writes are billed as plain input). They are an
 * *estimate* for operators, not an invoice: override or extend them with `prices` in the provider
 * config, and the hub may recompute cost from its own table.
 */
export const DEFAULT_PRICES: PriceTable = {
  // Anthropic
  "claude-opus-5-5": { input: 4, output: 20, cachedInput: 0.2 },
  "claude-sonnet-5-5": { input: 2, output: 10, cachedInput: 0.1 },
  "claude-haiku-5-5": { input: 0.1, output: 0.5, cachedInput: 0.01 },
  "claude-opus-5": { input: 5, output: 25, cachedInput: 0.5 },
  "claude-sonnet-5": { input: 2, output: 10, cachedInput: 0.2 },
  "claude-opus-4": { input: 5, output: 25, cachedInput: 0.5 },
  "claude-sonnet-4": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-haiku-4-5": { input: 1, output: 5, cachedInput: 0.1 },
  // OpenAI
  "gpt-5.4": { input: 2.5, output: 15, cachedInput: 0.25 },
  "gpt-5.4-mini": { input: 0.75, output: 4.5, cachedInput: 0.075 },
  "gpt-5": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5-mini": { input: 0.25, output: 2, cachedInput: 0.025 },
  "gpt-5-nano": { input: 0.05, output: 0.4, cachedInput: 0.005 },
  "gpt-4.1": { input: 2, output: 8, cachedInput: 0.5 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6, cachedInput: 0.1 },
  "gpt-4o": { input: 2.5, output: 10, cachedInput: 1.25 },
  "gpt-4o-mini": { input: 0.15, output: 0.6, cachedInput: 0.075 },
  o3: { input: 2, output: 8, cachedInput: 0.5 },
  "o4-mini": { input: 1.1, output: 4.4, cachedInput: 0.275 },
  // xAI
  "grok-4": { input: 3, output: 15, cachedInput: 0.75 },
  "grok-3-mini": { input: 0.3, output: 0.5, cachedInput: 0.075 },
};

const DATE_SUFFIX = /-(\d{8}|\d{4}-\d{2}-\d{2})$/;

/**
 * The price for `model`: an exact entry, else the entry for the id without a date suffix
 * (`gpt-4o-2024-08-06` → `gpt-4o`), else the longest entry that prefixes the id at a `-` or `.`
 * boundary (`claude-opus-4-7` → `claude-opus-4`, but `gpt-4o-mini` keeps its own entry).
 */
export function findModelPrice(model: string, table: PriceTable = DEFAULT_PRICES): ModelPrice | undefined {
  const exact = table[model];
  if (exact) return exact;
  const undated = model.replace(DATE_SUFFIX, "");
  if (table[undated]) return table[undated];
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (!undated.startsWith(key)) continue;
    const next = undated.charAt(key.length);
    if (next !== "-" && next !== ".") continue;
    if (!best || key.length > best.length) best = key;
  }
  return best === undefined ? undefined : table[best];
}

/** Estimated USD cost of `usage` on `model`; `null` when the model has no price. */
export function estimateCostUsd(
  model: string,
  usage: TokenUsage,
  table: PriceTable = DEFAULT_PRICES,
): number | null {
  const price = findModelPrice(model, table);
  if (!price) return null;
  const cached = Math.min(usage.cached_input_tokens ?? 0, usage.input_tokens);
  const uncached = usage.input_tokens - cached;
  const micro =
    uncached * price.input + cached * (price.cachedInput ?? price.input) + usage.output_tokens * price.output;
  // Round to 1e-9 USD: float noise would otherwise show up in totals.
  return Math.round(micro * 1000) / 1e9;
}
