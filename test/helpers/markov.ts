/**
 * A language model small enough to know exactly: a first-order Markov chain over a few tokens.
 * Row r of its logits depends only on the token fed at r, so tree verification needs no masks and
 * the probability of any continuation is a product of table entries.
 */
import type { ForwardOptions, LanguageModel, ModelInfo, SequenceCache } from "../../src/model/causal-lm.ts";
import type { ModelSpec } from "../../src/model/config.ts";

class LengthOnlyCache implements SequenceCache {
  length = 0;
  truncate(n: number): void {
    this.length = n;
  }
  keep(positions: ArrayLike<number>): void {
    this.length = positions.length;
  }
}

export class MarkovModel implements LanguageModel {
  readonly spec: ModelSpec;
  readonly info: ModelInfo = { backend: "wasm", dtype: "fp32", file: "markov", inputNames: [], layout: { inputs: [], outputs: [], kvType: "float32", kvIo: "append", positions: "input", externalFiles: [], attention: "decomposed" }, treeAttention: { enabled: true }, int8Activations: false };

  /** `logits[a][b]`: logit of b following a. */
  constructor(readonly logits: number[][]) {
    const V = logits.length;
    this.spec = { modelType: "markov", vocabSize: V, numLayers: 0, numKvHeads: 0, headDim: 0, contextLength: 1 << 20, bosTokenId: undefined, eosTokenIds: [] };
  }

  newCache(): SequenceCache {
    return new LengthOnlyCache();
  }

  async forward(tokens: ArrayLike<number>, _positions: ArrayLike<number>, cache: SequenceCache, _opts?: ForwardOptions): Promise<Float32Array> {
    const V = this.spec.vocabSize;
    const out = new Float32Array(tokens.length * V);
    for (let r = 0; r < tokens.length; r++) out.set(this.logits[tokens[r]!]!, r * V);
    (cache as LengthOnlyCache).length += tokens.length;
    return out;
  }

  /** Exact probability of `seq` following `prev` at temperature 1. */
  probability(prev: number, seq: readonly number[]): number {
    let p = 1;
    for (const t of seq) {
      const row = this.logits[prev]!;
      const z = row.reduce((a, x) => a + Math.exp(x), 0);
      p *= Math.exp(row[t]!) / z;
      prev = t;
    }
    return p;
  }

  async dispose(): Promise<void> {}
}
