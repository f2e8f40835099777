/**
 * Whether a loaded WASM model runs through the runtime's C API (wasm-session-runner.ts): where
 * the host reaches the runtime's instance, and a forward through it is what `session.run` gives.
 */
import type { InferenceSession } from "onnxruntime-web";
import type { Host, OrtModule } from "../host.ts";
import type { LanguageModel } from "./causal-lm.ts";
import { WasmSessionRunner } from "./wasm-session-runner.ts";

/**
 * A runner for `session` on the WASM runtime `host` started for `ort`, where the host reaches its
 * instance and a forward through the runner gives the logits `session.run` gives, bit for bit;
 * else undefined (the caller runs `session.run`). `lmWith` makes the model over the session, with
 * the runner or without.
 */
export async function directWasmRunner(host: Host, ort: OrtModule, session: InferenceSession, lmWith: (runner?: WasmSessionRunner) => LanguageModel): Promise<WasmSessionRunner | undefined> {
  const instance = await host.ortWasmInstance?.(ort);
  const runner = instance === undefined ? undefined : WasmSessionRunner.attach(ort, instance, session);
  if (!runner) return undefined;
  try {
    const [a, b] = [await firstLogits(lmWith()), await firstLogits(lmWith(runner))];
    if (a.length === b.length && a.every((v, i) => Object.is(v, b[i]))) {
      runner.markChecked();
      return runner;
    }
  } catch {
    // A runtime that is not what the runner was written for: session.run stays.
  }
  runner.dispose();
  return undefined;
}

/** The logits of one token at position 0 on a fresh cache. */
async function firstLogits(lm: LanguageModel): Promise<Float32Array> {
  const cache = lm.newCache();
  try {
    return await lm.forward([Math.min(3, lm.spec.vocabSize - 1)], [0], cache);
  } finally {
    cache.release?.();
  }
}
