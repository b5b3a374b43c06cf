import { createHmac, createSecretKey, type KeyObject } from "node:crypto";

const TERM_CACHE_MAX = 50_000;

/**
 * Keyed blind-index tokens. Each is HMAC-SHA256 under one agent's index key with a domain label,
 * so the same word blinds differently per agent, per purpose (term / key / tag) and per key
 * generation; without the key a token says nothing about the word beyond equality within that
 * agent. FTS tokens are truncated to 64 bits (hex, so FTS5's ascii tokenizer sees one bareword
 * that can never be an operator); key and tag blinds keep 128 bits for uniqueness constraints.
 */
export class Blinder {
  readonly #key: KeyObject;
  /** Term → token. Zipf-distributed text repeats terms constantly; HMAC setup dominates insert cost. */
  readonly #terms = new Map<string, string>();

  constructor(indexKey: Buffer) {
    this.#key = createSecretKey(indexKey);
  }

  #mac(domain: string, text: string): Buffer {
    return createHmac("sha256", this.#key).update(domain).update("\0").update(text, "utf8").digest();
  }

  /** FTS token of a normalized search term: 16 lowercase hex characters. */
  term(term: string): string {
    let token = this.#terms.get(term);
    if (token === undefined) {
      token = this.#mac("term", term).subarray(0, 8).toString("hex");
      // Bounded: a flood of distinct terms resets the cache instead of growing the heap.
      if (this.#terms.size >= TERM_CACHE_MAX) this.#terms.clear();
      this.#terms.set(term, token);
    }
    return token;
  }

  /** Forgets cached tokens (on close). */
  clear(): void {
    this.#terms.clear();
  }

  /** Blind of a key identity (unique per agent). */
  key(identity: string): Buffer {
    return this.#mac("key", identity).subarray(0, 16);
  }

  /** Blind of a normalized tag. */
  tag(tag: string): Buffer {
    return this.#mac("tag", tag).subarray(0, 16);
  }
}
