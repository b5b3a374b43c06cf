/**
 * Text normalization shared by storage, search and consolidation. Everything that is blinded
 * (keys, tags, search terms) goes through here first, so two spellings of one thing blind alike
 * and user-controlled syntax (FTS operators, quotes, column filters) never survives: a term is a
 * run of letters/digits, nothing else.
 */

/** Common English words that carry no search signal; blinding them would only add frequency leakage. */
const STOPWORDS: ReadonlySet<string> = new Set(
  (
    "a about above after again against all am an and any are as at be because been before being below " +
    "between both but by can could did do does doing down during each few for from further had has have " +
    "having he her here hers herself him himself his how i if in into is it its itself just me more most " +
    "my myself no nor not now of off on once only or other our ours ourselves out over own same she " +
    "should so some such than that the their theirs them themselves then there these they this those " +
    "through to too under until up very was we were what when where which while who whom why will with " +
    "would you your yours yourself yourselves also may might must shall us let"
  ).split(" "),
);

/** Scripts written without spaces between words: indexed as overlapping character bigrams. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
/** A CJK run, or a run of other letters/digits/marks. Everything else (punctuation, emoji, operators) separates. */
const WORD_RUNS =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+|(?:(?![\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}])[\p{L}\p{N}\p{M}])+/gu;
const DIGITS = /^\p{N}+$/u;
/** Longest term kept; longer runs (hashes, base64 blobs) are truncated so they still match themselves. */
const TERM_MAX_CHARS = 64;

/** Light, conservative English plural stripping, so `tests` finds `test` (no full stemmer). */
function stem(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith("ies") && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith("sses")) return word.slice(0, -2);
  if (word.endsWith("s") && !word.endsWith("ss") && !word.endsWith("us") && !word.endsWith("is")) {
    return word.slice(0, -1);
  }
  return word;
}

/**
 * The distinct search terms of `text`, in order of first appearance, at most `max`. Lowercased and
 * NFKC-normalized; stopwords and one-letter words dropped (single digits kept); CJK as bigrams.
 * Never throws, whatever the input (lone surrogates, NULs, emoji, 10 KB of operators).
 */
export function extractTerms(text: string, max: number, maxInputChars = 64 * 1024): string[] {
  const input = (text.length > maxInputChars ? text.slice(0, maxInputChars) : text)
    .normalize("NFKC")
    .toLowerCase();
  const out = new Set<string>();
  for (const match of input.matchAll(WORD_RUNS)) {
    const run = match[0];
    if (CJK.test(run)) {
      const chars = Array.from(run);
      if (chars.length === 1) out.add(run);
      for (let i = 0; i + 1 < chars.length && out.size < max; i++) out.add(`${chars[i]}${chars[i + 1]}`);
    } else {
      if (STOPWORDS.has(run)) continue;
      if (run.length < 2 && !DIGITS.test(run)) continue;
      out.add(stem(run).slice(0, TERM_MAX_CHARS));
    }
    if (out.size >= max) break;
  }
  return [...out].slice(0, max);
}

/** A key as displayed and stored: NFKC, trimmed, inner whitespace collapsed to one space. */
export function normalizeKey(key: string): string {
  return key.normalize("NFKC").trim().replace(/\s+/gu, " ");
}

/** The identity of a key: `(agent, identityKey(key))` is unique. Case-insensitive. */
export function identityKey(key: string): string {
  return normalizeKey(key).toLowerCase();
}

/**
 * The consolidation grouping of a key: identity without punctuation or spaces, so `deploy_target`,
 * `Deploy-Target` and `deploy target` are one subject. Falls back to the identity when nothing is left.
 */
export function looseKey(key: string): string {
  const identity = identityKey(key);
  const loose = identity.replace(/[^\p{L}\p{N}]+/gu, "");
  return loose.length > 0 ? loose : identity;
}

/** A tag as stored and blinded: NFKC, lowercase, trimmed, no spaces around `:` (`source: x` = `source:x`). */
export function normalizeTag(tag: string): string {
  return tag
    .normalize("NFKC")
    .trim()
    .toLowerCase()
    .replace(/\s*:\s*/gu, ":")
    .replace(/\s+/gu, " ");
}

/** Normalized tags: deduplicated, empty ones dropped, order of first appearance kept. */
export function normalizeTags(tags: readonly string[]): string[] {
  const out = new Set<string>();
  for (const tag of tags) {
    const normalized = normalizeTag(tag);
    if (normalized.length > 0) out.add(normalized);
  }
  return [...out];
}

/** A value as compared by consolidation: case, whitespace and trailing punctuation do not make a new fact. */
export function comparableValue(value: string): string {
  return value
    .normalize("NFKC")
    .toLowerCase()
    .replace(/\s+/gu, " ")
    .trim()
    .replace(/[.!;,]+$/u, "");
}
