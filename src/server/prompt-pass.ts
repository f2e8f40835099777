/**
 * Completions' scoring form (`echo` with `max_tokens: 0`): the prompt's forward alone, with its
 * tokens' logprobs when asked for, and no token generated. The engine's generate() takes at least
 * one new token (0 is refused there: TokenOutput, PARAM_RULES.maxTokens), and running one only to
 * drop it counted a generated token in /metrics and spent a decode on nothing.
 *
 * The prompt is prefilled as generate() prefills it (decode/prefill.ts, on the same view of the
 * model, rows read only when its logprobs are wanted) and its logprobs come from the same
 * promptLogprobsOf, so the echoed logprobs are the ones a generation of the same prompt reports.
 */
import { promptLogprobsOf } from "../decode/plain.ts";
import { prefillLast, prefillRows } from "../decode/prefill.ts";
import type { TokenLogprob } from "../decode/sampler.ts";
import { noTokensResult, type SpecResult } from "../engine/spec-stats.ts";
import type { LoadedModel } from "../model/load.ts";

/** What of a RunJob (model-runner.ts, which calls this: hence not imported) the prompt's pass reads. */
export interface PromptPassJob {
  ids: number[];
  temperature: number;
  logprobs?: number;
  promptLogprobs?: boolean;
  prediction?: number[];
}

export async function promptPass(model: LoadedModel, job: PromptPassJob, signal: AbortSignal): Promise<SpecResult> {
  const { lm } = model;
  const wantRows = job.promptLogprobs === true && job.logprobs !== undefined;
  // Aborted while it waited: no forward at all (as generate() does).
  const aborted = signal.aborted;
  let promptLogprobs: (TokenLogprob | null)[] | undefined;
  let prefillMs = 0;
  if (!aborted) {
    const cache = lm.newCache();
    try {
      const t0 = performance.now();
      if (wantRows || !lm.forwardLast) {
        const rows = await prefillRows(lm, job.ids, cache);
        if (wantRows) promptLogprobs = promptLogprobsOf(rows, job.ids, lm.spec.vocabSize, { temperature: job.temperature, logprobs: job.logprobs });
      } else {
        await prefillLast(lm, job.ids, cache, 0);
      }
      prefillMs = performance.now() - t0;
    } finally {
      cache.release?.(); // GPU buffers are freed whatever happened
    }
  }
  const result = noTokensResult(model, job.ids.length, {
    finishReason: aborted ? "abort" : "length",
    prefillMs,
    withLogprobs: job.logprobs !== undefined,
    // Predicted Outputs: none of the prediction appeared, since nothing was generated.
    ...(job.prediction ? { prediction: { acceptedTokens: 0, rejectedTokens: job.prediction.length } } : {}),
  });
  return promptLogprobs ? { ...result, promptLogprobs } : result;
}
