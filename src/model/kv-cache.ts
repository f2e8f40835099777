/**
 * The KV cache of one sequence. Two shapes of session I/O, chosen at load (ModelLayout.kvIo):
 *
 * - "append" (every graph the loader can rewrite, src/onnx/kv-append.ts): per layer a key and a
 *   value buffer, sequence-major [positions, kvHeads, headDim], grown by doubling. A step feeds
 *   each buffer's first `length` positions as `past_key_values.*` (a subarray: no copy on the JS
 *   side) and appends the positions the step added (its packed `edgespec_present` output, or its
 *   `present.*` outputs). A released cache's buffers go to the model's KvBufferPool.
 *   Rollback moves whole positions down in place: a rejected draft costs a copy of the accepted
 *   path, not of the cache.
 * - "whole" (the export's own I/O, head-major, present = past + new): the present outputs become
 *   the next step's past inputs unchanged, and rollback moves the kept positions per head.
 */
import type { Tensor } from "onnxruntime-web";
import { EdgespecError } from "../errors.ts";
import type { OrtModule } from "../host.ts";
import type { SequenceCache } from "./sequence-cache.ts";
import { IO } from "./io-names.ts";
import { PACKED_PRESENT } from "../onnx/kv-append.ts";

export type KvType = "float32" | "float16";
export type KvIo = "append" | "whole";
export type KvBuffer = Float32Array | Uint16Array;

/** A zeroed buffer of `elements` of `type` in JS memory (float16 as its bits). */
function jsBuffer(type: KvType, elements: number): KvBuffer {
  return type === "float32" ? new Float32Array(elements) : new Uint16Array(elements);
}

/** What CausalLM needs of a cache besides SequenceCache: its feeds, and a step's outputs taken in. */
export interface KvCache extends SequenceCache {
  feeds(into: Record<string, Tensor>): void;
  update(outputs: Record<string, Tensor>): void;
  /** Work recorded by keep/truncate that must run before the next feeds (a GPU gather). */
  flush?(): Promise<void>;
}

export function newKvCache(ort: OrtModule, io: KvIo, numLayers: number, numKvHeads: number, headDim: number, type: KvType = "float32", pool?: KvBufferPool): KvCache {
  return io === "append" ? new AppendKvCache(ort, numLayers, numKvHeads, headDim, type, pool) : new WholeKvCache(ort, numLayers, numKvHeads, headDim, type);
}

/** One cache's buffers ([k0, v0, k1, v1, ...]), the positions each holds, and what they fit. */
interface BufferSet {
  buffers: KvBuffer[];
  capacity: number;
  shape: BufferShape;
}

/** What a set of buffers fits: its count (2 x layers), elements per position and element type. */
interface BufferShape {
  count: number;
  row: number;
  type: KvType;
}

/**
 * Buffers of released caches, handed to the next cache of the same model. Fresh memory costs its
 * page faults on first touch: a request's time to the first token was 9.6 ms shorter on
 * edgespec-tiny (116 -> 103 ms, median of paired runs, 20 prompts x 3) and 8.7 ms on
 * edgespec-small with the buffers of the request before. A cache gives its buffers up when
 * released (a generation's end), so a request never shares them with another one still running.
 * What is kept is capped (sets and bytes): an idle server holds at most that much for nothing.
 */
export class KvBufferPool {
  private readonly spare: BufferSet[] = [];

  /**
   * At most `maxSpare` sets (as many as requests are expected at once) and `maxBytes` in all; the
   * largest that fit. `arena`: where new buffers come from (default: JS memory).
   */
  constructor(
    private readonly maxSpare = 2,
    private readonly maxBytes = 256 * 2 ** 20,
    private readonly arena?: KvArena,
  ) {}

  /** A buffer of `elements` of `type`, from the arena where it has room, else in JS memory (contents undefined). */
  alloc(type: KvType, elements: number): KvBuffer {
    return this.arena?.alloc(type, elements) ?? jsBuffer(type, elements);
  }

  /** Gives a buffer no cache holds any more back to its arena (JS memory: the collector's). */
  free(buffer: KvBuffer): void {
    this.arena?.free(buffer);
  }

  /** The largest spare set of `shape`, or undefined. */
  take(shape: BufferShape): BufferSet | undefined {
    const i = this.spare.findIndex((s) => s.shape.count === shape.count && s.shape.row === shape.row && s.shape.type === shape.type);
    return i < 0 ? undefined : this.spare.splice(i, 1)[0];
  }

  give(set: BufferSet): void {
    if (set.capacity === 0) return;
    const sets = [...this.spare, set].sort((a, b) => bytesOf(b) - bytesOf(a));
    // The largest first, each while it fits in what the ones kept before it leave of maxBytes.
    this.spare.length = 0;
    let total = 0;
    for (const s of sets) {
      const bytes = bytesOf(s);
      if (this.spare.length === this.maxSpare || total + bytes > this.maxBytes) {
        for (const b of s.buffers) this.free(b);
        continue;
      }
      this.spare.push(s);
      total += bytes;
    }
  }

  get size(): number {
    return this.spare.length;
  }

  /** Lets every spare set go (the model is disposed). */
  clear(): void {
    for (const s of this.spare) for (const b of s.buffers) this.free(b);
    this.spare.length = 0;
  }
}

/**
 * Memory a cache's buffers can live in other than JS's: the WASM runtime's heap, where a run reads
 * the past where it lies instead of copying it in (wasm-session-runner.ts). `alloc` answers
 * undefined where it has no room; `free` ignores a buffer it did not make.
 */
export interface KvArena {
  alloc(type: KvType, elements: number): KvBuffer | undefined;
  free(buffer: KvBuffer): void;
}

function bytesOf(set: BufferSet): number {
  let n = 0;
  for (const b of set.buffers) n += b.byteLength;
  return n;
}

/** Positions must be strictly increasing and below `length`. */
export function checkKeep(positions: ArrayLike<number>, length: number): void {
  let prev = -1;
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i]!;
    if (!(p > prev && p < length)) throw new EdgespecError("invalid_argument", `KV positions must be increasing and < ${length}`);
    prev = p;
  }
}

export function checkTruncate(length: number, have: number): void {
  if (!Number.isInteger(length) || length < 0 || length > have) {
    throw new EdgespecError("invalid_argument", `cannot truncate a KV cache of ${have} to ${length}`);
  }
}

const INITIAL_POSITIONS = 256;

export class AppendKvCache implements KvCache {
  private buffers: KvBuffer[] = []; // [k0, v0, k1, v1, ...]
  private capacity = 0;
  private len = 0;
  /** Elements per position: kvHeads * headDim. */
  private readonly row: number;
  private released = false;

  constructor(
    private readonly ort: OrtModule,
    readonly numLayers: number,
    readonly numKvHeads: number,
    readonly headDim: number,
    readonly type: KvType = "float32",
    /** Where released buffers go and new caches take theirs from (KvBufferPool). */
    private readonly pool?: KvBufferPool,
  ) {
    this.row = numKvHeads * headDim;
    const set = pool?.take(this.shape());
    if (set) {
      this.buffers = set.buffers;
      this.capacity = set.capacity;
    }
    this.reset();
  }

  get length(): number {
    return this.len;
  }

  /** Forget everything (a new sequence); the buffers are kept for reuse. */
  reset(): void {
    this.len = 0;
  }

  /** The past_key_values.* feeds for the next forward: views of the first `length` positions. */
  feeds(into: Record<string, Tensor>): void {
    this.checkLive();
    const dims = [1, this.len, this.numKvHeads, this.headDim];
    for (let l = 0; l < this.numLayers; l++) {
      for (const [t, name] of [[2 * l, IO.pastKey(l)], [2 * l + 1, IO.pastValue(l)]] as const) {
        const view = this.buffers[t] ? this.buffers[t]!.subarray(0, this.len * this.row) : this.empty();
        into[name] = new this.ort.Tensor(this.type, view as Float32Array, dims);
      }
    }
  }

  /**
   * Append the positions a forward added to the cache: its packed output (kv-append.ts, every
   * layer's key and value in one tensor) or its present.* outputs.
   */
  update(outputs: Record<string, Tensor>): void {
    this.checkLive();
    const packed = outputs[PACKED_PRESENT];
    if (packed) return this.appendPacked(packed);
    const added = outputs[IO.presentKey(0)]!.dims[1]!;
    this.reserve(this.len + added);
    for (let l = 0; l < this.numLayers; l++) {
      for (const [t, name] of [[2 * l, IO.presentKey(l)], [2 * l + 1, IO.presentValue(l)]] as const) {
        const src = outputs[name]!;
        if (src.dims[1] !== added || src.dims[2] !== this.numKvHeads || src.dims[3] !== this.headDim) {
          throw new EdgespecError("model_invalid", `${name} has dims [${src.dims}], expected [1, ${added}, ${this.numKvHeads}, ${this.headDim}]`);
        }
        this.buffers[t]!.set(bitsOf(src.data), this.len * this.row);
      }
    }
    this.len += added;
  }

  private appendPacked(packed: Tensor): void {
    const [layers, added, heads, dim] = packed.dims;
    if (packed.dims.length !== 4 || layers !== 2 * this.numLayers || heads !== this.numKvHeads || dim !== this.headDim) {
      throw new EdgespecError("model_invalid", `${PACKED_PRESENT} has dims [${packed.dims}], expected [${2 * this.numLayers}, added, ${this.numKvHeads}, ${this.headDim}]`);
    }
    this.reserve(this.len + added!);
    const data = bitsOf(packed.data);
    const block = added! * this.row;
    for (let t = 0; t < 2 * this.numLayers; t++) this.buffers[t]!.set(data.subarray(t * block, (t + 1) * block), this.len * this.row);
    this.len += added!;
  }

  /** Drop every position from `length` on. */
  truncate(length: number): void {
    this.checkLive();
    checkTruncate(length, this.len);
    this.len = length;
  }

  /**
   * Keep only `positions` (strictly increasing, each < length), in that order; the rest are
   * dropped. Speculative decoding calls it with [0..past) + the accepted tree path.
   */
  keep(positions: ArrayLike<number>): void {
    this.checkLive();
    checkKeep(positions, this.len);
    const n = positions.length;
    const r = this.row;
    for (const data of this.buffers) {
      // Runs of consecutive positions move with one copyWithin each; a destination never passes
      // its source (new index <= old index), so forward order is safe.
      let i = 0;
      while (i < n) {
        let j = i + 1;
        while (j < n && positions[j] === positions[j - 1]! + 1) j++;
        if (positions[i] !== i) data.copyWithin(i * r, positions[i]! * r, (positions[i]! + (j - i)) * r);
        i = j;
      }
    }
    this.len = n;
  }

  /** The buffers go to the pool (for the next cache); this cache cannot be used again. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pool?.give({ buffers: this.buffers, capacity: this.capacity, shape: this.shape() });
    this.buffers = [];
    this.capacity = 0;
    this.len = 0;
  }

  private shape(): BufferShape {
    return { count: 2 * this.numLayers, row: this.row, type: this.type };
  }

  private checkLive(): void {
    if (this.released) throw new EdgespecError("invalid_argument", "this KV cache was released (its generation ended): start from a new cache");
  }

  private empty(): KvBuffer {
    return jsBuffer(this.type, 0);
  }

  /** Room for `positions` positions, doubling so appends are amortised O(added). */
  private reserve(positions: number): void {
    if (positions <= this.capacity) return;
    let cap = Math.max(INITIAL_POSITIONS, this.capacity);
    while (cap < positions) cap *= 2;
    for (let t = 0; t < 2 * this.numLayers; t++) {
      const next = this.pool ? this.pool.alloc(this.type, cap * this.row) : jsBuffer(this.type, cap * this.row);
      const old = this.buffers[t];
      if (old) {
        next.set(old.subarray(0, this.len * this.row));
        this.pool?.free(old);
      }
      this.buffers[t] = next;
    }
    this.capacity = cap;
  }
}

/** The export's own cache I/O: present (past + new, head-major) becomes the next past as is. */
export class WholeKvCache implements KvCache {
  private readonly tensors: Tensor[] = []; // [k0, v0, k1, v1, ...]
  private len = 0;

  constructor(
    private readonly ort: OrtModule,
    readonly numLayers: number,
    readonly numKvHeads: number,
    readonly headDim: number,
    readonly type: KvType = "float32",
  ) {
    const empty = jsBuffer(type, 0);
    for (let i = 0; i < 2 * numLayers; i++) this.tensors.push(new ort.Tensor(type, empty, [1, numKvHeads, 0, headDim]));
  }

  get length(): number {
    return this.len;
  }

  feeds(into: Record<string, Tensor>): void {
    for (let l = 0; l < this.numLayers; l++) {
      into[IO.pastKey(l)] = this.tensors[2 * l]!;
      into[IO.pastValue(l)] = this.tensors[2 * l + 1]!;
    }
  }

  update(outputs: Record<string, Tensor>): void {
    for (let l = 0; l < this.numLayers; l++) {
      this.tensors[2 * l] = outputs[IO.presentKey(l)]!;
      this.tensors[2 * l + 1] = outputs[IO.presentValue(l)]!;
    }
    this.len = this.tensors[0]!.dims[2]!;
  }

  truncate(length: number): void {
    if (length === this.len) return;
    checkTruncate(length, this.len);
    this.keep(Array.from({ length }, (_, i) => i));
  }

  keep(positions: ArrayLike<number>): void {
    checkKeep(positions, this.len);
    const n = positions.length;
    const old = this.len;
    const { numKvHeads: heads, headDim: d } = this;
    for (let t = 0; t < this.tensors.length; t++) {
      const data = bitsOf(this.tensors[t]!.data);
      // Runs of consecutive positions move with one copyWithin each. Destinations never pass their
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

/** A tensor's data as the buffer type: float16 arrives as Float16Array (Bun, Deno) or raw bits. */
function bitsOf(data: unknown): KvBuffer {
  if (data instanceof Float32Array || data instanceof Uint16Array) return data;
  const v = data as { buffer: ArrayBuffer; byteOffset: number; length: number };
  return new Uint16Array(v.buffer, v.byteOffset, v.length);
}
