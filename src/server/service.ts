/**
 * ModelService owns one loaded model and runs one generation at a time on it (onnxruntime sessions
 * are not re-entrant). Requests wait in a bounded FIFO queue; beyond the bound they are refused at
 * once with 429 and a Retry-After estimated from recent generation times and the generations ahead.
 * A request of several generations (a completions batch) takes its turn once per generation: between
 * two of them it goes to the back of the line, so a request that came meanwhile runs in between
 * instead of waiting for the whole batch. A request whose client goes away or whose deadline passes
 * leaves the queue, or stops its generation at the next step.
 */
import { hash64 } from "../drafters/fingerprint.ts";
import type { SpecResult } from "../engine/spec-stats.ts";
import type { LoadedModel } from "../model/load.ts";
import { ApiError } from "./api-error.ts";
import { VERSION } from "../version.ts";
import { baseName } from "../paths.ts";
import { Metrics } from "./metrics.ts";
import { type DrafterFor, inProcessRunner, type ModelFacts, type ModelRunner, type OnText, type RunJob, type RunOutcome } from "./model-runner.ts";

export interface ServiceOptions {
  /** Requests that may wait while one generates; more are refused with 429. Default 16. */
  maxQueue?: number;
  /** Name in /v1/models and the `model` field; default: the model directory's last segment. */
  modelId?: string;
  /** For a LoadedModel run in this thread: the drafter a request's name stands for. */
  drafterFor?: DrafterFor;
}

export type AbortReason = "disconnect" | "deadline";

/** A generation as the HTTP layer hands it over: the job, and the request's lifetime. */
export interface GenerationJob extends RunJob {
  signal: AbortSignal;
}

/** A request's place in line for the model: granted at once or after the requests ahead of it. */
export class Slot {
  /** The model is this request's now (for its current generation). */
  granted = false;
  released = false;
  /** Has held the model: a request under way (a batch between two prompts), not one waiting to start. */
  started = false;
  grant!: () => void;
  /** Ends the wait with an error (the server is shutting down). */
  refuse!: (err: ApiError) => void;
  turn!: Promise<void>;

  /** `remaining`: the request's generations not yet run (its prompts), what a wait estimate counts. */
  constructor(
    private readonly service: ModelService,
    public remaining: number,
  ) {
    this.nextTurn();
  }

  /** A new wait: the first, or the next one of a request that passed the model on. */
  nextTurn(): void {
    this.granted = false;
    this.turn = new Promise<void>((resolve, reject) => {
      this.grant = resolve;
      this.refuse = reject;
    });
    this.turn.catch(() => {}); // a refusal before acquire() is reported by acquire()
  }

  /** Resolves when the model is this request's; rejects (and leaves the queue) if `signal` aborts first. */
  async acquire(signal: AbortSignal): Promise<void> {
    if (this.granted) return;
    if (signal.aborted) {
      this.release();
      throw signal.reason;
    }
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        this.release();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([this.turn, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Between two generations of one request: the model goes to the request first in line, if any,
   * and this one waits behind every request queued so far (acquire() again before the next).
   */
  pass(): void {
    this.service.pass(this);
  }

  /** Frees the model (or the place in line). Safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.service.leave(this);
  }
}

function shuttingDown(): ApiError {
  return new ApiError(503, "the server is shutting down; retry on another instance or later", "server_error", null, "server_shutting_down", { connection: "close" });
}

export class ModelService {
  readonly metrics = new Metrics();
  /** What requests are checked against, once the model is loaded. */
  model: ModelFacts | undefined;
  private runner: ModelRunner | undefined;
  loadError: Error | undefined;
  readonly ready: Promise<void>;
  readonly maxQueue: number;
  private readonly waiting: Slot[] = [];
  private holder: Slot | undefined;
  private modelId: string | undefined;
  /** Seconds per generation, smoothed: the basis of Retry-After. */
  private meanSeconds = 1;
  /** Set by drain(): no request is taken any more. */
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  private fingerprintOf: { basis: string; value: string } | undefined;

  /** A LoadedModel runs in this thread (yielding between forwards); a ModelRunner may run anywhere. */
  constructor(model: LoadedModel | ModelRunner | Promise<LoadedModel | ModelRunner>, private readonly opts: ServiceOptions = {}) {
    this.maxQueue = opts.maxQueue ?? 16;
    if (!Number.isInteger(this.maxQueue) || this.maxQueue < 0) throw new RangeError(`maxQueue must be an integer >= 0, got ${opts.maxQueue}`);
    this.modelId = opts.modelId;
    const take = (m: LoadedModel | ModelRunner) => {
      this.runner = "run" in m ? m : inProcessRunner(m, { drafterFor: opts.drafterFor });
      this.model = this.runner.facts;
      this.metrics.ready = true;
    };
    // A model already loaded is ready now, not a microtask later (its name included).
    if (!(model instanceof Promise)) take(model);
    this.ready = Promise.resolve(model).then(
      (m) => (this.runner ? undefined : take(m)),
      (e: unknown) => {
        this.loadError = e instanceof Error ? e : new Error(String(e));
      },
    );
  }

  /**
   * OpenAI's system_fingerprint: `fp_` and 10 hex digits of a hash of edgespec's version, the served
   * name and the loaded model's identity (ModelFacts.identity), so it changes when any of them does
   * and never between two requests to one server.
   */
  get fingerprint(): string {
    const basis = JSON.stringify([VERSION, this.id, this.model?.identity ?? this.model?.spec ?? null]);
    if (this.fingerprintOf?.basis !== basis) this.fingerprintOf = { basis, value: `fp_${hash64(basis).slice(0, 10)}` };
    return this.fingerprintOf.value;
  }

  get id(): string {
    if (this.modelId) return this.modelId;
    return baseName(this.model?.dir ?? "") || "edgespec";
  }

  /** Why a loaded model can no longer run (its worker died), if it cannot. */
  get failure(): Error | undefined {
    return this.runner?.failure?.();
  }

  /** The loaded model, or a 503 while it loads (or if it failed to, or its worker died). */
  requireModel(): ModelFacts {
    const failed = this.failure;
    if (failed) throw new ApiError(503, `the model stopped: ${failed.message}`, "server_error", null, "model_worker_failed");
    if (this.model) return this.model;
    if (this.loadError) throw new ApiError(503, `the model failed to load: ${this.loadError.message}`, "server_error", null, "model_load_failed");
    throw new ApiError(503, "the model is still loading", "server_error", null, "model_not_ready", { "Retry-After": "1" });
  }

  /**
   * Graceful shutdown: queued requests and any new one get 503 server_shutting_down; resolves
   * when the running generation (if any) has ended, so its response can finish.
   */
  drain(): Promise<void> {
    this.draining = true;
    // A batch between two prompts is a running request: it keeps its place and finishes.
    const refused = this.waiting.filter((s) => !s.started);
    this.waiting.splice(0, this.waiting.length, ...this.waiting.filter((s) => s.started));
    for (const slot of refused) slot.refuse(shuttingDown());
    this.metrics.queued = 0;
    if (!this.holder) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Requests waiting to start: what the queue's bound counts (a batch between prompts is already admitted). */
  private get queuedRequests(): number {
    return this.waiting.reduce((n, s) => n + (s.started ? 0 : 1), 0);
  }

  /** Generations the model has ahead of a new request: every admitted request's remaining ones. */
  private get generationsAhead(): number {
    return this.waiting.reduce((n, s) => n + s.remaining, this.holder?.remaining ?? 0);
  }

  /**
   * Takes a place in line for a request of `generations` generations (a completions batch: one per
   * prompt), or refuses with 429 when the queue is full. Never waits.
   */
  reserve(generations = 1): Slot {
    if (!Number.isSafeInteger(generations) || generations < 1) throw new RangeError(`a request runs at least one generation, got ${generations}`);
    this.requireModel();
    if (this.draining) throw shuttingDown();
    const slot = new Slot(this, generations);
    if (!this.holder) {
      this.give(slot);
      return slot;
    }
    const queued = this.queuedRequests;
    if (queued >= this.maxQueue) {
      this.metrics.rejected.add({ reason: "queue_full" });
      // Until the work admitted so far is done: a queued batch of 20 prompts is 20 generations.
      const ahead = this.generationsAhead;
      const wait = Math.max(1, Math.ceil(ahead * this.meanSeconds));
      throw new ApiError(429, `the server is busy (${queued} requests queued, ${ahead} generations ahead); retry later`, "rate_limit_error", null, "queue_full", { "Retry-After": String(wait) });
    }
    this.waiting.push(slot);
    this.metrics.queued = this.queuedRequests;
    return slot;
  }

  /** Called by Slot.pass. */
  pass(slot: Slot): void {
    if (this.holder !== slot || slot.released) throw new Error("pass called without holding the model");
    const next = this.waiting.shift();
    if (!next) return; // nobody waits: the request keeps the model
    slot.nextTurn();
    this.waiting.push(slot);
    this.give(next);
    this.metrics.queued = this.queuedRequests;
  }

  /** Called by Slot.release. */
  leave(slot: Slot): void {
    if (this.holder === slot) {
      this.holder = undefined;
      this.metrics.running = 0;
      const next = this.waiting.shift();
      if (next) this.give(next);
    } else {
      const i = this.waiting.indexOf(slot);
      if (i >= 0) this.waiting.splice(i, 1);
    }
    this.metrics.queued = this.queuedRequests;
    if (this.draining && !this.holder) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private give(slot: Slot): void {
    this.holder = slot;
    slot.granted = true;
    slot.started = true;
    this.metrics.running = 1;
    slot.grant();
  }

  /** Runs one generation; the caller must hold a granted slot. */
  async generate(slot: Slot, job: GenerationJob, abortReason: () => AbortReason | undefined, onText?: OnText): Promise<SpecResult> {
    if (!slot.granted || slot.released || this.holder !== slot) throw new Error("generate called without holding the model");
    this.requireModel();
    const { signal, ...run } = job;
    const t0 = performance.now();
    let outcome: RunOutcome;
    try {
      outcome = await this.runner!.run(run, signal, onText);
    } finally {
      slot.remaining = Math.max(0, slot.remaining - 1);
    }
    const { result, steps } = outcome;
    this.meanSeconds = 0.8 * this.meanSeconds + 0.2 * ((performance.now() - t0) / 1000);
    this.metrics.recordGeneration(result.stats, steps);
    if (result.finishReason === "abort") this.metrics.aborted.add({ reason: abortReason() ?? "disconnect" });
    return result;
  }

  /** Frees the model (a worker's too). Call after drain(). */
  async close(): Promise<void> {
    await this.ready;
    await this.runner?.close();
  }
}
