/**
 * The additive attention bias for verifying a draft tree in one forward pass.
 *
 * The forward feeds S = 1 + tree.size tokens: the root (the last accepted token, not yet in the
 * KV cache) followed by the tree's nodes in order. Row r of the bias covers keys [0, past + S):
 * every cached position and the row's own root-to-node path are 0, everything else -Infinity.
 */
import type { DraftTree } from "../drafters/types.ts";

export function treeAttentionBias(tree: DraftTree, past: number): Float32Array {
  const s = tree.size + 1;
  return writeTreeBias(new Float32Array(s * (past + s)), tree, past);
}

/**
 * Tree biases built into one buffer that grows as needed, for a decode loop: a step's bias is a
 * view of it, valid until the next `build` (the forward that reads it has returned by then). A
 * fresh array per step would be allocated and zeroed as well as written: at 800 tokens of context
 * a 32-node tree's bias is 100 KiB.
 */
export class TreeBiasBuffer {
  private buffer = new Float32Array(0);

  build(tree: DraftTree, past: number): Float32Array {
    const s = tree.size + 1;
    const n = s * (past + s);
    if (this.buffer.length < n) this.buffer = new Float32Array(Math.max(n, 2 * this.buffer.length));
    return writeTreeBias(this.buffer.subarray(0, n), tree, past);
  }
}

/** Writes every entry of `bias` (s x (past + s)): each is written once, whatever it held. */
function writeTreeBias(bias: Float32Array, tree: DraftTree, past: number): Float32Array {
  const s = tree.size + 1;
  const total = past + s;
  for (let r = 0; r < s; r++) {
    const row = r * total;
    bias.fill(0, row, row + past + 1); // the cache and the root
    bias.fill(-Infinity, row + past + 1, row + total);
    // Walk up from node r-1 to the root, opening each ancestor's column (and its own).
    for (let n = r - 1; n >= 0; n = tree.parents[n]!) bias[row + past + 1 + n] = 0;
  }
  return bias;
}

/** Positions of the fed tokens: the root at `past`, each node at past + depth. */
export function treePositions(tree: DraftTree, past: number): Int32Array {
  const pos = new Int32Array(tree.size + 1);
  pos[0] = past;
  for (let i = 0; i < tree.size; i++) pos[i + 1] = past + tree.depths[i]!;
  return pos;
}
