/**
 * `generate` as an async iterator of text chunks, for callers that prefer `for await` to callbacks.
 * The iterator's return value (`{ done: true, value }`) is the full result with stats.
 */
import type { LoadedModel } from "../model/load.ts";
import { generate, type SpecOptions, type TextMeta } from "./speculative.ts";
import type { SpecResult } from "./spec-stats.ts";

export interface TextChunk extends TextMeta {
  text: string;
}

export async function* generateStream(model: LoadedModel, prompt: string | readonly number[], opts: Omit<SpecOptions, "onText"> = {}): AsyncGenerator<TextChunk, SpecResult> {
  const queue: TextChunk[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: unknown;
  const run = generate(model, prompt, {
    ...opts,
    onText: (text, meta) => {
      queue.push({ text, ...meta });
      wake?.();
    },
  }).then(
    (r) => {
      finished = true;
      wake?.();
      return r;
    },
    (e) => {
      finished = true;
      failure = e;
      wake?.();
      return undefined;
    },
  );
  for (;;) {
    while (queue.length > 0) yield queue.shift()!;
    if (finished) break;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
  const result = await run;
  if (failure !== undefined || !result) throw failure;
  return result;
}
