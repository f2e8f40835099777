/**
 * The load-time tree check (src/model/tree-check.ts) on the reference model: it passes where the
 * tree inputs are honoured, and fails for a model that ignores the tree bias or the per-node
 * positions, as onnxruntime-web's WebGPU GroupQueryAttention kernel does.
 */
import { expect, test } from "bun:test";
import type { ForwardOptions, LanguageModel, SequenceCache } from "../../src/model/causal-lm.ts";
import { checkTreeAttention } from "../../src/model/tree-check.ts";
import { referenceModel } from "../helpers/model.ts";

/** The reference model with one of the tree inputs dropped on the way in. */
function ignoring(lm: LanguageModel, what: "bias" | "positions"): LanguageModel {
  return {
    spec: lm.spec,
    info: lm.info,
    newCache: () => lm.newCache(),
    dispose: () => lm.dispose(),
    forward(tokens: ArrayLike<number>, positions: ArrayLike<number>, cache: SequenceCache, opts?: ForwardOptions) {
      if (what === "bias") return lm.forward(tokens, positions, cache, {});
      return lm.forward(tokens, Array.from(positions, (_, i) => cache.length + i), cache, opts);
    },
  };
}

test("honoured tree inputs pass with rows equal to their paths'; an ignored bias or ignored positions fail", async () => {
  const { lm } = await referenceModel("fp32");
  const ok = await checkTreeAttention(lm);
  expect(ok).toEqual({ ok: true, worst: expect.any(Number) });
  expect(ok.worst).toBeLessThan(1e-4);
  for (const what of ["bias", "positions"] as const) {
    const r = await checkTreeAttention(ignoring(lm, what));
    expect({ what, ok: r.ok }).toEqual({ what, ok: false });
    expect(r.worst).toBeGreaterThan(0.05);
  }
});
