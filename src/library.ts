/**
 * The library's front door, runtime-free: `openWith(host, options)` loads a model and its drafter
 * once and returns an `LM` to generate, stream and chat with. Each runtime's entry
 * (adapters/<runtime>/index.ts) binds its Host, so users write `open({ model })`.
 *
 *   const lm = await open({ model: "edgespec-tiny" });
 *   for await (const text of lm.stream("def add(a, b):", { maxTokens: 32 })) process.stdout.write(text);
 *   await lm.close();
 *
 * Generations on one LM run one at a time (a queue, in call order): the model's session and the
 * drafter's tables are shared, as in the server.
 */
import type { ManagedDrafter } from "./drafters/index.ts";
import { builtinDrafters, type DrafterRegistry } from "./drafters/registry.ts";
import { buildDrafter, startKernels } from "./engine/drafting.ts";
import type { Hono } from "hono";
import { generate, type SpecOptions, type SpecResult } from "./engine/speculative.ts";
import { EdgespecError } from "./errors.ts";
import type { Host } from "./host.ts";
import { type LoadedModel, loadModel, type LoadOptions } from "./model/load.ts";
import { resolveModelDir } from "./model/shipped.ts";
import { type AppOptions, createApp } from "./server/app.ts";
import { ModelService } from "./server/service.ts";
import { chatPromptIds } from "./server/chat.ts";
import { inProcessRunner, type ModelRunner } from "./server/model-runner.ts";
import type { ChatMessage } from "./server/requests.ts";

export type { ChatMessage, SpecResult };

export interface OpenOptions extends Omit<LoadOptions, "onProgress"> {
  /** A model folder, or a shipped model's name; default: the host's default model. */
  model?: string;
  /** The drafter every generation on this LM uses: a name in `drafters` (default "hybrid"; "none" = plain). */
  drafter?: string;
  /** Where drafter names are found: builtinDrafters() (default), to which your own can be added. */
  drafters?: DrafterRegistry;
  /** Load progress, as events. */
  onProgress?: (event: ProgressEvent) => void;
}

/**
 * Load progress: `read` after each weight file (bytes so far of the total, where the runtime can
 * tell file sizes), `session` while onnxruntime builds the session, `note` for a line meant for
 * people (a fallback taken, the load time), `ready` once the model and drafter are ready.
 */
export interface ProgressEvent {
  phase: "read" | "session" | "note" | "ready";
  message: string;
  file?: string;
  loadedBytes?: number;
  totalBytes?: number;
}

/** What one generation takes: the engine's options, with the drafter fixed at open and the prediction as text. */
export type GenerateParams = Omit<SpecOptions, "verify" | "drafter" | "onText" | "prediction" | "promptLogprobs"> & {
  /** Text the answer is expected to copy (Predicted Outputs): drafted first, verified like any draft. */
  prediction?: string;
};

export interface LM {
  /** The loaded model (tokenizer, numbers, backend). */
  readonly model: LoadedModel;
  /** The whole answer, with stats. */
  generate(prompt: string | readonly number[], params?: GenerateParams): Promise<SpecResult>;
  /** The answer as text pieces, as they are decided. */
  stream(prompt: string | readonly number[], params?: GenerateParams): AsyncIterable<string>;
  /** An answer to chat messages, through the model's chat template. */
  chat(messages: readonly ChatMessage[], params?: GenerateParams): Promise<SpecResult>;
  /** Frees the session and the drafter; later calls are errors. */
  close(): Promise<void>;
  /** The drafter every generation uses ("none" for plain decoding). */
  readonly drafter: string;
  /**
   * This LM as the HTTP server runs it (edgespecApp): its generations wait in the same queue as
   * generate/stream/chat, so the model's session is never run twice at once.
   */
  readonly runner: ModelRunner;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export async function openWith(host: Host, options: OpenOptions = {}): Promise<LM> {
  const { model: name, drafter: drafterName = "hybrid", drafters = builtinDrafters(), onProgress, ...load } = options;
  // A wrong drafter name fails before the model loads.
  if (!drafters.names.includes(drafterName)) throw new EdgespecError("invalid_argument", `unknown drafter "${drafterName}"`, { validOptions: drafters.names });
  const dir = await resolveModelDir(host, name);
  const model = await loadModel(host, dir, {
    ...load,
    onProgress: (message) => onProgress?.({ phase: "note", message }),
    onEvent: (e) => {
      if (e.phase === "read") onProgress?.({ ...e, message: `read ${e.file} (${mb(e.loadedBytes)}${e.totalBytes ? ` of ${mb(e.totalBytes)}` : ""})` });
      else if (e.phase === "session") onProgress?.({ phase: "session", message: `building the ${e.device} session…` });
    },
  });
  await startKernels(host);
  const drafter: ManagedDrafter | undefined = buildDrafter(model, { name: drafterName }, drafters);
  onProgress?.({ phase: "ready", message: `${dir} ready (${model.lm.info.backend}, ${model.lm.info.dtype}, drafter ${drafterName})` });
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  /** `work` after every call made before it (one session, one generation at a time). */
  const enqueue = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };
  const run = (prompt: string | readonly number[], params: GenerateParams, onText?: (t: string) => void): Promise<SpecResult> => {
    if (closed) return Promise.reject(new EdgespecError("invalid_argument", "this LM is closed"));
    const { prediction, ...rest } = params;
    const opts: SpecOptions = { ...rest, ...(drafter ? { drafter } : {}), ...(onText ? { onText } : {}), ...(prediction ? { prediction: model.tokenizer.encodePlain(prediction) } : {}) };
    return enqueue(() => generate(model, prompt, opts));
  };
  // The server's own in-thread runner over this model and drafter, its runs in this LM's queue.
  const inThread = inProcessRunner(model, { drafterFor: () => drafter, yieldToEventLoop: false });
  const runner: ModelRunner = {
    facts: inThread.facts,
    run(job, signal, onText) {
      if (closed) return Promise.reject(new EdgespecError("not_ready", "this LM is closed"));
      return enqueue(() => inThread.run(job, signal, onText));
    },
    // The LM's owner closes it (lm.close()); an app serving it does not.
    close: async () => {},
  };
  return {
    model,
    drafter: drafter ? drafterName : "none",
    runner,
    generate: (prompt, params = {}) => run(prompt, params),
    chat: (messages, params = {}) => run(chatPromptIds(model.tokenizer, messages), params),
    stream(prompt, params = {}) {
      return {
        [Symbol.asyncIterator]() {
          const pieces: string[] = [];
          let wake: (() => void) | undefined;
          let done = false;
          let failure: unknown;
          // Leaving the loop early (break, return, throw) stops the generation at its next step.
          const stop = new AbortController();
          run(prompt, { ...params, signal: params.signal ? AbortSignal.any([params.signal, stop.signal]) : stop.signal }, (t) => {
            pieces.push(t);
            wake?.();
          }).then(
            () => ((done = true), wake?.()),
            (e) => ((failure = e), (done = true), wake?.()),
          );
          return {
            async next(): Promise<IteratorResult<string>> {
              while (pieces.length === 0 && !done) await new Promise<void>((r) => (wake = r));
              if (pieces.length > 0) return { value: pieces.shift()!, done: false };
              if (failure) throw failure;
              return { value: undefined, done: true };
            },
            async return(): Promise<IteratorResult<string>> {
              stop.abort();
              done = true;
              return { value: undefined, done: true };
            },
          };
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue;
      drafter?.dispose();
      await model.lm.dispose();
    },
  };
}

/**
 * The OpenAI-compatible app over an open LM, to serve alone or mount in any Hono app:
 * `app.route("/llm", edgespecApp(lm))`. Requests may ask for the LM's drafter or "none"; its
 * generations share the LM's queue. Options are createApp's (API key, CORS, limits…) and the
 * queue's bound.
 */
export function edgespecApp(lm: LM, options: AppOptions & { maxQueue?: number; modelId?: string } = {}): Hono {
  const { maxQueue, modelId, ...app } = options;
  const engine = new ModelService(lm.runner, { maxQueue, modelId });
  return createApp({ engine, options: { drafters: [lm.drafter], defaultDrafter: lm.drafter, ...app } });
}
