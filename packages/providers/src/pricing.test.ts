import { describe, expect, it } from "vitest";
import { DEFAULT_PRICES, estimateCostUsd, findModelPrice } from "./pricing";

describe("findModelPrice", () => {
  it("matches exact ids, dated snapshots and family prefixes at a boundary", () => {
    expect(findModelPrice("gpt-4o")).toBe(DEFAULT_PRICES["gpt-4o"]);
    expect(findModelPrice("gpt-4o-2024-08-06")).toBe(DEFAULT_PRICES["gpt-4o"]);
    expect(findModelPrice("gpt-4o-mini")).toBe(DEFAULT_PRICES["gpt-4o-mini"]);
    expect(findModelPrice("claude-haiku-4-5-20251001")).toBe(DEFAULT_PRICES["claude-haiku-4-5"]);
    expect(findModelPrice("claude-opus-4-7")).toBe(DEFAULT_PRICES["claude-opus-4"]);
    expect(findModelPrice("gpt-5.4-mini-2026-03-17")).toBe(DEFAULT_PRICES["gpt-5.4-mini"]);
    expect(findModelPrice("gpt-45")).toBeUndefined(); // no boundary after "gpt-4"
    expect(findModelPrice("llama3.2")).toBeUndefined();
  });
});

describe("estimateCostUsd", () => {
  it("prices cached input separately and rounds to 1e-9 USD", () => {
    const table = { m: { input: 3, output: 15, cachedInput: 0.3 } };
    expect(estimateCostUsd("m", { input_tokens: 1_000_000, output_tokens: 0 }, table)).toBe(3);
    expect(
      estimateCostUsd("m", { input_tokens: 1000, output_tokens: 100, cached_input_tokens: 800 }, table),
    ).toBe((200 * 3 + 800 * 0.3 + 100 * 15) / 1e6);
    expect(estimateCostUsd("m", { input_tokens: 1, output_tokens: 1 }, table)).toBe(0.000018);
  });

  it("uses the input price for cached tokens when no cache price is known, and caps cached at input", () => {
    const table = { m: { input: 1, output: 1 } };
    expect(estimateCostUsd("m", { input_tokens: 10, output_tokens: 0, cached_input_tokens: 50 }, table)).toBe(
      0.00001,
    );
  });

  it("returns null for an unpriced model", () => {
    expect(estimateCostUsd("unknown-model", { input_tokens: 1, output_tokens: 1 })).toBeNull();
  });
});
