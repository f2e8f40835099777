/**
 * Which part of a draft tree the model agrees with, given the logits of one tree forward.
 *
 * Row 0 of the logits belongs to the root (the last accepted token), row i + 1 to node i. From the
 * root, the next token is chosen exactly as plain decoding would choose it from that row — argmax
 * when greedy, one draw from the processed distribution when sampling — and if a child of the
 * current node carries that token, verification descends into it and repeats; otherwise the chosen
 * token is the bonus token and the step ends. Every emitted token is therefore a token plain
 * decoding would have emitted from the same context (greedy: identical; sampling: drawn from the
 * model's own distribution — the deterministic-draft case of SpecInfer's rule, with q a point mass).
 */
import type { Sampler } from "../decode/sampler.ts";
import type { DraftTree } from "../drafters/types.ts";

export interface Verdict {
  /** Indices of the accepted nodes, root to leaf. */
  path: number[];
  /** The token chosen after the last accepted node (or after the root if none was accepted). */
  bonus: number;
}

export function verifyTree(tree: DraftTree, logits: Float32Array, vocab: number, sampler: Sampler): Verdict {
  const path: number[] = [];
  // The row's history includes the tokens accepted so far in this step (penalties, per node).
  const pending: number[] = [];
  let node = -1;
  for (;;) {
    const token = sampler.pick(logits, (node + 1) * vocab, vocab, pending);
    const child = childWithToken(tree, node, token);
    if (child < 0) return { path, bonus: token };
    path.push(child);
    pending.push(token);
    node = child;
  }
}

/**
 * `verifyTree` when each row's choice is its argmax and the model read back only those ids, one a
 * row (decode/plain.ts `choosesFromIds`): the same walk.
 */
export function verifyTreeArgmax(tree: DraftTree, argmax: Int32Array): Verdict {
  const path: number[] = [];
  let node = -1;
  for (;;) {
    const token = argmax[node + 1]!;
    const child = childWithToken(tree, node, token);
    if (child < 0) return { path, bonus: token };
    path.push(child);
    node = child;
  }
}

/** The first `k` of each row's `width` top ids (a drafter's candidates), row-major. */
export function topPrefix(top: Int32Array, rows: number, width: number, k: number): Int32Array {
  if (k === width) return top;
  const out = new Int32Array(rows * k);
  for (let r = 0; r < rows; r++) out.set(top.subarray(r * width, r * width + k), r * k);
  return out;
}

/** The child of `parent` carrying `token`, or -1. Children come after their parent in the arrays. */
function childWithToken(tree: DraftTree, parent: number, token: number): number {
  for (let i = parent + 1; i < tree.size; i++) {
    if (tree.parents[i] === parent && tree.tokens[i] === token) return i;
  }
  return -1;
}

/**
 * The first root-to-leaf chain of a tree (first child at every level): what is verified when the
 * model's graph could not be given tree attention, since a chain needs only the causal mask.
 */
export function firstChain(tree: DraftTree): DraftTree {
  const keep: number[] = [];
  let parent = -1;
  for (let i = 0; i < tree.size; i++) {
    if (tree.parents[i] === parent) {
      keep.push(i);
      parent = i;
    }
  }
  const n = keep.length;
  const out: DraftTree = { size: n, tokens: new Int32Array(n), parents: new Int32Array(n), depths: new Int32Array(n) };
  keep.forEach((src, i) => {
    out.tokens[i] = tree.tokens[src]!;
    out.parents[i] = i - 1;
    out.depths[i] = i + 1;
  });
  if (tree.sources) out.sources = Uint8Array.from(keep.map((k) => tree.sources![k]!));
  return out;
}

/** Top-k ids of every logits row, row-major (what drafters learn from). */
export function topKRows(logits: Float32Array, rows: number, vocab: number, k: number): Int32Array {
  const out = new Int32Array(rows * k);
  const vals = new Float32Array(k);
  for (let r = 0; r < rows; r++) {
    const off = r * vocab;
    vals.fill(-Infinity);
    const ids = out.subarray(r * k, r * k + k).fill(-1);
    for (let v = 0; v < vocab; v++) {
      const x = logits[off + v]!;
      if (x <= vals[k - 1]!) continue;
      let j = k - 1;
      while (j > 0 && vals[j - 1]! < x) {
        vals[j] = vals[j - 1]!;
        ids[j] = ids[j - 1]!;
        j--;
      }
      vals[j] = x;
      ids[j] = v;
    }
  }
  return out;
}
