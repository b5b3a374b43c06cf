/**
 * Input limits of the memory service, in one place (documented in docs/memory.md). Byte limits are
 * UTF-8 bytes; `*Chars` limits count UTF-16 code units like `z.string().max()`.
 */
export const MEMORY_LIMITS = {
  /** A memory key (`deploy target`, `user.timezone`). Keys are short labels, not documents. */
  keyChars: 200,
  /** A memory value. Memories are facts, not transcripts; 16 KiB is a long page of text. */
  valueBytes: 16 * 1024,
  /** Tags on one entry. */
  tagsMax: 16,
  /** One tag. */
  tagChars: 64,
  /** A search query string as received. Longer strings are refused at the edge (413). */
  queryBytes: 16 * 1024,
  /** Distinct terms kept from a search query (the rest are ignored). */
  queryTermsMax: 32,
  /** Text scanned for recall terms (a task prompt is ≤ 8 KiB; parents can add more). */
  recallTextChars: 64 * 1024,
  /** Distinct terms kept from a recall text. */
  recallTermsMax: 64,
  /** Upper bound of `topK` for recall. */
  recallTopKMax: 50,
  /** Default top-K for recall. */
  recallTopKDefault: 5,
  /** Upper bound of the recall character budget. */
  recallCharBudgetMax: 32 * 1024,
  /** Default recall character budget (≈ 500 tokens). */
  recallCharBudgetDefault: 2000,
  /** Upper bound of `limit` on list and search. */
  listLimitMax: 500,
  /** Default `limit` on list and search. */
  listLimitDefault: 50,
  /** `[REMEMBER]` blocks stored from one task output; further blocks are counted as skipped. */
  extractBlocksMax: 100,
  /** Raw request body ceiling (a 16 KiB value can grow up to 6× with JSON escapes). */
  requestBodyBytes: 128 * 1024,
  /** Agents named in one cross-agent search. */
  searchAgentsMax: 1000,
} as const;
