/**
 * The verify cost curve of each loaded model, shared by its requests: one per read-back, since a
 * step's cost includes what it reads back (cost-model.ts StepReadBack). Timed up front where a
 * server or a chat can afford it (prepareCostCurve), else learned from the requests' own steps.
 */
import type { LanguageModel } from "../model/causal-lm.ts";
import { greedyReadBack, type StepReadBack, VerifyCostModel } from "./cost-model.ts";

/** Per model, a curve per read-back (cost-model.ts StepReadBack): a step's cost includes what it reads back. */
const costModels = new WeakMap<LanguageModel, Partial<Record<StepReadBack, VerifyCostModel | Promise<VerifyCostModel>>>>();

/**
 * The verify cost curve of a model's steps that read back `readBack` (default: what its greedy
 * steps read), one per loaded model and shared by its requests: timed up front if
 * prepareCostCurve ran for it, else learned from the requests' own steps (VerifyCostModel.learned).
 */
export function verifyCostModel(lm: LanguageModel, readBack: StepReadBack = greedyReadBack(lm)): VerifyCostModel | Promise<VerifyCostModel> {
  const curves = curvesOf(lm);
  return (curves[readBack] ??= VerifyCostModel.learned());
}

function curvesOf(lm: LanguageModel): Partial<Record<StepReadBack, VerifyCostModel | Promise<VerifyCostModel>>> {
  let curves = costModels.get(lm);
  if (!curves) costModels.set(lm, (curves = {}));
  return curves;
}

/**
 * Times `lm`'s verify cost curve now, for the steps greedy requests make (reading back ids where
 * the model has the in-graph heads), before its first speculative request (about a second or two
 * on WASM, warm-up included): what a server or a chat can afford while it waits, and worth it
 * there, since the first requests' trees are then sized on warm, complete timings. Steps that read
 * back logits (sampling, logprobs, penalties) learn theirs. Does nothing once the model has that
 * curve. Settles when done; a failure leaves the learned curve. The caller must keep other
 * forwards on `lm` from overlapping it (one session runs one at a time).
 */
export function prepareCostCurve(lm: LanguageModel): Promise<void> {
  const readBack = greedyReadBack(lm);
  const curves = curvesOf(lm);
  if (curves[readBack]) return Promise.resolve();
  const timed = VerifyCostModel.measure(lm, { readBack }).catch(() => VerifyCostModel.learned());
  curves[readBack] = timed;
  return timed.then(() => undefined);
}
