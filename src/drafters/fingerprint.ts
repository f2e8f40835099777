/**
 * A short identity for a tokenizer, stored in saved drafter state (recycling tables, corpus
 * indexes) so state saved for one tokenizer is refused by another: token ids only mean something
 * under the tokenizer that made them. Not cryptographic; it tells tokenizers apart, nothing more.
 */

/** Fingerprint of a tokenizer.json (parsed or text): its model (vocab, merges), added tokens, normalizer and pre-tokenizer. */
export function tokenizerFingerprint(tokenizerJson: unknown): string {
  const j = (typeof tokenizerJson === "string" ? JSON.parse(tokenizerJson) : tokenizerJson) as Record<string, unknown>;
  const canonical = JSON.stringify([j.model ?? null, j.added_tokens ?? null, j.normalizer ?? null, j.pre_tokenizer ?? null]);
  return `tok64-${hash64(canonical)}`;
}

/** 64-bit hash of a string as 16 hex digits: two independently seeded 32-bit multiply-xor lanes. */
export function hash64(text: string): string {
  return lanes64(text.length, (mix) => {
    for (let i = 0; i < text.length; i++) mix(text.charCodeAt(i));
  });
}

/** The same hash over a sequence of strings and byte arrays (each one's length is mixed in, so boundaries count). */
export function hashChunks(chunks: readonly (string | Uint8Array)[]): string {
  return lanes64(chunks.length, (mix) => {
    for (const chunk of chunks) {
      mix(chunk.length);
      if (typeof chunk === "string") for (let i = 0; i < chunk.length; i++) mix(chunk.charCodeAt(i));
      else for (let i = 0; i < chunk.length; i++) mix(chunk[i]!);
    }
  });
}

/** The two lanes seeded with `seed`, fed by `feed`, finalized as 16 hex digits. */
function lanes64(seed: number, feed: (mix: (value: number) => void) => void): string {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x85ebca6b ^ seed;
  feed((c) => {
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  });
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b) ^ Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, "0");
  return hex(a) + hex(b);
}
