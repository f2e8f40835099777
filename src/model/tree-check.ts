/**
 * A load-time check that a backend's kernels honour a fused-attention tree rewrite. The rewrite
 * feeds GroupQueryAttention its optional position_ids and attention_bias inputs; the WASM (CPU)
 * kernels use both, but a backend may ignore them (onnxruntime-web's JSEP WebGPU kernel does),
 * and then tree verification would be silently wrong. So before tree mode is offered for such a
 * layout, one small tree is verified against plain decoding of its paths on the same session.
 *
 * The tree has siblings, so both failure modes show: a node placed at its index instead of its
 * depth, or a node that sees its sibling. Rows differ by whole logits when either input is
 * ignored (measured: 7.8 on llvmpipe); the bound leaves room for float16 kernels.
 */
import type { LanguageModel } from "./causal-lm.ts";

/** Largest |tree row - path row| accepted: a few float16 ulps at |logit| ~ 16. */
const ROW_BOUND = 0.05;

export interface TreeCheck {
  ok: boolean;
  /** Largest |difference| between a tree node's logits and its path's plain logits. */
  worst: number;
}

export async function checkTreeAttention(lm: LanguageModel): Promise<TreeCheck> {
  const V = lm.spec.vocabSize;
  const tok = (k: number) => (V > 300 ? 100 + 37 * k : k) % V;
  const past = [tok(0), tok(1), tok(2)];
  const root = tok(3);
  // Nodes after the root: a (child of root), b (child of root, a's sibling), c (child of a).
  const [a, b, c] = [tok(4), tok(5), tok(6)];
  const P = past.length;
  const paths = [[a], [b], [a, c]];
  const T = P + 4;
  const bias = new Float32Array(4 * T).fill(-Infinity);
  const sees = (row: number, cols: number[]) => cols.forEach((col) => (bias[row * T + col] = 0));
  const pastCols = past.map((_, i) => i);
  sees(0, [...pastCols, P]);
  sees(1, [...pastCols, P, P + 1]);
  sees(2, [...pastCols, P, P + 2]);
  sees(3, [...pastCols, P, P + 1, P + 3]);
  const cache = lm.newCache();
  await lm.forward(past, pastCols, cache);
  const tree = await lm.forward([root, a, b, c], [P, P + 1, P + 1, P + 2], cache, { attentionBias: bias });
  let worst = 0;
  for (const [k, path] of paths.entries()) {
    const seq = [...past, root, ...path];
    const fresh = lm.newCache();
    const plain = await lm.forward(seq, seq.map((_, i) => i), fresh);
    fresh.release?.();
    const off = (seq.length - 1) * V;
    for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(tree[(k + 1) * V + v]! - plain[off + v]!));
  }
  cache.release?.();
  return { ok: worst <= ROW_BOUND, worst };
}
