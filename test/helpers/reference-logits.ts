/** The reference model's logits against the training framework's (test/fixtures/reference-logits.json). */
import type { LanguageModel } from "../../src/model/causal-lm.ts";
import fixture from "../fixtures/reference-logits.json";

/** Largest |logit - PyTorch's logit| over the fixture's positions, from one forward of its ids. */
export async function worstAgainstReference(lm: LanguageModel): Promise<number> {
  const ids = fixture.input_ids;
  const V = lm.spec.vocabSize;
  const logits = await lm.forward(ids, ids.map((_, i) => i), lm.newCache());
  let worst = 0;
  fixture.positions.forEach((p, r) => {
    for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(logits[p * V + v]! - fixture.logits[r]![v]!));
  });
  return worst;
}
