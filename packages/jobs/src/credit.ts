import type { JobName } from "./request";

/**
 * Credit rules: integer units for one validated result, computed from measurable facts of the
 * result (its `basis`), never from runtime (the BOINC lesson: runtime credit is gameable). Each rule
 * is capped per task. A ledger entry stores the rule id, the basis and the units, so anyone can
 * recompute the units from the entry alone (`unitsFromBasis`) — that is what `m3shd audit` does.
 *
 * | rule               | units                                                                 | cap |
 * | ------------------ | --------------------------------------------------------------------- | --- |
 * | echo.v1            | 1                                                                     | 1   |
 * | text_stats.v1      | 1 + floor(output_chars / 100)                                         | 5   |
 * | keyword_extract.v1 | 1 + floor(unique_keywords / 5)                                        | 5   |
 * | text_chunk.v1      | 1 + floor(chunks / 2)                                                 | 5   |
 * | text_embed.v1      | 1 + min(3, floor(token_count / 50)) + floor(dimensions / 32)          | 6   |
 * | model.v1           | tier × ceil((input_tokens + output_tokens) / 1000), tier 1/2/3 by model | 20  |
 */
export const CREDIT_RULE_IDS = [
  "echo.v1",
  "text_stats.v1",
  "keyword_extract.v1",
  "text_chunk.v1",
  "text_embed.v1",
  "model.v1",
] as const;
export type CreditRuleId = (typeof CREDIT_RULE_IDS)[number];

/** The measured facts a rule reads; integers, plus the model name for `model.v1`. */
export type CreditBasis = Record<string, number | string>;

export interface Credit {
  rule: CreditRuleId;
  basis: CreditBasis;
  units: number;
  /** How the units were computed, in words and numbers, e.g. `1 + floor(250 / 100) = 3 (cap 5)`. */
  explanation: string;
}

/** Per-task caps (the `max_granted_credit` analogue). */
export const CREDIT_CAPS: Readonly<Record<CreditRuleId, number>> = {
  "echo.v1": 1,
  "text_stats.v1": 5,
  "keyword_extract.v1": 5,
  "text_chunk.v1": 5,
  "text_embed.v1": 6,
  "model.v1": 20,
};

function int(basis: CreditBasis, key: string): number {
  const value = basis[key];
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : 0;
}

/**
 * The price tier of a model, from its name: 3 for frontier models (Opus, GPT-5 and o-series
 * reasoning models, Grok 4), 2 for mid-tier (Sonnet, GPT-4.x, other Grok), 1 for everything else
 * (Haiku, mini/nano models, local models). Mini/nano variants are tier 1 whatever their family.
 */
export function modelTier(model: string): 1 | 2 | 3 {
  const m = model.toLowerCase();
  if (/(mini|nano|haiku|flash|lite)/.test(m)) return 1;
  if (/(opus|gpt-5|\bo[134]\b|o[134]-|grok-4)/.test(m)) return 3;
  if (/(sonnet|gpt-4|grok)/.test(m)) return 2;
  return 1;
}

/** Recomputes a rule's units from its basis (what an auditor does with a ledger entry). */
export function unitsFromBasis(
  rule: CreditRuleId,
  basis: CreditBasis,
): { units: number; explanation: string } {
  const cap = CREDIT_CAPS[rule];
  const capped = (raw: number, formula: string) => {
    const units = Math.min(cap, raw);
    return { units, explanation: `${formula} = ${raw}${raw > cap ? `, capped at ${cap}` : ` (cap ${cap})`}` };
  };
  switch (rule) {
    case "echo.v1":
      return capped(1, "1");
    case "text_stats.v1": {
      const chars = int(basis, "output_chars");
      return capped(1 + Math.floor(chars / 100), `1 + floor(${chars} output chars / 100)`);
    }
    case "keyword_extract.v1": {
      const k = int(basis, "unique_keywords");
      return capped(1 + Math.floor(k / 5), `1 + floor(${k} unique keywords / 5)`);
    }
    case "text_chunk.v1": {
      const n = int(basis, "chunks");
      return capped(1 + Math.floor(n / 2), `1 + floor(${n} chunks / 2)`);
    }
    case "text_embed.v1": {
      const tokens = int(basis, "token_count");
      const dims = int(basis, "dimensions");
      const tb = Math.min(3, Math.floor(tokens / 50));
      const db = Math.floor(dims / 32);
      return capped(
        1 + tb + db,
        `1 + min(3, floor(${tokens} tokens / 50)) + floor(${dims} dimensions / 32) = 1 + ${tb} + ${db}`,
      );
    }
    case "model.v1": {
      const tokens = int(basis, "input_tokens") + int(basis, "output_tokens");
      const tier = int(basis, "tier");
      const k = Math.ceil(tokens / 1000);
      return capped(tier * k, `tier ${tier} × ceil(${tokens} tokens / 1000) = ${tier} × ${k}`);
    }
    default: {
      const unreachable: never = rule;
      throw new Error(`unknown credit rule ${String(unreachable)}`);
    }
  }
}

function parseObject(output: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(output);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** What a job result is worth, measured from its output (which the validator has checked). */
export function jobCredit(job: JobName, output: string): Credit {
  let rule: CreditRuleId;
  let basis: CreditBasis;
  switch (job) {
    case "echo":
      rule = "echo.v1";
      basis = {};
      break;
    case "text_stats":
      rule = "text_stats.v1";
      basis = { output_chars: codePoints(output) };
      break;
    case "keyword_extract": {
      const keywords = parseObject(output).keywords;
      const terms = Array.isArray(keywords)
        ? keywords.map((k) =>
            typeof k === "object" && k !== null ? (k as { term?: unknown }).term : undefined,
          )
        : [];
      rule = "keyword_extract.v1";
      basis = { unique_keywords: new Set(terms.filter((t) => typeof t === "string")).size };
      break;
    }
    case "text_chunk": {
      const chunks = parseObject(output).chunks;
      rule = "text_chunk.v1";
      basis = { chunks: Array.isArray(chunks) ? chunks.length : 0 };
      break;
    }
    case "text_embed": {
      const o = parseObject(output);
      rule = "text_embed.v1";
      basis = {
        token_count: typeof o.token_count === "number" ? o.token_count : 0,
        dimensions: typeof o.dimensions === "number" ? o.dimensions : 0,
      };
      break;
    }
    default: {
      const unreachable: never = job;
      throw new Error(`unknown job ${String(unreachable)}`);
    }
  }
  return { rule, basis, ...unitsFromBasis(rule, basis) };
}

/** What model work is worth from its metered tokens and the model's price tier (see `modelTier`). */
export function modelCredit(input: { model: string; inputTokens: number; outputTokens: number }): Credit {
  const basis: CreditBasis = {
    model: input.model,
    tier: modelTier(input.model),
    input_tokens: Math.max(0, Math.trunc(input.inputTokens)),
    output_tokens: Math.max(0, Math.trunc(input.outputTokens)),
  };
  return { rule: "model.v1", basis, ...unitsFromBasis("model.v1", basis) };
}
