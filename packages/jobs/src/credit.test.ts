import { describe, expect, it } from "vitest";
import { CREDIT_CAPS, CREDIT_RULE_IDS, jobCredit, modelCredit, modelTier, unitsFromBasis } from "./credit";

describe("credit rules", () => {
  it("echo is worth 1", () => {
    expect(jobCredit("echo", "anything at all")).toMatchObject({ rule: "echo.v1", units: 1, basis: {} });
  });

  it("text_stats: 1 + 1 per full 100-character output bucket, capped at 5", () => {
    expect(jobCredit("text_stats", "x".repeat(99)).units).toBe(1);
    expect(jobCredit("text_stats", "x".repeat(100)).units).toBe(2);
    expect(jobCredit("text_stats", "é".repeat(250))).toMatchObject({
      units: 3,
      basis: { output_chars: 250 },
    });
    expect(jobCredit("text_stats", "x".repeat(10_000)).units).toBe(5);
  });

  it("keyword_extract: 1 + 1 per 5 unique keywords, capped at 5", () => {
    const out = (n: number) =>
      JSON.stringify({
        keywords: Array.from({ length: n }, (_, i) => ({ term: `t${i}`, count: 1, score: 0 })),
      });
    expect(jobCredit("keyword_extract", out(4)).units).toBe(1);
    expect(jobCredit("keyword_extract", out(5)).units).toBe(2);
    expect(jobCredit("keyword_extract", out(100)).units).toBe(5);
    expect(jobCredit("keyword_extract", "not json")).toMatchObject({
      units: 1,
      basis: { unique_keywords: 0 },
    });
  });

  it("text_chunk: 1 + 1 per 2 chunks, capped at 5", () => {
    const out = (n: number) => JSON.stringify({ chunks: new Array(n).fill({}) });
    expect([1, 2, 3, 7, 8, 20].map((n) => jobCredit("text_chunk", out(n)).units)).toEqual([1, 2, 2, 4, 5, 5]);
  });

  it("text_embed: 1 + min(3, floor(tokens / 50)) + floor(dimensions / 32), capped at 6", () => {
    const out = (tokens: number, dims: number) => JSON.stringify({ dimensions: dims, token_count: tokens });
    expect(jobCredit("text_embed", out(3, 8)).units).toBe(1);
    expect(jobCredit("text_embed", out(50, 8)).units).toBe(2);
    expect(jobCredit("text_embed", out(120, 32)).units).toBe(4);
    expect(jobCredit("text_embed", out(10_000, 64))).toMatchObject({ units: 6 });
  });

  it("model work: tier × ceil(tokens / 1000), capped at 20", () => {
    expect(modelTier("claude-opus-4-1")).toBe(3);
    expect(modelTier("claude-sonnet-5-5")).toBe(2);
    expect(modelTier("gpt-5.4-mini")).toBe(1);
    expect(modelTier("llama3.2")).toBe(1);
    expect(modelCredit({ model: "claude-sonnet-5-5", inputTokens: 1500, outputTokens: 400 }).units).toBe(4);
    expect(modelCredit({ model: "claude-opus-4-1", inputTokens: 90_000, outputTokens: 9_000 }).units).toBe(
      20,
    );
    expect(modelCredit({ model: "llama3.2", inputTokens: 0, outputTokens: 0 }).units).toBe(0);
  });

  it("units recompute from the stored basis alone, and never exceed the cap", () => {
    for (const rule of CREDIT_RULE_IDS) {
      const { units, explanation } = unitsFromBasis(rule, {
        output_chars: 1e6,
        unique_keywords: 1e6,
        chunks: 1e6,
        token_count: 1e6,
        dimensions: 64,
        tier: 3,
        input_tokens: 1e6,
        output_tokens: 0,
      });
      expect(units).toBeLessThanOrEqual(CREDIT_CAPS[rule]);
      expect(explanation).toMatch(/=/);
    }
    const credit = jobCredit("text_stats", "x".repeat(321));
    expect(unitsFromBasis(credit.rule, credit.basis).units).toBe(credit.units);
    expect(credit.explanation).toBe("1 + floor(321 output chars / 100) = 4 (cap 5)");
  });
});
