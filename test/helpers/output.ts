/** Feeds token ids through TokenOutput as a generation would, recording each released chunk. */
import { type StopOptions, TokenOutput } from "../../src/decode/output.ts";
import type { TextCodec } from "../../src/model/tokenizer.ts";

export interface FedOutput {
  chunks: string[];
  text: string;
  tokens: number[];
  finish?: string;
}

export function feedIds(codec: TextCodec, ids: readonly number[], opts: StopOptions): FedOutput {
  const out = new TokenOutput(codec, opts);
  const chunks: string[] = [];
  let finish: string | undefined;
  for (const id of ids) {
    const r = out.push(id);
    chunks.push(r.text);
    if (r.finish) {
      finish = r.finish;
      break;
    }
  }
  return { chunks, text: out.fullText, tokens: out.tokens, finish };
}
