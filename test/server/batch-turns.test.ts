/**
 * ModelService's queue with requests of several generations (a completions batch), on a runner
 * that needs no model: each generation takes its own turn, Retry-After counts the generations
 * ahead, and a shutdown lets a batch that has started finish while it refuses the queued requests.
 */
import { describe, expect, test } from "bun:test";
import type { SpecResult } from "../../src/engine/spec-stats.ts";
import type { ModelSpec } from "../../src/model/config.ts";
import type { TextCodec } from "../../src/model/tokenizer.ts";
import { ApiError } from "../../src/server/api-error.ts";
import type { ModelRunner } from "../../src/server/model-runner.ts";
import { type GenerationJob, ModelService, type Slot } from "../../src/server/service.ts";

/** What the service reads of a result (metrics), nothing more. */
const RESULT = {
  text: "",
  tokens: [],
  finishReason: "length",
  stats: { promptTokens: 1, tokens: 1, prefillMs: 0, decodeMs: 0, tokensPerSecond: 0, steps: 0, draftedTokens: 0, acceptedTokens: 0, perDrafter: {} },
} as unknown as SpecResult;

const runner: ModelRunner = {
  facts: { dir: "/models/fake", tokenizer: {} as TextCodec, spec: { vocabSize: 8, contextLength: 64 } as ModelSpec },
  run: async () => ({ result: RESULT, steps: [] }),
  close: async () => {},
};

const JOB = { ids: [1], maxTokens: 1, temperature: 0, topP: 1, topK: 0, penalties: {}, stop: [], stopAtEos: true, budget: "auto", signal: new AbortController().signal } as unknown as GenerationJob;
const never = new AbortController().signal;

/** One generation on `slot`, as generation.ts runs it: wait for the turn, run, pass the model on while more remain. */
async function generation(engine: ModelService, slot: Slot): Promise<void> {
  await slot.acquire(never);
  await engine.generate(slot, JOB, () => undefined);
  if (slot.remaining > 0) slot.pass();
}

function refusal(f: () => unknown): ApiError {
  try {
    f();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error("not refused");
}

describe("requests of several generations in the queue", () => {
  test("Retry-After counts a queued batch's prompts, not one generation for it", () => {
    const engine = new ModelService(runner, { maxQueue: 1 });
    engine.reserve(1); // running
    engine.reserve(20); // queued: a batch of 20 prompts
    const full = refusal(() => engine.reserve(1));
    expect(full.status).toBe(429);
    // No generation has finished: 1 s each (the service's starting estimate), 1 + 20 ahead.
    expect(full.headers?.["Retry-After"]).toBe("21");
    expect(full.message).toContain("21 generations ahead");
  });

  test("a request queued while a batch runs takes the model between two of its prompts", async () => {
    const engine = new ModelService(runner, { maxQueue: 1 });
    const order: string[] = [];
    const batch = engine.reserve(3);
    const single = engine.reserve(1);
    expect(engine.metrics.queued).toBe(1);
    const batchDone = (async () => {
      for (let i = 0; i < 3; i++) {
        await generation(engine, batch);
        order.push(`batch ${i}`);
      }
      batch.release();
    })();
    const singleDone = (async () => {
      await generation(engine, single);
      order.push("single");
      // The batch waits between prompts, admitted: the queue's bound still has room for one.
      expect(engine.metrics.queued).toBe(0);
      expect(() => engine.reserve(1).release()).not.toThrow();
      single.release();
    })();
    await Promise.all([batchDone, singleDone]);
    expect(order).toEqual(["batch 0", "single", "batch 1", "batch 2"]);
    expect(engine.metrics.running).toBe(0);
  });

  test("a shutdown refuses the queued requests and lets a batch between two prompts finish", async () => {
    const engine = new ModelService(runner, { maxQueue: 2 });
    const batch = engine.reserve(2);
    const single = engine.reserve(1);
    await generation(engine, batch); // the model passes to `single`; the batch waits behind it
    expect(single.granted).toBe(true);
    // As generation.ts runs a batch: already waiting for its next turn when the shutdown comes.
    const batchTurn = batch.acquire(never);
    const queued = engine.reserve(1);
    const drained = engine.drain();
    let idle = false;
    void drained.then(() => (idle = true));
    await expect(queued.acquire(never)).rejects.toMatchObject({ status: 503, code: "server_shutting_down" });
    single.release();
    await batchTurn;
    await engine.generate(batch, JOB, () => undefined);
    await Promise.resolve();
    expect(idle).toBe(false);
    batch.release();
    await drained;
    expect(idle).toBe(true);
  });
});
