/** What every drafter is built with: the vocabulary, the kernel set, the tokenizer's identity. */
import { type KernelSet, kernelSetOf } from "./kernels/index.ts";
import { checkVocabSize } from "./validate.ts";

export interface CommonOptions {
  /** Token ids are valid in [0, vocabSize); anything else is rejected with `invalid_token`. */
  vocabSize: number;
  /** The kernels its tables and automata run on (default: TypeScript; `loadWasmKernels()` for WASM). */
  kernels?: KernelSet;
  /** Identity of the tokenizer (see `tokenizerFingerprint`), written into and checked against saved state. */
  tokenizerFingerprint?: string;
}

export interface DrafterContext {
  readonly vocabSize: number;
  readonly kernels: KernelSet;
  readonly fingerprint: string;
}

export function drafterContext(opts: CommonOptions): DrafterContext {
  checkVocabSize(opts.vocabSize);
  return { vocabSize: opts.vocabSize, kernels: kernelSetOf(opts.kernels), fingerprint: opts.tokenizerFingerprint ?? "" };
}

export function lastToken(tokens: ArrayLike<number>): number {
  return tokens.length > 0 ? tokens[tokens.length - 1]! : -1;
}
