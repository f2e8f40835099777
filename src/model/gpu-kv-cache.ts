/**
 * A KV cache that stays in GPU buffers (WebGPU): the export's own cache I/O (present = past + new,
 * head-major), with the session told to leave `present.*` on the GPU, so a step feeds back last
 * step's buffers and reads back only logits (greedy: ids, causal-lm.ts `forwardTop`). Rollback to
 * an accepted path is recorded at once (`keep`/`truncate` stay synchronous, as the engine calls
 * them) and applied before the next forward by `flush`: one run of a Gather graph
 * (src/onnx/kv-gather.ts) on the same device.
 * Replaced buffers are destroyed as soon as nothing refers to them; `release` frees the rest.
 */
import type { InferenceSession, Tensor } from "onnxruntime-web";
import { EdgespecError } from "../errors.ts";
import type { OrtModule } from "../host.ts";
import { KV_GATHER_KEEP, kvGatherInput, kvGatherOutput } from "../onnx/kv-gather.ts";
import { IO } from "./io-names.ts";
import { checkKeep, checkTruncate, type KvCache, type KvType } from "./kv-cache.ts";

export class GpuKvCache implements KvCache {
  private tensors: Tensor[] = []; // [k0, v0, k1, v1, ...]
  private len = 0;
  /** Positions of the tensors to keep, in order, not yet gathered (undefined: none pending). */
  private pending: number[] | undefined;
  /** Positions the tensors hold (before `pending` is applied). */
  private held = 0;

  constructor(
    private readonly ort: OrtModule,
    readonly numLayers: number,
    readonly numKvHeads: number,
    readonly headDim: number,
    readonly type: KvType,
    private readonly gather: InferenceSession,
  ) {
    this.tensors = Array.from({ length: 2 * numLayers }, () => this.empty());
  }

  get length(): number {
    return this.len;
  }

  /** Applies a pending rollback on the GPU; CausalLM awaits it before each forward. */
  async flush(): Promise<void> {
    const keep = this.pending;
    if (!keep) return;
    this.pending = undefined;
    if (keep.length === this.held && keep.every((p, i) => p === i)) return;
    if (keep.length === 0) {
      this.replace(Array.from({ length: 2 * this.numLayers }, () => this.empty()));
      this.held = 0;
      return;
    }
    const feeds: Record<string, Tensor> = { [KV_GATHER_KEEP]: new this.ort.Tensor("int64", BigInt64Array.from(keep, BigInt), [keep.length]) };
    this.tensors.forEach((t, i) => (feeds[kvGatherInput(i)] = t));
    const out = await this.gather.run(feeds);
    this.replace(this.tensors.map((_, i) => out[kvGatherOutput(i)]!));
    this.held = keep.length;
  }

  feeds(into: Record<string, Tensor>): void {
    if (this.pending) throw new EdgespecError("not_ready", "GPU KV cache fed before its rollback was flushed");
    for (let l = 0; l < this.numLayers; l++) {
      into[IO.pastKey(l)] = this.tensors[2 * l]!;
      into[IO.pastValue(l)] = this.tensors[2 * l + 1]!;
    }
  }

  update(outputs: Record<string, Tensor>): void {
    const next: Tensor[] = [];
    for (let l = 0; l < this.numLayers; l++) next.push(outputs[IO.presentKey(l)]!, outputs[IO.presentValue(l)]!);
    if (next[0]!.location !== "gpu-buffer") throw new EdgespecError("model_invalid", `present KV came back on ${next[0]!.location}, not the GPU`);
    this.replace(next);
    this.held = this.len = next[0]!.dims[2]!;
  }

  truncate(length: number): void {
    checkTruncate(length, this.len);
    if (length === this.len) return;
    this.pending = (this.pending ?? range(this.len)).slice(0, length);
    this.len = length;
  }

  keep(positions: ArrayLike<number>): void {
    checkKeep(positions, this.len);
    const base = this.pending;
    this.pending = Array.from(positions, (p) => (base ? base[p]! : p));
    this.len = positions.length;
  }

  /** The cache's tensors read back to the CPU, [k0, v0, k1, v1, ...] head-major (for checks and diagnostics; costs a copy). */
  async read(): Promise<ArrayLike<number>[]> {
    await this.flush();
    return Promise.all(this.tensors.map(async (t) => (t.location === "gpu-buffer" ? ((await t.getData()) as ArrayLike<number>) : (t.data as ArrayLike<number>))));
  }

  /** Frees the GPU buffers (the cache is empty after). */
  release(): void {
    this.replace(Array.from({ length: 2 * this.numLayers }, () => this.empty()));
    this.pending = undefined;
    this.len = this.held = 0;
  }

  /** Installs `next`, destroying old GPU buffers that `next` does not reuse (an in-place kernel can hand the same buffer back). */
  private replace(next: Tensor[]): void {
    const kept = new Set(next.map((t) => (t.location === "gpu-buffer" ? t.gpuBuffer : undefined)));
    for (const t of this.tensors) if (t.location === "gpu-buffer" && !kept.has(t.gpuBuffer)) t.dispose();
    this.tensors = next;
  }

  private empty(): Tensor {
    return new this.ort.Tensor(this.type, this.type === "float32" ? new Float32Array(0) : new Uint16Array(0), [1, this.numKvHeads, 0, this.headDim]);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
