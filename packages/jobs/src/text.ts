import { createHash } from "node:crypto";

/**
 * The deterministic text jobs. Pure functions of their input: no clock, no randomness, no locale
 * (`toLowerCase`, not `toLocaleLowerCase`), no Map/Set iteration order leaking into the output
 * unless it is insertion order. Same input → byte-identical output on any machine, so the hub can
 * validate a result by recomputing it.
 */

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

/** Words of `text`, NFC-normalised and lower-cased. */
export function tokenize(text: string): string[] {
  return (text.normalize("NFC").toLowerCase().match(WORD) ?? []).map((w) => w.replace(/’/g, "'"));
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  const r = Math.round(value * f) / f;
  return Object.is(r, -0) ? 0 : r;
}

export interface TextStats {
  /** Unicode code points. */
  chars: number;
  /** UTF-8 bytes. */
  bytes: number;
  words: number;
  unique_words: number;
  lines: number;
  sentences: number;
  paragraphs: number;
  /** Mean code points per word, 3 decimals. */
  avg_word_length: number;
}

/** Counts of a text. Lines split on LF, CRLF or CR; paragraphs on blank lines. */
export function textStats(text: string): TextStats {
  const words = tokenize(text);
  const letters = words.reduce((sum, w) => sum + codePoints(w), 0);
  const hasWord = (s: string) => /[\p{L}\p{N}]/u.test(s);
  return {
    chars: codePoints(text),
    bytes: Buffer.byteLength(text, "utf8"),
    words: words.length,
    unique_words: new Set(words).size,
    lines: text.length === 0 ? 0 : text.split(/\r\n|\r|\n/).length,
    sentences: text.split(/(?<=[.!?。！？])\s+/u).filter(hasWord).length,
    paragraphs: text.split(/(?:\r?\n)[^\S\r\n]*(?:\r?\n)\s*/).filter(hasWord).length,
    avg_word_length: words.length === 0 ? 0 : round(letters / words.length, 3),
  };
}

/** Common English function words, skipped by `keywordExtract`. */
const STOPWORDS = new Set(
  (
    "a about above after again against all am an and any are aren't as at be because been before being " +
    "below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down " +
    "during each few for from further had hadn't has hasn't have haven't having he her here hers herself him " +
    "himself his how i i'm i've if in into is isn't it it's its itself just let's me more most mustn't my " +
    "myself no nor not now of off on once only or other ought our ours ourselves out over own same shan't she " +
    "should shouldn't so some such than that that's the their theirs them themselves then there there's these " +
    "they they're they've this those through to too under until up very was wasn't we we're we've were " +
    "weren't what what's when where which while who whom why will with won't would wouldn't you you're " +
    "you've your yours yourself yourselves also may might must shall us via per"
  ).split(" "),
);

export interface Keyword {
  term: string;
  count: number;
  /** count / words in the text, 6 decimals. */
  score: number;
}

/**
 * Most frequent content words: stopwords, pure numbers and words shorter than `minLength` code
 * points are skipped; ties keep the order of first appearance.
 */
export function keywordExtract(text: string, topK: number, minLength: number): Keyword[] {
  const words = tokenize(text);
  const counts = new Map<string, number>(); // insertion order = first appearance
  for (const w of words) {
    if (STOPWORDS.has(w) || /^\p{N}+$/u.test(w) || codePoints(w) < minLength) continue;
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const ranked = [...counts.entries()].map(([term, count], order) => ({ term, count, order }));
  ranked.sort((a, b) => b.count - a.count || a.order - b.order);
  return ranked.slice(0, topK).map(({ term, count }) => ({
    term,
    count,
    score: round(count / words.length, 6),
  }));
}

export interface TextChunk {
  index: number;
  /** Offsets into the input in UTF-16 code units (JavaScript string indices); `end` exclusive. */
  start: number;
  end: number;
  text: string;
}

/** Break candidates, best first: paragraph break, line break, sentence end, any whitespace. */
const BREAKS: readonly RegExp[] = [/\n[^\S\n]*\n\s*/g, /\n/g, /[.!?。！？]["'”’)\]]*\s/gu, /\s/g];

function breakIn(window: string, minEnd: number): number {
  for (const pattern of BREAKS) {
    let best = -1;
    for (const m of window.matchAll(pattern)) {
      const end = (m.index ?? 0) + m[0].length;
      if (end >= minEnd) best = end;
    }
    if (best > 0) return best;
  }
  return -1;
}

/**
 * Splits `text` into chunks of at most `maxChars` UTF-16 code units. Each cut prefers, in order, a
 * paragraph break, a line break, a sentence end, then any whitespace — looked for in the back
 * half of the window so chunks stay reasonably full, then anywhere in it — and falls back to a
 * hard cut that never splits a surrogate pair. Whitespace at a cut stays with the chunk before
 * it, so the chunks concatenate back to exactly the input.
 */
export function textChunk(text: string, maxChars: number): TextChunk[] {
  const chunks: TextChunk[] = [];
  let start = 0;
  while (start < text.length) {
    let end: number;
    if (text.length - start <= maxChars) {
      end = text.length;
    } else {
      const window = text.slice(start, start + maxChars);
      let cut = breakIn(window, Math.floor(maxChars / 2));
      if (cut <= 0) cut = breakIn(window, 1);
      if (cut <= 0) {
        cut = maxChars;
        const last = window.charCodeAt(cut - 1);
        if (last >= 0xd800 && last <= 0xdbff) cut -= 1; // keep the surrogate pair whole
        // max_chars 1 and an astral character: the pair cannot be cut, so this one chunk holds 2.
        if (cut === 0) cut = 2;
      }
      end = start + cut;
    }
    chunks.push({ index: chunks.length, start, end, text: text.slice(start, end) });
    start = end;
  }
  return chunks;
}

/** SHA-256 bucket of one token: the first 4 bytes of SHA-256(UTF-8 token), big-endian, mod `dimensions`. */
export function tokenBucket(token: string, dimensions: number): number {
  return createHash("sha256").update(token, "utf8").digest().readUInt32BE(0) % dimensions;
}

/** The seed's `text_embed` output, keys in this order. */
export interface TextEmbedding {
  dimensions: number;
  /** Tokens (words) counted into the vector. */
  token_count: number;
  /** Distinct tokens. */
  unique_terms: number;
  /** `vector[i]` = how many tokens fell into bucket `i`; integers, summing to `token_count`. */
  vector: number[];
}

/**
 * A bag-of-words count vector: each token (see `tokenize`) adds exactly 1 at
 * `tokenBucket(token, dimensions)`. Integer counts, no normalisation and no floating point, so the
 * result is byte-identical everywhere and a validator can compare it exactly. It measures shared
 * *words*, not meaning ("car" and "automobile" are unrelated): good for dedup and lexical search.
 */
export function textEmbed(text: string, dimensions: number): TextEmbedding {
  const vector = new Array<number>(dimensions).fill(0);
  const tokens = tokenize(text);
  for (const token of tokens) {
    const i = tokenBucket(token, dimensions);
    vector[i] = (vector[i] ?? 0) + 1;
  }
  return { dimensions, token_count: tokens.length, unique_terms: new Set(tokens).size, vector };
}
