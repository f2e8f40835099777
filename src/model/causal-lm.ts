/**
 * One ONNX causal LM session with a KV cache interface: `forward(tokens, positions, cache)` runs the
 * model over new tokens that follow what the cache holds and returns their logits.
 */
import type { InferenceSession, Tensor } from "onnxruntime-web";
import { EdgespecError } from "../errors.ts";
import { ATTENTION_BIAS_INPUT } from "../onnx/attention-bias.ts";
import { ARGMAX_IDS, LAST_LOGITS, TOP_K, TOPK_IDS } from "../onnx/logits-heads.ts";
import { LOGITS_ROWS } from "../onnx/logits-rows.ts";
import { PACKED_PRESENT } from "../onnx/kv-append.ts";
import { halfBitsToFloat32 } from "../onnx/float16.ts";
import type { Device, OrtModule } from "../host.ts";
import type { ModelSpec } from "./config.ts";
import type { Dtype } from "./dtype.ts";
import { IO } from "./io-names.ts";
import { int32sOf, int64sOf } from "./int64.ts";
import { GpuKvCache } from "./gpu-kv-cache.ts";
import { type KvCache, KvBufferPool, newKvCache } from "./kv-cache.ts";
import type { SequenceCache } from "./sequence-cache.ts";
import type { ModelLayout } from "./layout.ts";
import type { WasmSessionRunner } from "./wasm-session-runner.ts";

export interface ForwardOptions {
  /**
   * Additive attention bias [S, past + S] (0 = may attend, -Infinity = may not), for tree
   * verification. Only for models whose graph was given an attention-bias input.
   */
  attentionBias?: Float32Array;
}

export interface TreeAttentionInfo {
  enabled: boolean;
  reason?: string;
  /**
   * Trees only while past + fed tokens stays within this many positions (sliding-window layers
   * window tree nodes by index); longer contexts verify chains, which are exact at any length.
   */
  maxContext?: number;
}

export interface ModelInfo {
  backend: Device;
  /** The WebGPU adapter in use (its description), when the backend is webgpu. */
  adapter?: string;
  dtype: Dtype;
  /**
   * Threads a forward runs on: on wasm the process's pool (one per process: ort-env.ts), on cpu the
   * native session's own, on webgpu the WASM pool that runs the ops the GPU does not.
   */
  threads?: number;
  file: string;
  inputNames: readonly string[];
  /** The graph's layout as found at load (positions, logits-to-keep, external data). */
  layout: ModelLayout;
  /**
   * Activations are quantized to int8 at run time (DynamicQuantizeLinear): speculative output then
   * equals plain output except where a rounding flip meets a near tie (README, "Exactness").
   */
  int8Activations: boolean;
  /** Whether the graph was given tree attention, and why not when it was not. */
  treeAttention: TreeAttentionInfo;
  /**
   * On WASM, how a forward reaches the session: "c-api", through the runtime's C API
   * (wasm-session-runner.ts), or "session.run" where the host cannot reach the runtime's instance.
   */
  runs?: "c-api" | "session.run";
  /** Where the KV cache lives between steps: "gpu" (WebGPU buffers: a step reads back logits or, greedy, ids only); default "cpu". */
  kvCache?: "cpu" | "gpu";
  /**
   * On WASM, fused GroupQueryAttention layers the loader wrote out in plain ops
   * (onnx/gqa-decompose.ts: the kernel is slow for several new tokens), and why any were kept fused.
   */
  decomposedAttention?: { layers: number; kept?: string };
  /**
   * On WASM, 4-bit MatMulNBits weights unpacked to float32 at load (onnx/nbits-unpack.ts), their
   * bytes, and why any were kept packed (asked to, the size cap, a layout it does not unpack).
   */
  unpackedWeights?: { layers: number; bytes: number; kept?: string };
}

export type { SequenceCache } from "./sequence-cache.ts";

/**
 * What decoding needs of a model. CausalLM is the ONNX implementation; tests use small exact
 * models (e.g. a Markov chain) through the same interface.
 */
export interface LanguageModel {
  readonly spec: ModelSpec;
  readonly info: ModelInfo;
  newCache(): SequenceCache;
  forward(tokens: ArrayLike<number>, positions: ArrayLike<number>, cache: SequenceCache, opts?: ForwardOptions): Promise<Float32Array>;
  /**
   * A forward (no tree) that returns only the last token's logits and the `k` (at most TOP_K)
   * highest-logit ids, largest first, row-major, of every token from index `from` (default 0) on:
   * what a prefill needs unless the prompt's own logprobs are asked for. Optional: models without
   * it are read through `forward` (absent, or undefined as CausalLM sets it where the graph has no heads).
   */
  forwardLast?: ((tokens: ArrayLike<number>, positions: ArrayLike<number>, cache: SequenceCache, k: number, from?: number) => Promise<LastRows>) | undefined;
  /**
   * `forward` that reads back each row's argmax id (ties: the lowest id) and, with `withTopK`, its
   * TOP_K highest-logit ids (largest first), not the logits: what greedy decoding on raw logits
   * needs, and a drafter's candidates: the logits stay in the runtime (on the GPU with a GPU KV
   * cache), and nothing scans them in JS. Offered where the graph has the heads (logits-heads.ts);
   * absent or undefined where it has not.
   */
  forwardTop?: ((tokens: ArrayLike<number>, positions: ArrayLike<number>, cache: SequenceCache, withTopK: boolean, opts?: ForwardOptions) => Promise<RowIds>) | undefined;
  dispose(): Promise<void>;
  /** Bytes of outputs copied from the runtime to JS so far (logits, top-k ids, the new KV): what a step costs in read-back. */
  readonly readBackBytes?: number;
}

export interface RowIds {
  /** Each row's argmax id [tokens]. */
  argmax: Int32Array;
  /** Each row's TOP_K highest-logit ids, largest first [tokens * TOP_K], when asked for. */
  topK?: Int32Array;
}

export interface LastRows {
  /** The last token's logits [vocab]. */
  last: Float32Array;
  /** The k highest-logit ids of each token from `from` on, largest first (ties: lowest id first), [(tokens - from) * k]. */
  topK: Int32Array;
}

export class CausalLM implements LanguageModel {
  /** What `forward` fetches: the logits and the cache (not the in-graph heads). */
  private readonly rowFetches: string[];
  /** What `forwardLast` fetches: the heads and the cache; undefined when the graph has no heads. */
  private readonly headFetches: string[] | undefined;
  readonly forwardLast: LanguageModel["forwardLast"];
  readonly forwardTop: LanguageModel["forwardTop"];
  /** What `forwardTop` fetches: the argmax head (and the top-k head) and the cache. */
  private readonly idFetches: { argmax: string[]; both: string[] };
  /** Whether the graph takes the rows to project (logits-rows.ts), which every run then feeds. */
  private readonly projectsRows: boolean;
  /** Buffers of finished generations' caches, for the next ones (kv-cache.ts). */
  private readonly kvPool: KvBufferPool;
  /** Ones for the attention mask (onesFor). */
  private ones = new BigInt64Array(0);

  constructor(
    private readonly ort: OrtModule,
    private readonly session: InferenceSession,
    readonly spec: ModelSpec,
    readonly info: ModelInfo,
    /** The KV gather graph's session on the same GPU (src/onnx/kv-gather.ts), when the cache lives there. */
    private readonly kvGather?: InferenceSession,
    /** Runs `session` through the WASM runtime's C API instead of `session.run` (wasm-session-runner.ts), where the loader found one. */
    private readonly runner?: WasmSessionRunner,
  ) {
    // Through the C API the caches' buffers live in the runtime's heap, where runs read them in place.
    this.kvPool = new KvBufferPool(undefined, undefined, runner?.kvArena());
    if (info.kvCache === "gpu" && (!kvGather || info.layout.kvIo !== "whole")) throw new EdgespecError("invalid_argument", "a GPU KV cache needs the export's own cache I/O and a gather session");
    // The new positions in one output where the graph packs them (kv-append.ts): one tensor handed to JS, not one per layer.
    const present = session.outputNames.includes(PACKED_PRESENT) && info.layout.kvIo === "append" ? [PACKED_PRESENT] : session.outputNames.filter((n) => n.startsWith("present."));
    this.rowFetches = [IO.logits, ...present];
    const heads = session.outputNames.includes(LAST_LOGITS) && session.outputNames.includes(TOPK_IDS);
    this.headFetches = heads ? [LAST_LOGITS, TOPK_IDS, ...present] : undefined;
    this.forwardLast = heads ? (tokens, positions, cache, k, from) => this.lastRows(tokens, positions, cache as KvCache, k, from ?? 0) : undefined;
    this.idFetches = { argmax: [ARGMAX_IDS, ...present], both: [ARGMAX_IDS, TOPK_IDS, ...present] };
    this.projectsRows = info.inputNames.includes(LOGITS_ROWS);
    const ids = heads && session.outputNames.includes(ARGMAX_IDS);
    this.forwardTop = ids ? (tokens, positions, cache, withTopK, opts) => this.rowIds(tokens, positions, cache as KvCache, withTopK, opts ?? {}) : undefined;
  }

  newCache(): KvCache {
    const s = this.spec;
    if (this.info.kvCache === "gpu") return new GpuKvCache(this.ort, s.numLayers, s.numKvHeads, s.headDim, this.info.layout.kvType, this.kvGather!);
    return newKvCache(this.ort, this.info.layout.kvIo, s.numLayers, s.numKvHeads, s.headDim, this.info.layout.kvType, this.kvPool);
  }

  get acceptsAttentionBias(): boolean {
    return this.info.inputNames.includes(ATTENTION_BIAS_INPUT);
  }

  /**
   * Logits [S * vocab] (row-major) for `tokens` placed at `positions`, attending to the cache and
   * to each other causally (or as `attentionBias` says). The cache grows by S positions.
   */
  async forward(tokens: ArrayLike<number>, positions: ArrayLike<number>, seqCache: SequenceCache, opts: ForwardOptions = {}): Promise<Float32Array> {
    const cache = seqCache as KvCache;
    await cache.flush?.();
    // The logits and the cache only: the in-graph heads (forwardLast's) are not computed here.
    const out = await this.run(this.feeds(tokens, positions, cache, opts), this.rowFetches);
    this.countReadBack(out);
    cache.update(out);
    return toFloat32(out[IO.logits]!);
  }

  private async lastRows(tokens: ArrayLike<number>, positions: ArrayLike<number>, cache: KvCache, k: number, from: number): Promise<LastRows> {
    if (!(Number.isInteger(k) && k >= 0 && k <= TOP_K)) throw new EdgespecError("invalid_argument", `forwardLast takes 0..${TOP_K} candidates per row, got ${k}`);
    const s = tokens.length;
    if (!(Number.isInteger(from) && from >= 0 && from < Math.max(s, 1))) throw new EdgespecError("invalid_argument", `forwardLast's first candidate row must be in [0, ${s}), got ${from}`);
    await cache.flush?.();
    // Rows before `from` (all but the last without candidates) are not projected (logits-rows.ts):
    // that part of a prompt's lm_head would be computed for nothing.
    const first = k === 0 ? s - 1 : from;
    const out = await this.run(this.feeds(tokens, positions, cache, {}, first), this.headFetches!);
    this.countReadBack(out);
    cache.update(out);
    if (k === 0) return { last: toFloat32(out[LAST_LOGITS]!), topK: new Int32Array(0) };
    const big = out[TOPK_IDS]!.data as BigInt64Array;
    // A graph that cannot trim its rows returned all of them: the wanted ones are the last.
    const rows = s - first;
    const skip = big.length / TOP_K - rows;
    const ids = int32sOf(big, skip * TOP_K, rows * TOP_K);
    const topK = new Int32Array(rows * k);
    for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) topK[r * k + j] = ids[r * TOP_K + j]!;
    return { last: toFloat32(out[LAST_LOGITS]!), topK };
  }

  private async rowIds(tokens: ArrayLike<number>, positions: ArrayLike<number>, cache: KvCache, withTopK: boolean, opts: ForwardOptions): Promise<RowIds> {
    await cache.flush?.();
    const out = await this.run(this.feeds(tokens, positions, cache, opts), withTopK ? this.idFetches.both : this.idFetches.argmax);
    this.countReadBack(out);
    cache.update(out);
    const ints = (name: string) => int32sOf(out[name]!.data as BigInt64Array);
    return { argmax: ints(ARGMAX_IDS), ...(withTopK ? { topK: ints(TOPK_IDS) } : {}) };
  }

  private run(feeds: Record<string, Tensor>, fetches: readonly string[]): Promise<Record<string, Tensor>> | Record<string, Tensor> {
    return this.runner ? this.runner.run(feeds, fetches) : this.session.run(feeds, fetches as string[]);
  }

  /** An all-ones attention mask of `total` positions: a view of one buffer, grown as needed (onnxruntime copies inputs, never writes them). */
  private onesFor(total: number): BigInt64Array {
    if (this.ones.length < total) this.ones = new BigInt64Array(Math.max(total, 2 * this.ones.length)).fill(1n);
    return this.ones.subarray(0, total);
  }

  /** See LanguageModel.readBackBytes. */
  readBackBytes = 0;

  private countReadBack(out: Record<string, Tensor>): void {
    // Outputs left on the GPU (the KV cache there) are not read back.
    for (const t of Object.values(out)) if (t.location === "cpu") this.readBackBytes += (t.data as ArrayBufferView).byteLength ?? 0;
  }

  /**
   * Inputs for `tokens` at `positions` after what `cache` holds (checked: ids, positions, bias);
   * logits for the tokens from index `first` on only, where the graph can trim them.
   */
  private feeds(tokens: ArrayLike<number>, positions: ArrayLike<number>, cache: KvCache, opts: ForwardOptions, first = 0): Record<string, Tensor> {
    const s = tokens.length;
    if (s === 0 || positions.length !== s) {
      throw new EdgespecError("invalid_argument", "forward needs one position per token and at least one token");
    }
    const V = this.spec.vocabSize;
    for (let i = 0; i < s; i++) {
      const t = tokens[i]!;
      if (!Number.isInteger(t) || t < 0 || t >= V) {
        throw new EdgespecError("invalid_token", `token id ${t} is outside the vocabulary [0, ${V})`);
      }
      const p = positions[i]!;
      if (!Number.isInteger(p) || p < 0 || p >= 2 ** 31) throw new EdgespecError("invalid_argument", `position ${p} is not an integer in [0, 2^31)`);
    }
    const ids = int64sOf(tokens);
    const pos = int64sOf(positions);
    const total = cache.length + s;
    const feeds: Record<string, Tensor> = {
      [IO.inputIds]: new this.ort.Tensor("int64", ids, [1, s]),
      [IO.attentionMask]: new this.ort.Tensor("int64", this.onesFor(total), [1, total]),
    };
    const { layout } = this.info;
    if (layout.positions === "input") {
      feeds[IO.positionIds] = new this.ort.Tensor("int64", pos, [1, s]);
    } else {
      // The graph places token i at past + i: any other position (a tree node's depth) would be
      // silently wrong, so it is refused rather than computed.
      for (let i = 0; i < s; i++) {
        if (positions[i] !== cache.length + i) {
          throw new EdgespecError("invalid_argument", "this model graph derives positions from attention_mask: tokens must sit at consecutive positions after the cache (no tree verify)");
        }
      }
    }
    if (layout.logitsToKeep) {
      // Logits for every fed token (verification reads a row per tree node), or the last ones'.
      feeds[layout.logitsToKeep] = new this.ort.Tensor("int64", BigInt64Array.of(BigInt(s - first)), []);
    } else if (this.projectsRows) {
      const rows = int64sOf(Array.from({ length: s - first }, (_, i) => first + i));
      feeds[LOGITS_ROWS] = new this.ort.Tensor("int64", rows, [rows.length]);
    }
    if (opts.attentionBias) {
      if (!this.acceptsAttentionBias) {
        throw new EdgespecError("invalid_argument", "this model graph has no attention-bias input");
      }
      if (opts.attentionBias.length !== s * total) {
        throw new EdgespecError("invalid_argument", `attention bias must have ${s}x${total} entries, got ${opts.attentionBias.length}`);
      }
      feeds[ATTENTION_BIAS_INPUT] = new this.ort.Tensor("float32", opts.attentionBias, [1, 1, s, total]);
    } else if (this.acceptsAttentionBias) {
      // Zeros leave the graph's own causal mask as the only mask: plain causal attention.
      feeds[ATTENTION_BIAS_INPUT] = new this.ort.Tensor("float32", new Float32Array(s * total), [1, 1, s, total]);
    }
    cache.feeds(feeds);
    return feeds;
  }

  async dispose(): Promise<void> {
    this.kvPool.clear();
    this.runner?.dispose();
    await this.session.release();
    await this.kvGather?.release();
  }
}

function toFloat32(t: Tensor): Float32Array {
  const d = t.data as unknown;
  if (d instanceof Float32Array) return d;
  if (t.type === "float16") {
    // Float16Array on Bun/Deno; raw half bits in a Uint16Array on Node.
    if (d instanceof Uint16Array) return halfBitsToFloat32(d);
    return Float32Array.from(d as ArrayLike<number>);
  }
  throw new EdgespecError("model_invalid", `logits of type ${t.type} are not supported`);
}
