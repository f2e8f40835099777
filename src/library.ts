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
import type { Hono } from "hono";
import { generate, type SpecOptions } from "./engine/speculative.ts";
import type { SpecResult, SpecStats } from "./engine/spec-stats.ts";
import { MAX_TOP_LOGPROBS, shownValue } from "./decode/params.ts";
import { decodeRate, decodedTokens } from "./decode/plain.ts";
import { EdgespecError } from "./errors.ts";
import { errorInLibraryTerms, inLibraryTerms } from "./option-names.ts";
import type { Host } from "./host.ts";
import type { LoadedModel } from "./model/load.ts";
import { type AppOptions, createApp } from "./server/app.ts";
import { type ProgressEvent, setUp, type SetupOptions } from "./setup.ts";
import { ModelService } from "./server/service.ts";
import { chatPromptIds } from "./server/chat.ts";
import type { ModelRunner } from "./server/model-runner.ts";
import { yieldingEvery } from "./server/yielding-model.ts";
import { type ChatMessage, checkChatRole } from "./model/chat-messages.ts";

export type { ChatMessage, SpecResult };

/**
 * What `open` takes: the model (folder or shipped name), dtype, device, threads, the drafter every
 * generation uses ("hybrid" by default, "none" = plain), a drafter registry with your own, the
 * drafter kernels ("auto" | "wasm" | "ts"), a corpus, and progress events.
 */
export type OpenOptions = SetupOptions;
export type { ProgressEvent };

/** Totals over this LM's finished generations, and the last one's full stats. */
export interface LMStats {
  generations: number;
  tokens: number;
  /** Seconds, summed (prefill and decoding, queueing not). */
  seconds: number;
  /** Tokens per second of decoding (prefill aside), as each generation's stats.tokensPerSecond. */
  tokensPerSecond: number;
  /** Tokens per verification step over all generations, the prefill's first token aside (1 = speculation gained nothing). */
  meanAcceptedLength: number;
  last?: SpecStats;
}

/** What one generation takes: the engine's options, with the drafter fixed at open and the prediction as text. */
export type GenerateParams = Omit<SpecOptions, "verify" | "drafter" | "onText" | "prediction" | "promptLogprobs" | "costModel"> & {
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
  /** Frees the session and the drafter; later calls (its runner's too) are refused with `not_ready`. */
  close(): Promise<void>;
  /** The drafter every generation uses ("none" for plain decoding). */
  readonly drafter: string;
  /** What the generations so far have done. */
  readonly stats: LMStats;
  /** The kernels this LM's drafters run on: "wasm" (an instance of its own) or "ts". */
  readonly kernels: string;
  /**
   * This LM as the HTTP server runs it (edgespecApp): its generations wait in the same queue as
   * generate/stream/chat, so the model's session is never run twice at once.
   */
  readonly runner: ModelRunner;
}

/** How long a library generation may hold the event loop between two of its forwards. */
const YIELD_EVERY_MS = 10;

/**
 * Every option generate/stream/chat take. Any other is refused, not ignored: the wire's
 * `max_tokens` for `maxTokens` gave 256 tokens, and an engine option that is not the library's
 * (`drafter`, `verify`) went through to the engine. `satisfies` holds the list to GenerateParams'
 * keys, both ways (tsc; test/ci/typecheck.test.ts).
 */
const GENERATE_PARAMS = {
  maxTokens: true,
  temperature: true,
  topP: true,
  topK: true,
  minP: true,
  seed: true,
  stop: true,
  stopAtEos: true,
  logitBias: true,
  repetitionPenalty: true,
  presencePenalty: true,
  frequencyPenalty: true,
  logprobs: true,
  budget: true,
  signal: true,
  prediction: true,
} satisfies Record<keyof GenerateParams, true>;

/** An option name that is not GenerateParams', with the one meant where it is a snake_case spelling of one. */
function unknownOption(key: string): string {
  const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const meant = camel !== key && camel in GENERATE_PARAMS ? ` (did you mean ${camel}?)` : "";
  return `unknown option "${key}"${meant}; the options are ${Object.keys(GENERATE_PARAMS).join(", ")}`;
}

/** What is wrong with a call's arguments, which TypeScript callers cannot get wrong and JavaScript ones can. */
function wrongCall(prompt: unknown, params: unknown): string | undefined {
  if (typeof prompt !== "string" && !Array.isArray(prompt)) return `the prompt must be text or an array of token ids, got ${prompt === null ? "null" : typeof prompt}`;
  if (typeof params !== "object" || params === null) return `the options must be an object, got ${params === null ? "null" : typeof params}`;
  for (const key of Object.keys(params)) if (!Object.hasOwn(GENERATE_PARAMS, key)) return unknownOption(key);
  const signal: unknown = (params as GenerateParams).signal;
  if (signal !== undefined && !(typeof signal === "object" && signal !== null && typeof (signal as AbortSignal).aborted === "boolean" && typeof (signal as AbortSignal).addEventListener === "function")) {
    return `signal must be an AbortSignal, got ${signal === null ? "null" : typeof signal}`;
  }
  const prediction = (params as GenerateParams).prediction;
  if (prediction !== undefined && typeof prediction !== "string") return `prediction must be text, got ${typeof prediction}`;
  // The engine takes any number here (-1 gave no alternatives, 5000 the whole vocabulary, "3" three):
  // the server's bound (chat's top_logprobs), checked as the other numbers are.
  const logprobs: unknown = (params as GenerateParams).logprobs;
  if (logprobs !== undefined && !(typeof logprobs === "number" && Number.isInteger(logprobs) && logprobs >= 0 && logprobs <= MAX_TOP_LOGPROBS)) {
    return `logprobs must be an integer from 0 to ${MAX_TOP_LOGPROBS} (alternatives per token), got ${shownValue(logprobs)}`;
  }
  return undefined;
}

/** Throws invalid_argument unless `messages` are chat messages: the server's role rule (model/chat-messages.ts), text content. */
function checkMessages(messages: unknown): asserts messages is readonly ChatMessage[] {
  const wrong = (message: string) => new EdgespecError("invalid_argument", message);
  if (!Array.isArray(messages)) throw wrong(`chat takes an array of messages ({ role, content }), got ${messages === null ? "null" : typeof messages}`);
  messages.forEach((m: unknown, i) => {
    if (typeof m !== "object" || m === null) throw wrong(`messages[${i}] must be an object ({ role, content }), got ${m === null ? "null" : typeof m}`);
    const { role, content } = m as Record<string, unknown>;
    checkChatRole(role, (message) => wrong(`messages[${i}]: ${message}`));
    if (typeof content !== "string") throw wrong(`messages[${i}].content must be text, got ${content === null ? "null" : typeof content}`);
  });
}

/** What every call on a closed LM gets, through lm.generate/stream/chat and its runner (edgespecApp) alike. */
const closedError = () => new EdgespecError("not_ready", "this LM is closed");

export async function openWith(host: Host, options: OpenOptions = {}): Promise<LM> {
  if (typeof options !== "object" || options === null) throw new EdgespecError("invalid_argument", `open takes an options object, got ${options === null ? "null" : typeof options}`);
  // The load's messages name the CLI's flags; a library user set options (option-names.ts).
  const { onProgress } = options;
  const inTerms = onProgress ? { onProgress: (e: ProgressEvent) => onProgress({ ...e, message: inLibraryTerms(e.message) }) } : {};
  const setup = await setUp(host, { ...options, ...inTerms }).catch((e: unknown) => {
    throw errorInLibraryTerms(e);
  });
  const { model, defaultDrafter: drafterName } = setup;
  const drafter = setup.drafter(drafterName);
  // Every generation on this LM counts, its app's requests (runner) included.
  const totals = { generations: 0, tokens: 0, seconds: 0, decodeMs: 0, decoded: 0, steps: 0, last: undefined as SpecStats | undefined };
  const count = (r: SpecResult): SpecResult => {
    totals.generations++;
    totals.tokens += r.stats.tokens;
    totals.seconds += r.stats.seconds;
    totals.decodeMs += r.stats.decodeMs;
    // As each generation's rate and meanAcceptedLength: the tokens after the first (the prefill's).
    totals.decoded += decodedTokens(r.stats.tokens);
    totals.steps += r.stats.steps;
    totals.last = r.stats;
    return r;
  };
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  /** `work` after every call made before it (one session, one generation at a time). */
  const enqueue = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };
  // Generations let the event loop in every few milliseconds: an AbortSignal.timeout or a
  // setTimeout that aborts would otherwise fire only after the whole generation.
  const stepping = yieldingEvery(model, YIELD_EVERY_MS);
  const run = (prompt: string | readonly number[], params: GenerateParams, onText?: (t: string) => void): Promise<SpecResult> => {
    if (closed) return Promise.reject(closedError());
    const wrong = wrongCall(prompt, params);
    if (wrong) return Promise.reject(new EdgespecError("invalid_argument", wrong));
    const { prediction, ...rest } = params;
    const opts: SpecOptions = { ...rest, ...(drafter ? { drafter } : {}), ...(onText ? { onText } : {}), ...(prediction ? { prediction: model.tokenizer.encodePlain(prediction) } : {}) };
    return enqueue(() => generate(stepping, prompt, opts).then(count));
  };
  // The server's own in-thread runner over this model and its drafters, its runs in this LM's queue.
  const inThread = setup.runner({ yieldToEventLoop: false, view: () => stepping });
  const runner: ModelRunner = {
    facts: inThread.facts,
    run(job, signal, onText) {
      if (closed) return Promise.reject(closedError());
      return enqueue(() => inThread.run(job, signal, onText).then((o) => (count(o.result), o)));
    },
    // The LM's owner closes it (lm.close()); an app serving it does not.
    close: async () => {},
  };
  return {
    model,
    drafter: drafter ? drafterName : "none",
    kernels: setup.kernels.name,
    runner,
    get stats(): LMStats {
      const { generations, tokens, seconds, decodeMs, decoded, steps, last } = totals;
      return {
        generations,
        tokens,
        seconds,
        // Over the decode time, as a generation's own figure: over `seconds` (prefill included) one
        // generation's lm.stats said 283 tok/s where its stats said 569.
        tokensPerSecond: Math.round(decodeRate(decoded, decodeMs) * 10) / 10,
        meanAcceptedLength: steps > 0 ? Math.round((decoded / steps) * 100) / 100 : 0,
        ...(last ? { last } : {}),
      };
    },
    generate: (prompt, params = {}) => run(prompt, params),
    // async: whatever the checks or the template throw is a rejection; run() is still called at
    // once, so the call keeps its place in the queue.
    async chat(messages, params = {}) {
      if (closed) throw closedError();
      checkMessages(messages);
      return run(chatPromptIds(model.tokenizer, messages), params);
    },
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
      await setup.close();
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
