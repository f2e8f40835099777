/**
 * A static suffix automaton over a user corpus (SAM-Decoding's "static SAM"): documents already
 * tokenized with the model's tokenizer, joined by a -1 separator that no query token matches and
 * that ends every drafted continuation. Built once, saved and loaded as bytes, shared read-only by
 * any number of drafters (each keeps its own cursor).
 *
 * Memory cap: `maxTokens` (default 4M tokens, about 80 bytes of automaton per token). Building
 * stops at the cap, keeping the documents that fit — the last one cut short — and sets `truncated`.
 */
import { EdgespecError } from "../errors.ts";
import { type KernelSet, kernelSetOf } from "./kernels/index.ts";
import type { AutomatonArrays, AutomatonKernel } from "./kernels/types.ts";
import { readState, type StateIdentity, writeState } from "./persist.ts";
import { checkTokenIds, checkVocabSize, intOption } from "./validate.ts";

const MAGIC = "ESSA";
const VERSION = 1;
export const DEFAULT_CORPUS_MAX_TOKENS = 1 << 22;
const SEPARATOR = -1;

export interface CorpusOptions {
  vocabSize: number;
  tokenizerFingerprint?: string;
  kernels?: KernelSet;
  maxTokens?: number;
}

export class CorpusAutomaton {
  /** Copies in other kernel sets, made on first use by a drafter of that set. */
  private readonly copies = new Map<KernelSet, AutomatonKernel>();

  private constructor(
    private readonly kernels: KernelSet,
    private readonly kernel: AutomatonKernel,
    readonly identity: StateIdentity,
    /** The corpus did not fit under `maxTokens`: the end of it was left out. */
    readonly truncated: boolean,
  ) {
    this.copies.set(kernels, kernel);
  }

  static build(documents: Iterable<ArrayLike<number>>, opts: CorpusOptions): CorpusAutomaton {
    checkVocabSize(opts.vocabSize);
    const maxTokens = intOption(opts.maxTokens, DEFAULT_CORPUS_MAX_TOKENS, "maxTokens", 2, 1 << 28);
    const kernels = kernelSetOf(opts.kernels);
    const kernel = kernels.automaton(maxTokens);
    let room = maxTokens;
    let truncated = false;
    let d = 0;
    for (const doc of documents) {
      checkTokenIds(doc, opts.vocabSize, `documents[${d++}]`);
      if (doc.length === 0) continue;
      if (kernel.length > 0) {
        if (room === 0) {
          truncated = true;
          break;
        }
        kernel.extend([SEPARATOR]);
        room--;
      }
      const take = Math.min(doc.length, room);
      kernel.extend(take === doc.length ? doc : Array.prototype.slice.call(doc, 0, take));
      room -= take;
      if (take < doc.length) {
        truncated = true;
        break;
      }
    }
    kernel.setCursor(0, 0);
    return new CorpusAutomaton(kernels, kernel, { fingerprint: opts.tokenizerFingerprint ?? "", vocabSize: opts.vocabSize }, truncated);
  }

  /** Loads `save()` output; refuses one saved for another tokenizer or vocabulary. */
  static load(bytes: Uint8Array, opts: CorpusOptions): CorpusAutomaton {
    checkVocabSize(opts.vocabSize);
    const identity = { fingerprint: opts.tokenizerFingerprint ?? "", vocabSize: opts.vocabSize };
    const { fields, arrays } = readState(bytes, MAGIC, VERSION, identity, "corpus automaton");
    const [text, len, link, firstEnd, edgeFrom, edgeToken, edgeTarget] = arrays as Int32Array[];
    if (arrays.length !== 7 || fields.length !== 2 || arrays.some((a) => !(a instanceof Int32Array))) {
      throw new EdgespecError("invalid_argument", "corpus automaton is not valid saved state: wrong layout");
    }
    const a: AutomatonArrays = { text: text!, len: len!, link: link!, firstEnd: firstEnd!, edgeFrom: edgeFrom!, edgeToken: edgeToken!, edgeTarget: edgeTarget!, last: fields[0]! };
    checkAutomatonArrays(a, opts.vocabSize);
    const kernels = kernelSetOf(opts.kernels);
    const kernel = kernels.automaton(Math.max(2, a.text.length));
    kernel.importArrays(a);
    return new CorpusAutomaton(kernels, kernel, identity, fields[1] === 1);
  }

  save(): Uint8Array {
    const a = this.kernel.exportArrays();
    const arrays = [a.text, a.len, a.link, a.firstEnd, a.edgeFrom, a.edgeToken, a.edgeTarget];
    return writeState(MAGIC, VERSION, this.identity, { fields: [a.last, this.truncated ? 1 : 0], arrays });
  }

  /** Corpus tokens held, separators included. */
  get tokenCount(): number {
    return this.kernel.length;
  }

  memoryBytes(): number {
    let sum = 0;
    for (const k of this.copies.values()) sum += k.memoryBytes();
    return sum;
  }

  /** The automaton in `kernels` (the one it was built in, or a copy made once). */
  kernelFor(kernels: KernelSet): AutomatonKernel {
    let k = this.copies.get(kernels);
    if (!k) {
      k = kernels.automaton(Math.max(2, this.kernel.length));
      k.importArrays(this.kernel.exportArrays());
      this.copies.set(kernels, k);
    }
    return k;
  }

  get builtWith(): KernelSet {
    return this.kernels;
  }
}

/** Checks saved arrays so a damaged file cannot send a kernel out of bounds or into a loop. */
export function checkAutomatonArrays(a: AutomatonArrays, vocabSize: number): void {
  const bad = (why: string): never => {
    throw new EdgespecError("invalid_argument", `corpus automaton is not valid saved state: ${why}`);
  };
  const nStates = a.len.length;
  const nTokens = a.text.length;
  checkTokenIds(a.text, vocabSize, "corpus automaton text", true);
  if (nStates < 1 || a.link.length !== nStates || a.firstEnd.length !== nStates) bad("state arrays differ in length");
  if (a.len[0] !== 0 || a.link[0] !== -1) bad("state 0 is not the root");
  for (let s = 1; s < nStates; s++) {
    const l = a.link[s]!;
    // len strictly decreases along links (so following them ends), first occurrences lie in the text.
    if (!(l >= 0 && l < nStates && a.len[l]! < a.len[s]!)) bad(`state ${s} has link ${l}`);
    if (!(a.firstEnd[s]! >= a.len[s]! - 1 && a.firstEnd[s]! < nTokens)) bad(`state ${s} has first end ${a.firstEnd[s]}`);
  }
  const nEdges = a.edgeFrom.length;
  if (a.edgeToken.length !== nEdges || a.edgeTarget.length !== nEdges) bad("edge arrays differ in length");
  checkTokenIds(a.edgeToken, vocabSize, "corpus automaton edges", true);
  for (let e = 0; e < nEdges; e++) {
    const from = a.edgeFrom[e]!;
    const to = a.edgeTarget[e]!;
    if (!(from >= 0 && from < nStates && to > 0 && to < nStates && a.len[to]! > a.len[from]!)) bad(`edge ${e} (${from} -> ${to})`);
  }
  if (!(a.last >= 0 && a.last < nStates)) bad(`last state ${a.last}`);
}
