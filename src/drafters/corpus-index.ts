/**
 * A static corpus for the suffix drafters (SAM-Decoding's "static SAM", stored compactly): the
 * documents, tokenized with the model's tokenizer and joined by a separator that no query token
 * matches and that ends every drafted continuation, plus their suffix array. 6 bytes per token
 * for vocabularies up to 65535 (8 above), against ~80 for the suffix automaton it replaces;
 * built once, saved, and loaded as bytes; shared read-only by any number of drafters, each with
 * its own `CorpusCursor`, whatever kernels they run on.
 *
 * Memory cap: `maxTokens` (default 8M tokens). Building stops at the cap, keeping the documents
 * that fit — the last one cut short — and sets `truncated`.
 */
import { EdgespecError } from "../errors.ts";
import { CorpusCursor } from "./corpus-cursor.ts";
import { readState, type StateIdentity, writeState } from "./persist.ts";
import { buildSuffixArray, SuffixArray, type TokenText } from "./suffix-array.ts";
import { checkTokenIds, checkVocabSize, intOption } from "./validate.ts";

const MAGIC = "ESCI";
const VERSION = 1;
export const DEFAULT_CORPUS_MAX_TOKENS = 1 << 23;
/** Sort depth: the longest match (CorpusCursor's MAX_MATCH, 64) plus as much again to rank continuations. */
const SORT_DEPTH = 128;

export interface CorpusOptions {
  vocabSize: number;
  tokenizerFingerprint?: string;
  maxTokens?: number;
  /** What the index was built from (a hash of the files, say), saved so a stale index is not reused. */
  source?: string;
}

export class CorpusIndex {
  private constructor(
    readonly suffixes: SuffixArray,
    /** The value between documents: -1 in an Int32 text, 0xffff in a Uint16 one. */
    readonly separator: number,
    readonly identity: StateIdentity,
    /** The corpus did not fit under `maxTokens`: the end of it was left out. */
    readonly truncated: boolean,
    readonly source: string,
  ) {}

  static build(documents: Iterable<ArrayLike<number>>, opts: CorpusOptions): CorpusIndex {
    checkVocabSize(opts.vocabSize);
    const maxTokens = intOption(opts.maxTokens, DEFAULT_CORPUS_MAX_TOKENS, "maxTokens", 2, 1 << 28);
    const separator = separatorFor(opts.vocabSize);
    const parts: ArrayLike<number>[] = [];
    let room = maxTokens;
    let truncated = false;
    let d = 0;
    for (const doc of documents) {
      checkTokenIds(doc, opts.vocabSize, `documents[${d++}]`);
      if (doc.length === 0) continue;
      if (parts.length > 0) {
        if (room === 0) {
          truncated = true;
          break;
        }
        parts.push([separator]);
        room--;
      }
      const take = Math.min(doc.length, room);
      parts.push(take === doc.length ? doc : Array.prototype.slice.call(doc, 0, take));
      room -= take;
      if (take < doc.length) {
        truncated = true;
        break;
      }
    }
    const text = separator === -1 ? new Int32Array(maxTokens - room) : new Uint16Array(maxTokens - room);
    let at = 0;
    for (const p of parts) for (let i = 0; i < p.length; i++) text[at++] = p[i]!;
    const suffixes = new SuffixArray(text, buildSuffixArray(text, SORT_DEPTH), SORT_DEPTH, opts.vocabSize);
    return new CorpusIndex(suffixes, separator, identityOf(opts), truncated, opts.source ?? "");
  }

  /** Loads `save()` output; refuses one saved for another tokenizer or vocabulary, or damaged. */
  static load(bytes: Uint8Array, opts: CorpusOptions): CorpusIndex {
    checkVocabSize(opts.vocabSize);
    const identity = identityOf(opts);
    const { fields, arrays } = readState(bytes, MAGIC, VERSION, identity, "corpus index");
    const bad = (why: string): never => {
      throw new EdgespecError("invalid_argument", `corpus index is not valid saved state: ${why}`);
    };
    const [text, sa, source] = arrays;
    const separator = separatorFor(opts.vocabSize);
    if (arrays.length !== 3 || fields.length !== 2) bad("wrong layout");
    if (!(separator === -1 ? text instanceof Int32Array : text instanceof Uint16Array) || !(sa instanceof Int32Array) || !(source instanceof Uint16Array)) bad("wrong array types");
    const depth = fields[1]!;
    if (!(depth >= 1 && depth <= 1 << 20)) bad(`sort depth ${depth}`);
    checkText(text as TokenText, opts.vocabSize, separator, bad);
    checkPermutation(sa as Int32Array, text!.length, bad);
    const suffixes = new SuffixArray(text as TokenText, sa as Int32Array, depth, opts.vocabSize);
    return new CorpusIndex(suffixes, separator, identity, fields[0] === 1, String.fromCharCode(...(source as Uint16Array)));
  }

  save(): Uint8Array {
    const source = Uint16Array.from(this.source, (c) => c.charCodeAt(0));
    return writeState(MAGIC, VERSION, this.identity, { fields: [this.truncated ? 1 : 0, this.suffixes.depth], arrays: [this.suffixes.text, this.suffixes.sa, source] });
  }

  /** A fresh cursor at the start of a text (one per drafter). */
  cursor(): CorpusCursor {
    return new CorpusCursor(this.suffixes, this.separator);
  }

  /** Corpus tokens held, separators included. */
  get tokenCount(): number {
    return this.suffixes.length;
  }

  memoryBytes(): number {
    return this.suffixes.text.byteLength + this.suffixes.sa.byteLength;
  }
}

/** Vocabularies up to 65535 fit 16 bits with 0xffff free to separate documents. */
function separatorFor(vocabSize: number): number {
  return vocabSize <= 0xffff ? 0xffff : -1;
}

function identityOf(opts: CorpusOptions): StateIdentity {
  return { fingerprint: opts.tokenizerFingerprint ?? "", vocabSize: opts.vocabSize };
}

function checkText(text: TokenText, vocabSize: number, separator: number, bad: (why: string) => never): void {
  for (let i = 0; i < text.length; i++) {
    const t = text[i]!;
    if (!((t >= 0 && t < vocabSize) || t === separator)) bad(`text[${i}] = ${t} is not a token id or the separator`);
  }
}

/** A damaged array could only send searches to wrong places, never out of bounds; still, refuse it. */
function checkPermutation(sa: Int32Array, n: number, bad: (why: string) => never): void {
  if (sa.length !== n) bad(`${sa.length} suffixes for ${n} tokens`);
  const seen = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const p = sa[j]!;
    if (!(p >= 0 && p < n) || seen[p]) bad(`suffix ${j} starts at ${p}`);
    seen[p] = 1;
  }
}
