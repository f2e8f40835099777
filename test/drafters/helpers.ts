/** Shared pieces of the drafter tests: kernel sets, streams, brute-force references, tree checks. */
import { expect } from "bun:test";
import { Tokenizer } from "@huggingface/tokenizers";
import { Rng } from "../../src/decode/rng.ts";
import { type KernelSet, loadWasmKernels, tsKernels } from "../../src/drafters/kernels/index.ts";
import type { DraftTree, Drafter, VerifyUpdate } from "../../src/drafters/types.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const WASM_PATH = `${ROOT}wasm/pkg/edgespec_kernels.wasm`;

/** Both kernel sets, the WASM one a fresh instance of the committed binary. */
export async function kernelSets(): Promise<KernelSet[]> {
  return [tsKernels, await loadWasmKernels(await Bun.file(WASM_PATH).bytes())];
}

export function randomStream(rng: Rng, n: number, alphabet: number, offset = 0): Int32Array {
  return Int32Array.from({ length: n }, () => offset + Math.floor(rng.next() * alphabet));
}

/** A stream with long repeats (copies of earlier spans), like code or a chat transcript. */
export function repetitiveStream(rng: Rng, n: number, alphabet: number): Int32Array {
  const out: number[] = [];
  while (out.length < n) {
    if (out.length > 20 && rng.next() < 0.5) {
      const start = Math.floor(rng.next() * (out.length - 10));
      const len = 3 + Math.floor(rng.next() * 20);
      for (let i = 0; i < len && out.length < n; i++) out.push(out[start + i]!);
    } else {
      out.push(Math.floor(rng.next() * alphabet));
    }
  }
  return Int32Array.from(out);
}

let tokenizer: Tokenizer | undefined;
export async function tokenize(text: string): Promise<Int32Array> {
  tokenizer ??= new Tokenizer(await Bun.file(`${ROOT}models/edgespec-tiny/tokenizer.json`).json(), {});
  return Int32Array.from(tokenizer.encode(text, { add_special_tokens: false }).ids);
}

export const TOKENIZER_VOCAB = 4096;

/**
 * Real token streams, first `limit` tokens of each: text from the reference model's training
 * corpus (TypeScript's lib.es2015.core.d.ts), its held-out fixture, and this repo's Python.
 */
export async function realStreams(limit: number): Promise<{ name: string; tokens: Int32Array }[]> {
  const files = ["node_modules/typescript/lib/lib.es2015.core.d.ts", "test/fixtures/heldout.txt", "tools/llama.py"];
  return Promise.all(
    files.map(async (f) => ({ name: f, tokens: (await tokenize(await Bun.file(ROOT + f).text())).slice(0, limit) })),
  );
}

/**
 * Brute force, per position i of `text`: the longest suffix of text[0..i] that also ends at some
 * e < i, and the smallest such e (-1 when none). O(n²) with a rolling common-suffix table.
 */
export function bruteSequenceMatches(text: ArrayLike<number>): { len: Int32Array; end: Int32Array } {
  const n = text.length;
  const common = new Int32Array(n); // common[e] = common suffix of text[..e] and text[..i]
  const len = new Int32Array(n);
  const end = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    for (let e = i - 1; e >= 0; e--) common[e] = text[e] === text[i] ? (e > 0 ? common[e - 1]! : 0) + 1 : 0;
    let best = 0;
    for (let e = 0; e < i; e++) {
      if (common[e]! > best) {
        best = common[e]!;
        end[i] = e;
      }
    }
    len[i] = best;
  }
  return { len, end };
}

/**
 * Brute force against a fixed corpus: after each query token, the longest suffix of the query so
 * far that occurs in `corpus`, and the smallest end index of such an occurrence.
 */
export function bruteCorpusMatches(corpus: ArrayLike<number>, query: ArrayLike<number>): { len: Int32Array; end: Int32Array } {
  const m = corpus.length;
  let common = new Int32Array(m);
  let next = new Int32Array(m);
  const len = new Int32Array(query.length);
  const end = new Int32Array(query.length).fill(-1);
  for (let i = 0; i < query.length; i++) {
    let best = 0;
    for (let e = 0; e < m; e++) {
      next[e] = corpus[e] === query[i] ? (e > 0 ? common[e - 1]! : 0) + 1 : 0;
      if (next[e]! > best) {
        best = next[e]!;
        end[i] = e;
      }
    }
    len[i] = best;
    [common, next] = [next, common];
  }
  return { len, end };
}

/**
 * Checks everything a DraftTree promises and returns its root-to-node paths (as strings): size
 * within budget, parents before children (breadth-first), depths consistent, ids in range, no
 * duplicate sibling tokens (hence no duplicate paths).
 */
export function checkTree(tree: DraftTree, budget: number, vocabSize: number): string[] {
  expect(tree.size).toBeLessThanOrEqual(budget);
  expect(tree.tokens.length).toBe(tree.size);
  expect(tree.parents.length).toBe(tree.size);
  expect(tree.depths.length).toBe(tree.size);
  if (tree.sources) expect(tree.sources.length).toBe(tree.size);
  const paths: string[] = [];
  for (let i = 0; i < tree.size; i++) {
    const p = tree.parents[i]!;
    const t = tree.tokens[i]!;
    expect(p).toBeGreaterThanOrEqual(-1);
    expect(p).toBeLessThan(i);
    expect(tree.depths[i]).toBe(p < 0 ? 1 : tree.depths[p]! + 1);
    if (i > 0) expect(tree.depths[i]).toBeGreaterThanOrEqual(tree.depths[i - 1]!);
    expect(Number.isInteger(t) && t >= 0 && t < vocabSize).toBe(true);
    paths.push(p < 0 ? `${t}` : `${paths[p]}/${t}`);
  }
  expect(new Set(paths).size).toBe(paths.length);
  return paths;
}

/** The tree's content as plain arrays, for equality checks. */
export function treeData(tree: DraftTree) {
  return { tokens: Array.from(tree.tokens), parents: Array.from(tree.parents), depths: Array.from(tree.depths), sources: Array.from(tree.sources ?? []) };
}

/**
 * A stand-in for the model: the text to generate is `truth`; its "top-k" after token t is a fixed
 * pseudo-random row, except at the root where rank 0 is the true next token. Accepts the longest
 * tree path that follows the truth, plus the bonus token, like greedy verification.
 */
export class FakeVerifier {
  constructor(
    private readonly truth: ArrayLike<number>,
    private readonly vocabSize: number,
    private readonly k = 8,
  ) {}

  row(token: number, out: Int32Array, at: number, next = -1): void {
    for (let j = 0; j < this.k; j++) out[at + j] = ((Math.imul(token + 1, 0x9e3779b1) >>> 0) + j * 40503) % this.vocabSize;
    if (next < 0) return;
    // The model "knows" the true next token: rank 0.
    const j = out.subarray(at, at + this.k).indexOf(next);
    out[at + (j < 0 ? this.k - 1 : j)] = out[at]!;
    out[at] = next;
  }

  /** Prefill observation for a prompt of the first `p` truth tokens (accepts the next one). */
  prefill(p: number): VerifyUpdate {
    const prompt = Array.from({ length: p }, (_, i) => this.truth[i]!);
    const topK = new Int32Array(p * this.k);
    prompt.forEach((t, i) => this.row(t, topK, i * this.k, this.truth[i + 1]!));
    return { accepted: [this.truth[p]!], verifiedTokens: prompt, topK, k: this.k };
  }

  /** Verification of `tree` when the sequence is the first `pos` truth tokens. */
  verify(tree: DraftTree, pos: number): VerifyUpdate {
    const fed = [this.truth[pos - 1]!, ...tree.tokens];
    const next = new Array<number>(fed.length).fill(-1);
    const accepted: number[] = [];
    let node = -1;
    for (;;) {
      const want = this.truth[pos + accepted.length];
      if (want === undefined) break;
      next[node + 1] = want;
      let child = -1;
      for (let i = 0; i < tree.size; i++) if (tree.parents[i] === node && tree.tokens[i] === want) child = i;
      accepted.push(want);
      if (child < 0) break; // `want` is the bonus token
      node = child;
    }
    const topK = new Int32Array(fed.length * this.k);
    fed.forEach((t, i) => this.row(t, topK, i * this.k, next[i]!));
    return { accepted, verifiedTokens: fed, topK, k: this.k };
  }
}

/** Runs a drafter over `truth` from a prompt of `promptLength` tokens; calls `onTree` per step. */
export function runDrafter(d: Drafter, truth: ArrayLike<number>, vocabSize: number, promptLength: number, budget: number, onTree: (t: DraftTree) => void): number {
  const v = new FakeVerifier(truth, vocabSize);
  d.reset(Array.prototype.slice.call(truth, 0, promptLength));
  const first = v.prefill(promptLength);
  d.observe(first);
  let pos = promptLength + 1;
  let steps = 0;
  while (pos < truth.length) {
    const tree = d.propose(budget);
    onTree(tree);
    const u = v.verify(tree, pos);
    d.observe(u);
    pos += u.accepted.length;
    steps++;
  }
  return steps;
}

export { Rng };
