/**
 * The KV cache of one sequence: per layer a key and a value tensor [1, kvHeads, length, headDim].
 *
 * The model's `present.*` outputs become the next step's `past_key_values.*` inputs unchanged (no
 * copy). Rollback after speculative verification is done in place: `keep()` moves the surviving
 * positions down inside each head's block and re-views the same buffer, so a rejected draft costs
 * one memmove per head rather than a new allocation per layer.
 */
import type { Tensor } from "onnxruntime-web";
import { EdgespecError } from "../errors.ts";
import type { OrtModule } from "../host.ts";
import type { SequenceCache } from "./causal-lm.ts";
import { IO } from "./io-names.ts";

export type KvType = "float32" | "float16";
type KvData = Float32Array | Uint16Array | { subarray(a: number, b: number): KvData; copyWithin(t: number, s: number, e: number): unknown; length: number };

export class KvCache implements SequenceCache {
  private readonly tensors: Tensor[] = []; // [k0, v0, k1, v1, ...]
  private len = 0;

  constructor(
    private readonly ort: OrtModule,
    readonly numLayers: number,
    readonly numKvHeads: number,
    readonly headDim: number,
    readonly type: KvType = "float32",
  ) {
    this.reset();
  }

  get length(): number {
    return this.len;
  }

  /** Forget everything (a new sequence). */
  reset(): void {
    const empty = this.type === "float32" ? new Float32Array(0) : new Uint16Array(0);
    this.tensors.length = 0;
    for (let i = 0; i < 2 * this.numLayers; i++) {
      this.tensors.push(new this.ort.Tensor(this.type, empty, [1, this.numKvHeads, 0, this.headDim]));
    }
    this.len = 0;
  }

  /** The past_key_values.* feeds for the next forward. */
  feeds(into: Record<string, Tensor>): void {
    for (let l = 0; l < this.numLayers; l++) {
      into[IO.pastKey(l)] = this.tensors[2 * l]!;
      into[IO.pastValue(l)] = this.tensors[2 * l + 1]!;
    }
  }

  /** Adopt the present.* outputs of a forward as the cache. */
  update(outputs: Record<string, Tensor>): void {
    for (let l = 0; l < this.numLayers; l++) {
      this.tensors[2 * l] = outputs[IO.presentKey(l)]!;
      this.tensors[2 * l + 1] = outputs[IO.presentValue(l)]!;
    }
    this.len = this.tensors[0]!.dims[2]!;
  }

  /** Drop every position from `length` on. */
  truncate(length: number): void {
    if (length === this.len) return;
    if (!Number.isInteger(length) || length < 0 || length > this.len) {
      throw new EdgespecError("invalid_argument", `cannot truncate a KV cache of ${this.len} to ${length}`);
    }
    const positions = new Int32Array(length);
    for (let i = 0; i < length; i++) positions[i] = i;
    this.keep(positions);
  }

  /**
   * Keep only `positions` (strictly increasing, each < length), in that order; the rest are
   * dropped. Speculative decoding calls it with [0..past) + the accepted tree path.
   */
  keep(positions: ArrayLike<number>): void {
    const n = positions.length;
    let prev = -1;
    for (let i = 0; i < n; i++) {
      const p = positions[i]!;
      if (!(p > prev && p < this.len)) {
        throw new EdgespecError("invalid_argument", `KV positions must be increasing and < ${this.len}`);
      }
      prev = p;
    }
    const old = this.len;
    const { numKvHeads: heads, headDim: d } = this;
    for (let t = 0; t < this.tensors.length; t++) {
      const src = this.tensors[t]!;
      const data = src.data as unknown as KvData;
      // Move runs of consecutive positions with one copyWithin each. Destinations never pass their
      // sources (new index <= old index, new head block <= old head block), so forward order is safe.
      for (let h = 0; h < heads; h++) {
        let i = 0;
        while (i < n) {
          let j = i + 1;
          while (j < n && positions[j] === positions[j - 1]! + 1) j++;
          const from = (h * old + positions[i]!) * d;
          const to = (h * n + i) * d;
          if (from !== to) data.copyWithin(to, from, from + (j - i) * d);
          i = j;
        }
      }
      this.tensors[t] = new this.ort.Tensor(this.type, data.subarray(0, heads * n * d) as Float32Array, [1, heads, n, d]);
    }
    this.len = n;
  }
}
