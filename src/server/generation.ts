/**
 * POST /v1/completions and /v1/chat/completions: validate, encode and check the prompt against the
 * context, take a place in the model's queue (429 when full), then answer in one JSON body or as
 * an SSE stream. A request's lifetime ends when its client disconnects or its deadline passes;
 * either aborts the generation at its next step (or takes it out of the queue).
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { SpecResult } from "../engine/spec-stats.ts";
import type { ModelFacts } from "./model-runner.ts";
import { checkParams } from "../decode/params.ts";
import { ApiError, invalidParam, toApiError } from "./api-error.ts";
import { type BodyLimits, readJsonObject } from "./body.ts";
import { chatPromptIds } from "./chat.ts";
import { chatLogprobs, completionLogprobs, type TokenText } from "./logprobs.ts";
import { chatBody, chunkBody, combineResults, type CompletionChoice, completionBody, finishReason, newIds, type ResponseIds, timings, usageChunk } from "./openai.ts";
import { type GenerationRequest, parseChat, parseCompletion, type RequestLimits } from "./requests.ts";
import { type RequestLog, RequestRecord } from "./request-log.ts";
import type { AbortReason, GenerationJob, ModelService, Slot } from "./service.ts";

export interface GenerationConfig {
  body: BodyLimits;
  limits: RequestLimits;
  drafters: readonly string[];
  defaultDrafter: string;
  /** New tokens when a request sets no max_tokens (clipped to the context's room). */
  defaultMaxTokens: number;
  budget: number | "auto";
  /** Per-request deadline from arrival, in ms; 0 = none. */
  deadlineMs: number;
  /** SSE comment pings when a stream has been quiet this long (queue waits, long prefills). */
  pingMs: number;
  log: (line: string) => void;
  /** One structured line per generation request (request-log.ts); none when absent. */
  requestLog?: RequestLog;
}

/** Aborts a request's work on client disconnect or deadline, remembering which came first. */
class Lifetime {
  private readonly controller = new AbortController();
  reason: AbortReason | undefined;
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onClientAbort = () => this.abort("disconnect");

  constructor(private readonly client: AbortSignal, deadlineMs: number) {
    if (deadlineMs > 0) this.timer = setTimeout(() => this.abort("deadline"), deadlineMs);
    if (client.aborted) this.abort("disconnect");
    else client.addEventListener("abort", this.onClientAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason: AbortReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller.abort(new DOMException(reason, "AbortError"));
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.client.removeEventListener("abort", this.onClientAbort);
  }
}

function deadlineError(): ApiError {
  return new ApiError(504, "the request's deadline passed before generation finished", "timeout_error", null, "deadline_exceeded");
}

/**
 * Prompt ids and the token budget for the engine, or a 400 that gives the token counts. `prompt`:
 * the completions prompt (one of a batch: `at` says which, in messages). max_tokens 0 (echo only)
 * runs the prompt's forward alone (prompt-pass.ts); the prompt still needs room for one token.
 */
function plan(model: ModelFacts, req: GenerationRequest, prompt: string | number[] | undefined, defaultMaxTokens: number, at?: number): { ids: number[]; maxTokens: number } {
  const ctx = model.spec.contextLength;
  const promptParam = req.kind === "chat" ? "messages" : "prompt";
  const which = at === undefined ? "" : `prompt ${at}: `;
  // A prompt that cannot fit is refused before tokenizing it (a 1 MB prompt would hold the event
  // loop for seconds): its text alone has at least minTokens tokens. One that could fit is
  // tokenized (its text is then at most a context's worth of tokens long) and checked exactly
  // below, so a max_tokens too large for any prompt is blamed on max_tokens, with the counts.
  const text = req.kind === "chat" ? req.messages.map((m) => m.content).join("") : typeof prompt === "string" ? prompt : "";
  const atLeast = model.tokenizer.minTokens(text);
  if (atLeast + 1 > ctx) {
    throw new ApiError(
      400,
      `${which}This model's maximum context length is ${ctx} tokens. However, the prompt alone has at least ${atLeast} tokens${req.maxTokens ? ` (and ${req.maxTokens} were requested for the completion)` : ""}.`,
      "invalid_request_error",
      promptParam,
      "context_length_exceeded",
    );
  }
  let ids: number[];
  if (req.kind === "chat") {
    ids = chatPromptIds(model.tokenizer, req.messages);
  } else if (typeof prompt === "string") {
    ids = model.tokenizer.encode(prompt, true);
  } else {
    const V = model.spec.vocabSize;
    const bad = prompt!.find((t) => t >= V);
    if (bad !== undefined) throw new ApiError(400, `${which}token id ${bad} is outside the vocabulary (size ${V})`, "invalid_request_error", "prompt", "invalid_token");
    ids = prompt!;
  }
  if (ids.length === 0) throw invalidParam(promptParam, `${which}the prompt is empty`);
  // The field the client sent (max_completion_tokens or max_tokens), or the prompt when it sent
  // none or asked for no new tokens.
  const param = req.maxTokens === undefined || req.maxTokens === 0 ? promptParam : (req.maxTokensField ?? "max_tokens");
  const maxTokens = req.maxTokens === 0 ? 1 : (req.maxTokens ?? Math.min(defaultMaxTokens, ctx - ids.length));
  if (ids.length + maxTokens > ctx || maxTokens < 1) {
    throw new ApiError(
      400,
      `${which}This model's maximum context length is ${ctx} tokens. However, you requested ${ids.length + Math.max(maxTokens, 1)} tokens (${ids.length} in the prompt, ${Math.max(maxTokens, 1)} for the completion).`,
      "invalid_request_error",
      param,
      "context_length_exceeded",
    );
  }
  return { ids, maxTokens: req.maxTokens === 0 ? 0 : maxTokens };
}

/**
 * Positions in `ids` (a text prompt encoded with the tokenizer's special tokens) of the tokens the
 * tokenizer added itself that are no text (a BOS): echo's logprobs leave them out.
 */
function addedTokens(model: ModelFacts, prompt: string, ids: readonly number[]): Set<number> {
  const hidden = new Set<number>();
  const plain = model.tokenizer.encode(prompt, false);
  const extra = ids.length - plain.length;
  for (let lead = 0; lead <= extra; lead++) {
    if (!plain.every((t, i) => ids[lead + i] === t)) continue;
    ids.forEach((id, i) => {
      if ((i < lead || i >= lead + plain.length) && model.tokenizer.decode([id]) === "") hidden.add(i);
    });
    break;
  }
  return hidden;
}

/** echo: the prompt as the client sent it (text), or its tokens' text; with logprobs, which tokens to leave out. */
function echoOf(model: ModelFacts, prompt: string | number[], ids: number[], withTokens: boolean): NonNullable<CompletionChoice["echo"]> {
  if (typeof prompt !== "string") return { text: model.tokenizer.decode(ids), ids }; // ids are reported as sent
  return { text: prompt, ids, ...(withTokens ? { hidden: addedTokens(model, prompt, ids) } : {}) };
}

/**
 * A prediction's ids: tokenized as text (special-token strings in it are text, as in chat
 * content), after the same cheap size bound as prompts — a prediction longer than the context
 * could never be copied.
 */
function predictionIds(model: ModelFacts, text: string): number[] {
  const ctx = model.spec.contextLength;
  const atLeast = model.tokenizer.minTokens(text);
  if (atLeast > ctx) throw invalidParam("prediction", `the prediction has at least ${atLeast} tokens; this model's context is ${ctx}`);
  return model.tokenizer.encodePlain(text);
}

/** A token's own text, for logprobs. */
function tokenText(model: ModelFacts): TokenText {
  return (id) => model.tokenizer.decode([id]); // special tokens (a BOS the server added) are not text
}

export async function handleGeneration(c: Context, kind: "completion" | "chat", engine: ModelService, cfg: GenerationConfig): Promise<Response> {
  const sink = cfg.requestLog;
  if (!sink) return respond(c, kind, engine, cfg);
  const rec = new RequestRecord(kind, c.get("requestId"));
  try {
    const res = await respond(c, kind, engine, cfg, rec);
    if (!rec.stream) sink(rec.entry(res.status)); // a stream logs itself when it ends
    return res;
  } catch (e) {
    const err = toApiError(e);
    sink(rec.entry(err.status, err.body.error.code ?? err.body.error.type));
    throw e;
  }
}

async function respond(c: Context, kind: "completion" | "chat", engine: ModelService, cfg: GenerationConfig, rec?: RequestRecord): Promise<Response> {
  const body = await readJsonObject(c.req.raw, cfg.body);
  const req = kind === "chat" ? parseChat(body, cfg.limits, cfg.drafters) : parseCompletion(body, cfg.limits, cfg.drafters);
  // Ready first: while loading, the served model's name may not be known yet.
  const model = engine.requireModel();
  if (req.model !== engine.id) {
    throw new ApiError(404, `The model "${req.model}" does not exist (this server serves "${engine.id}")`, "invalid_request_error", "model", "model_not_found");
  }
  // A completions batch (a list of prompts): each checked now, run one after another below.
  const prompts: (string | number[] | undefined)[] = req.kind === "chat" ? [undefined] : req.prompts;
  const plans = prompts.map((p, i) => plan(model, req, p, cfg.defaultMaxTokens, prompts.length > 1 ? i : undefined));
  checkParams({ logitBias: req.penalties.logitBias }, invalidParam, model.spec.vocabSize);
  const echoes = req.kind === "completion" && req.echo ? plans.map((p, i) => echoOf(model, prompts[i]!, p.ids, req.logprobs !== undefined)) : undefined;
  const prediction = req.prediction === undefined ? undefined : predictionIds(model, req.prediction);
  const slot = engine.reserve(plans.length); // 429 here, before any response is started
  const life = new Lifetime(c.req.raw.signal, cfg.deadlineMs);
  const drafterName = req.drafter ?? cfg.defaultDrafter;
  const jobs: GenerationJob[] = plans.map(({ ids, maxTokens }) => ({ ids, maxTokens, temperature: req.temperature, topP: req.topP, topK: req.topK, seed: req.seed, penalties: req.penalties, logprobs: req.logprobs, promptLogprobs: echoes !== undefined, stop: req.stop, stopAtEos: !req.ignoreEos, drafter: drafterName, budget: cfg.budget, signal: life.signal, ...(prediction ? { prediction } : {}) }));
  const rid = newIds(kind, engine.id, engine.fingerprint);
  if (rec) rec.id = rid.id;
  // The prompts of a batch run one after another, each taking its turn in the queue: after one,
  // the model goes to a request that came meanwhile (if any) and the batch's next prompt waits
  // behind it, so a one-prompt request never waits for a whole batch of up to maxPrompts.
  const results: SpecResult[] = [];
  const run = async (job: GenerationJob, onText?: Parameters<ModelService["generate"]>[3]): Promise<SpecResult> => {
    const queued = performance.now();
    try {
      await slot.acquire(life.signal);
    } finally {
      if (rec) (rec.queueMs = (rec.queueMs ?? 0) + performance.now() - queued), (rec.aborted = life.reason);
    }
    const result = await engine.generate(slot, job, () => life.reason, onText);
    results.push(result);
    if (rec) (rec.result = combineResults(results)), (rec.aborted = life.reason);
    if (slot.remaining > 0 && !life.reason) slot.pass();
    return result;
  };
  if (req.stream) {
    if (rec) rec.stream = true;
    return stream(c, kind, rid, req.includeUsage, engine, slot, life, jobs, run, cfg, echoes?.map((e) => e.text), rec);
  }
  try {
    for (const job of jobs) {
      await run(job);
      if (life.reason === "deadline") throw deadlineError();
      if (life.reason) break;
    }
    // The client left mid-generation: the partial answer has no reader; counted as one that left the queue is.
    if (life.reason === "disconnect") return c.body(null, 499 as never);
    if (kind === "chat") return c.json(chatBody(rid, results[0]!, tokenText(model)));
    return c.json(completionBody(rid, results.map((result, i) => ({ result, echo: echoes?.[i] })), tokenText(model)));
  } catch (e) {
    if (life.reason === "deadline") throw deadlineError();
    if (life.reason === "disconnect") {
      // Nobody is listening; answer something small and count it as such.
      return c.body(null, 499 as never);
    }
    throw e;
  } finally {
    if (life.reason && !slot.granted) engine.metrics.aborted.add({ reason: life.reason });
    slot.release();
    life.dispose();
  }
}

function stream(
  c: Context,
  kind: "completion" | "chat",
  ids: ResponseIds,
  includeUsage: boolean,
  engine: ModelService,
  slot: Slot,
  life: Lifetime,
  jobs: readonly GenerationJob[],
  run: (job: GenerationJob, onText: Parameters<ModelService["generate"]>[3]) => Promise<SpecResult>,
  cfg: GenerationConfig,
  echoes?: readonly string[],
  rec?: RequestRecord,
): Response {
  return streamSSE(c, async (sse) => {
    sse.onAbort(() => life.abort("disconnect"));
    let lastWrite = Date.now();
    // Writes are chained, not awaited inside onText (the engine calls it synchronously); the model
    // is released before the tail is flushed, so a slow reader never holds it.
    let pending: Promise<void> = Promise.resolve();
    const write = (text: string) => {
      lastWrite = Date.now();
      pending = pending.then(() => (sse.aborted ? undefined : sse.write(text).then(() => {})));
    };
    const send = (obj: unknown) => write(`data: ${JSON.stringify(obj)}\n\n`);
    const ping = setInterval(() => {
      if (Date.now() - lastWrite >= cfg.pingMs) write(": ping\n\n");
    }, Math.max(10, Math.floor(cfg.pingMs / 2)));
    const text_ = tokenText(engine.model!);
    let failure: string | undefined; // an error sent as the stream's last event
    try {
      if (kind === "chat") send(chunkBody(kind, ids, { role: true, text: "" }));
      // A completions batch: each prompt's choice streams in turn (its chunks carry its index),
      // ending in its finish chunk; one usage chunk (the sum) and one [DONE] close the stream.
      const results: SpecResult[] = [];
      for (const [index, job] of jobs.entries()) {
        let sent = 0; // characters of this choice streamed so far (completions' text_offset)
        const echo = echoes?.[index];
        if (echo !== undefined) {
          send(chunkBody(kind, ids, { text: echo, index }));
          sent += echo.length;
        }
        const result = await run(job, (text, meta) => {
          if (sse.aborted) return;
          const lps = meta.logprobs && (kind === "chat" ? chatLogprobs(meta.logprobs, text_) : completionLogprobs(meta.logprobs, text_, sent));
          sent += text.length;
          send(chunkBody(kind, ids, { text, source: meta.source, index, ...(lps ? { logprobs: lps } : {}) }));
        });
        if (index === jobs.length - 1) slot.release();
        if (life.reason === "deadline") throw deadlineError();
        if (life.reason) return;
        results.push(result);
        send(chunkBody(kind, ids, { finish: finishReason(result), timings: timings(result), index }));
      }
      if (includeUsage) send(usageChunk(kind, ids, combineResults(results)));
      write("data: [DONE]\n\n");
    } catch (e) {
      if (life.reason === "disconnect") return;
      const err = life.reason === "deadline" ? deadlineError() : toApiError(e);
      failure = err.body.error.code ?? err.body.error.type;
      // Internal faults are logged; refusals the service made on purpose (shutdown) are not.
      if (err.status >= 500 && !(life.reason === "deadline") && !(e instanceof ApiError)) cfg.log(`stream failed: ${(e as Error)?.stack ?? e}`);
      send(err.body);
    } finally {
      if (life.reason && !slot.granted) engine.metrics.aborted.add({ reason: life.reason });
      clearInterval(ping);
      slot.release();
      life.dispose();
      if (!sse.aborted) await pending;
      if (rec) rec.aborted = life.reason;
      if (rec && cfg.requestLog) cfg.requestLog(rec.entry(200, failure));
    }
  });
}
