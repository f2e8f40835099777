/**
 * The model in a worker: the server's thread keeps the HTTP app, the queue and the tokenizer; the
 * worker loads the model and the drafters and runs one generation at a time. A forward (a prefill
 * chunk of hundreds of ms on a big prompt) then never delays /health, admission, SSE pings or a
 * disconnect. Runtime-free: an adapter creates the worker and hands both ends an `Endpoint`.
 *
 * Aborts cross through a SharedArrayBuffer, not a message: onnxruntime-web's `run` settles through
 * microtasks only, so a worker busy generating would read no message until the generation ended.
 * The worker checks the flag before every forward.
 */
import type { TextMeta } from "../engine/speculative.ts";
import { EdgespecError, type ErrorCode } from "../errors.ts";
import type { Host } from "../host.ts";
import type { ModelSpec } from "../model/config.ts";
import type { LoadedModel } from "../model/load.ts";
import { modelView } from "../model/model-view.ts";
import { TextCodec, type TokenizerFiles } from "../model/tokenizer.ts";
import { ApiError } from "./api-error.ts";
import { type ModelFacts, modelIdentity, type ModelRunner, type OnText, type RunJob, type RunOutcome } from "./model-runner.ts";
import { type SetupData, setUp } from "../setup.ts";

/** One side of a worker channel: what Web Workers and node:worker_threads both give. */
export interface Endpoint {
  post(message: unknown): void;
  /** Every message from the other side; `onFailure` when the other side died (main side only). */
  listen(onMessage: (message: unknown) => void, onFailure?: (error: Error) => void): void;
  /** Ends the worker (main side only). */
  terminate?(): void;
}

/** What the worker sets up (src/setup.ts): `model` is the folder the main side resolved. */
export type WorkerLoad = SetupData;

type ErrorData = { message: string; code?: string };

type ToWorker = { type: "init"; load: WorkerLoad; abortFlag: SharedArrayBuffer } | { type: "run"; id: number; job: RunJob } | { type: "close" };

type FromWorker =
  | { type: "progress"; message: string }
  | { type: "ready"; dir: string; spec: ModelSpec; tokenizer: TokenizerFiles; kernels: string; identity: string }
  | { type: "load_failed"; error: ErrorData }
  | { type: "text"; id: number; text: string; meta: TextMeta }
  | { type: "done"; id: number; outcome: RunOutcome }
  | { type: "failed"; id: number; error: ErrorData }
  | { type: "closed" };

function errorData(e: unknown): ErrorData {
  if (e instanceof EdgespecError) return { message: e.message, code: e.code };
  return { message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

/** An error from the worker as the main side throws it: EdgespecErrors keep their code (and status). */
function fromData(d: ErrorData): Error {
  return d.code ? new EdgespecError(d.code as ErrorCode, d.message) : new Error(`in the model worker: ${d.message}`);
}

/** `model` with a check before every forward: an abort requested for the running job ends it. */
function abortable(model: LoadedModel, check: () => void): LoadedModel {
  return modelView(model, (inner) => ({
    forward: (tokens, positions, cache, opts) => (check(), inner.forward(tokens, positions, cache, opts)),
    forwardLast: (tokens, positions, cache, k, from) => (check(), inner.forwardLast!(tokens, positions, cache, k, from)),
    forwardTop: (tokens, positions, cache, withTopK, opts) => (check(), inner.forwardTop!(tokens, positions, cache, withTopK, opts)),
  }));
}

export interface WorkerOptions {
  /** A view of the loaded model that generations run on (tests slow its forwards down). */
  wrapModel?: (model: LoadedModel) => LoadedModel;
  /**
   * Called after each generation. A worker that is always busy gives its runtime no idle time to
   * collect garbage in, so its heap (verify rows are megabytes each) grows between collections;
   * the adapter passes its runtime's collector.
   */
  afterRun?: () => void;
}

/** The worker's side: waits for `init`, loads, then runs jobs in the order they come. */
export function serveModelWorker(host: Host, endpoint: Endpoint, opts: WorkerOptions = {}): void {
  const send = (m: FromWorker) => endpoint.post(m);
  let runner: ModelRunner | undefined;
  let flag: Int32Array | undefined;
  let current: { id: number; controller: AbortController } | undefined;
  let queue: Promise<void> = Promise.resolve();
  const check = () => {
    if (current && flag && Atomics.load(flag, 0) === current.id) current.controller.abort(new DOMException("aborted", "AbortError"));
  };

  async function init(load: WorkerLoad): Promise<void> {
    try {
      const setup = await setUp(host, { ...load, onProgress: (e) => e.phase === "note" && send({ type: "progress", message: e.message }) });
      const { model } = setup;
      // Jobs run one at a time in this worker: the curve is timed before the first (prepare).
      runner = setup.runner({ view: (m) => abortable(opts.wrapModel?.(m) ?? m, check), yieldToEventLoop: false, prepare: true });
      const tokenizer = { tokenizerJson: model.tokenizer.json, tokenizerConfig: model.tokenizer.config };
      send({ type: "ready", dir: model.dir, spec: model.lm.spec, tokenizer, kernels: setup.kernels.name, identity: runner.facts.identity ?? modelIdentity(model) });
    } catch (e) {
      send({ type: "load_failed", error: errorData(e) });
    }
  }

  async function run(id: number, job: RunJob): Promise<void> {
    current = { id, controller: new AbortController() };
    try {
      check();
      const outcome = await runner!.run(job, current.controller.signal, (text, meta) => send({ type: "text", id, text, meta }));
      send({ type: "done", id, outcome });
    } catch (e) {
      send({ type: "failed", id, error: errorData(e) });
    } finally {
      current = undefined;
      opts.afterRun?.();
    }
  }

  endpoint.listen((raw) => {
    const m = raw as ToWorker;
    if (m.type === "init") {
      flag = new Int32Array(m.abortFlag);
      queue = queue.then(() => init(m.load));
    } else if (m.type === "run") {
      queue = queue.then(() => run(m.id, m.job));
    } else if (m.type === "close") {
      queue = queue.then(async () => {
        await runner?.close();
        send({ type: "closed" });
      });
    }
  });
}

export interface WorkerRunnerOptions {
  onProgress?: (message: string) => void;
  /** Which drafter kernels the worker started ("wasm" or "ts"). */
  onReady?: (info: { kernels: string }) => void;
}

/**
 * The main side: sends `init`, and resolves with a runner once the worker has loaded the model
 * (rejects with the load error). A worker that dies fails its running job; later jobs get 503.
 */
export function workerRunner(endpoint: Endpoint, load: WorkerLoad, opts: WorkerRunnerOptions = {}): Promise<ModelRunner> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  let nextId = 1;
  const jobs = new Map<number, { resolve: (o: RunOutcome) => void; reject: (e: Error) => void; onText?: OnText }>();
  let dead: Error | undefined;
  let closing = false;
  let closed: (() => void) | undefined;
  let settleLoad!: { resolve: (r: ModelRunner) => void; reject: (e: Error) => void };
  const loaded = new Promise<ModelRunner>((resolve, reject) => (settleLoad = { resolve, reject }));

  const runner = (facts: ModelFacts): ModelRunner => ({
    facts,
    run(job, signal, onText) {
      if (dead) return Promise.reject(new ApiError(503, `the model worker stopped: ${dead.message}`, "server_error", null, "model_worker_failed"));
      const id = nextId++;
      return new Promise<RunOutcome>((resolve, reject) => {
        const onAbort = () => Atomics.store(flag, 0, id);
        signal.addEventListener("abort", onAbort, { once: true });
        const done = () => signal.removeEventListener("abort", onAbort);
        jobs.set(id, { resolve: (o) => (done(), resolve(o)), reject: (e) => (done(), reject(e)), onText });
        endpoint.post({ type: "run", id, job } satisfies ToWorker);
        if (signal.aborted) onAbort();
      });
    },
    failure: () => (closing ? undefined : dead),
    async close() {
      closing = true;
      if (!dead) {
        const ended = new Promise<void>((resolve) => (closed = resolve));
        endpoint.post({ type: "close" } satisfies ToWorker);
        await ended;
      }
      endpoint.terminate?.();
    },
  });

  endpoint.listen(
    (raw) => {
      const m = raw as FromWorker;
      switch (m.type) {
        case "progress":
          opts.onProgress?.(m.message);
          break;
        case "ready":
          opts.onReady?.({ kernels: m.kernels });
          settleLoad.resolve(runner({ dir: m.dir, spec: m.spec, tokenizer: new TextCodec(m.tokenizer), identity: m.identity }));
          break;
        case "load_failed":
          endpoint.terminate?.();
          settleLoad.reject(fromData(m.error));
          break;
        case "text":
          jobs.get(m.id)?.onText?.(m.text, m.meta);
          break;
        case "done":
          jobs.get(m.id)?.resolve(m.outcome);
          jobs.delete(m.id);
          break;
        case "failed":
          jobs.get(m.id)?.reject(fromData(m.error));
          jobs.delete(m.id);
          break;
        case "closed":
          closed?.();
          break;
      }
    },
    (error) => {
      dead = error;
      settleLoad.reject(new EdgespecError("model_invalid", `the model worker stopped while loading: ${error.message}`));
      for (const job of jobs.values()) job.reject(new Error(`the model worker stopped: ${error.message}`));
      jobs.clear();
      closed?.();
    },
  );
  endpoint.post({ type: "init", load, abortFlag: flag.buffer as SharedArrayBuffer } satisfies ToWorker);
  return loaded;
}
