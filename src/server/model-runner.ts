/**
 * What the server needs of a loaded model, split in two: the facts it checks requests against
 * (tokenizer, context, vocabulary) and a `run` verb that performs one generation. A runner is
 * either the model in this thread (`inProcessRunner`, the edge bundle and tests) or a proxy for one
 * loaded in a worker (`model-worker.ts`, the CLI's server), so the event loop that answers
 * /health, admission and SSE pings never waits for a forward.
 */
import type { Drafter } from "../drafters/types.ts";
import { generate, type TextMeta } from "../engine/speculative.ts";
import { prepareCostCurve } from "../engine/cost-curves.ts";
import type { SpecResult } from "../engine/spec-stats.ts";
import type { ModelSpec } from "../model/config.ts";
import type { LoadedModel } from "../model/load.ts";
import type { TextCodec } from "../model/tokenizer.ts";
import { baseName } from "../paths.ts";
import { DraftLog } from "./draft-log.ts";
import { promptPass } from "./prompt-pass.ts";
import type { DraftStep } from "./metrics.ts";
import type { SamplingRequest } from "./requests.ts";
import { yielding } from "./yielding-model.ts";

export interface ModelFacts {
  dir: string;
  tokenizer: TextCodec;
  spec: ModelSpec;
  /**
   * What sets this loaded model's outputs apart from another's (modelIdentity): responses'
   * system_fingerprint hashes it with edgespec's version. Absent: the spec alone stands for it.
   */
  identity?: string;
}

/**
 * The loaded model as it computes: architecture, graph file and dtype, backend and where its KV
 * cache lives, int8 activations, unpacked 4-bit weights, and its tokenizer. Not the folder's path
 * (the same model served from two places computes the same) and not the weights' bytes (hashing
 * hundreds of MB would slow every load); the served name, which the service adds, tells fine-tunes
 * of one architecture apart.
 */
export function modelIdentity(model: LoadedModel): string {
  const info = model.lm.info;
  return JSON.stringify({
    spec: model.lm.spec,
    file: baseName(info.file),
    dtype: info.dtype,
    backend: info.backend,
    kvCache: info.kvCache ?? "cpu",
    int8Activations: info.int8Activations,
    unpackedWeights: info.unpackedWeights?.layers ?? 0,
    tokenizer: model.tokenizer.fingerprint,
  });
}

/** One generation, as data: what a worker can be sent (no functions, no signal). */
export interface RunJob {
  ids: number[];
  /** 0: the prompt's forward alone, nothing generated (completions' echo scoring: prompt-pass.ts). */
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed?: number;
  penalties: SamplingRequest["penalties"];
  /** Alternatives per token when logprobs were asked for; unset = no logprobs. */
  logprobs?: number;
  /** With logprobs: the prompt tokens' too (completions' echo). */
  promptLogprobs?: boolean;
  stop: string[];
  stopAtEos: boolean;
  /** A drafter name the runner knows; "none" or unset = plain decoding. */
  drafter?: string;
  budget: number | "auto";
  /** Predicted Outputs: ids the answer is expected to copy. */
  prediction?: number[];
}

export interface RunOutcome {
  result: SpecResult;
  /** Accepted draft tokens per verification step (for /metrics). */
  steps: DraftStep[];
}

export type OnText = (chunk: string, meta: TextMeta) => void;

export interface ModelRunner {
  readonly facts: ModelFacts;
  /** Runs one generation; aborting `signal` ends it at the next step (finishReason "abort"). */
  run(job: RunJob, signal: AbortSignal, onText?: OnText): Promise<RunOutcome>;
  /** Frees the model (and its drafters); runs no job after. */
  close(): Promise<void>;
  /** Why the model can no longer run (its worker died); undefined while it can. */
  failure?(): Error | undefined;
}

/**
 * The drafter for a name, fresh per run or shared: the caller decides what memory is kept. It may
 * first read what the drafter starts from (a model's shipped assets are read on first use).
 */
export type DrafterFor = (name: string) => Drafter | undefined | Promise<Drafter | undefined>;

export interface InProcessOptions {
  drafterFor?: DrafterFor;
  /**
   * Let the event loop run before every forward (default true): in the server's own thread a
   * generation would otherwise hold it for its whole length (see yielding-model.ts).
   */
  yieldToEventLoop?: boolean;
  /** Also called by close() (drafters to dispose). */
  onClose?: () => void | Promise<void>;
  /**
   * Time the model's verify cost curve now (about a second on WASM, its warm-up included:
   * cost-model.ts), so the first requests' trees are sized on a whole, warm curve rather than on
   * one learned from their own steps. Runs wait for it, so no forward overlaps it.
   */
  prepare?: boolean;
}

export interface InProcessRunner extends ModelRunner {
  /** Settles once the `prepare` timing is over (at once without it); close waits for it too. */
  readonly prepared: Promise<void>;
}

export function inProcessRunner(model: LoadedModel, opts: InProcessOptions = {}): InProcessRunner {
  const served = opts.yieldToEventLoop === false ? model : yielding(model);
  const drafterFor = opts.drafterFor ?? (() => undefined);
  const prepared = opts.prepare ? prepareCostCurve(served.lm) : Promise.resolve();
  return {
    prepared,
    facts: { dir: model.dir, tokenizer: model.tokenizer, spec: model.lm.spec, identity: modelIdentity(model) },
    async run(job, signal, onText) {
      await prepared;
      if (job.maxTokens === 0) return { result: await promptPass(served, job, signal), steps: [] };
      const inner = job.drafter && job.drafter !== "none" ? await drafterFor(job.drafter) : undefined;
      const log = inner ? new DraftLog(inner) : undefined;
      const result = await generate(served, job.ids, {
        maxTokens: job.maxTokens,
        temperature: job.temperature,
        topP: job.topP,
        topK: job.topK,
        ...job.penalties,
        logprobs: job.logprobs,
        promptLogprobs: job.promptLogprobs,
        seed: job.seed,
        stop: job.stop,
        stopAtEos: job.stopAtEos,
        signal,
        drafter: log,
        budget: job.budget,
        prediction: job.prediction,
        onText,
      });
      return { result, steps: log?.steps ?? [] };
    },
    async close() {
      await prepared;
      await opts.onClose?.();
      await model.lm.dispose();
    },
  };
}
