/**
 * Runs an onnxruntime-web WASM session through its runtime's C API (`_OrtRun` on the Emscripten
 * instance) instead of `InferenceSession.run`, for the same outputs, bit for bit.
 *
 * Why: `InferenceSession.run`'s JS adds to every forward (run options created and released,
 * every input prepared behind its own await, each output wrapped twice), and it copies every
 * input into the heap, the whole past KV cache included. Measured on edgespec-tiny (2026-12-08,
 * Bun, 2 threads, the model loaded both ways in one process, alternating decodes of 128 one-token
 * forwards, both load orders): session.run / this, after 100 positions median 1.065 (1.00-1.14);
 * with the caches in the heap too (kvArena), after 600 positions median 1.19 (1.15-1.23). A replay
 * of one step's feeds in a tight loop read 10-23% at every context: decodes are the figure.
 *
 * An input whose data already lies in the instance's heap is passed where it lies (no copy); any
 * other is copied in, as onnxruntime-web does. Outputs are copied out into fresh arrays of the
 * types onnxruntime-web gives, as `ort.Tensor`s, so callers see what `session.run` returns.
 *
 * The instance is the plain threaded build's (adapters/ort-wasm captures no other), whose
 * `_OrtRun` returns when the run is done; the JSEP/JSPI builds' would return a promise.
 * The instance and the session's handle are onnxruntime-web internals (1.30): `attach` takes them
 * only where they look as expected, and the loader compares a forward through both paths before
 * it uses this one (direct-run.ts), else keeps `session.run`.
 */
import type { InferenceSession, Tensor } from "onnxruntime-web";
import type { OrtModule } from "../host.ts";
import type { KvArena, KvBuffer } from "./kv-cache.ts";

/** What the runner uses of onnxruntime-web's WebAssembly instance (an Emscripten module). */
export interface OrtWasmInstance {
  readonly HEAPU8: Uint8Array;
  readonly PTR_SIZE?: number;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _OrtCreateTensor(type: number, data: number, bytes: number, dims: number, dimsLength: number, location: number): number;
  _OrtGetTensorData(tensor: number, type: number, data: number, dims: number, dimsLength: number): number;
  _OrtReleaseTensor(tensor: number): number;
  _OrtFree(ptr: number): number;
  _OrtRun(session: number, inputNames: number, inputs: number, inputCount: number, outputNames: number, outputCount: number, outputs: number, runOptions: number): number;
  _OrtGetLastError(code: number, message: number): void;
  stackSave(): number;
  stackRestore(ptr: number): void;
  stackAlloc(bytes: number): number;
  UTF8ToString(ptr: number): string;
}

type Feeds = Record<string, Tensor>;
type Outputs = Record<string, Tensor>;
type TypedArray = Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Uint32Array | Float64Array | BigUint64Array;

/** ONNX element types by onnxruntime-web's names, and back; the array type each comes back in. */
const ELEMENT: Record<string, number> = { float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13 };
const NAME_OF = Object.fromEntries(Object.entries(ELEMENT).map(([k, v]) => [v, k])) as Record<number, string>;
/** What onnxruntime-web returns each type in (float16: Float16Array where the runtime has one). */
function arrayType(name: string): new (n: number) => TypedArray {
  switch (name) {
    case "float32":
      return Float32Array;
    case "float16":
      return ((globalThis as unknown as { Float16Array?: new (n: number) => TypedArray }).Float16Array ?? Uint16Array) as new (n: number) => TypedArray;
    case "int32":
      return Int32Array;
    case "int64":
      return BigInt64Array;
    case "uint64":
      return BigUint64Array;
    case "uint8":
    case "bool":
      return Uint8Array;
    case "int8":
      return Int8Array;
    case "uint16":
      return Uint16Array;
    case "int16":
      return Int16Array;
    case "uint32":
      return Uint32Array;
    case "float64":
      return Float64Array;
  }
  throw new Error(`onnxruntime C API: unsupported element type ${name}`);
}

/** The functions the runner calls: an instance without one of them is not the one this was written for. */
const NEEDED = ["_malloc", "_free", "_OrtCreateTensor", "_OrtGetTensorData", "_OrtReleaseTensor", "_OrtFree", "_OrtRun", "_OrtGetLastError", "stackSave", "stackRestore", "stackAlloc", "UTF8ToString"] as const;

export class WasmSessionRunner {
  /** Each input and output name as a NUL-terminated string in the heap, made once. */
  private readonly names = new Map<string, number>();
  /** Every buffer the heap has had (it grows into new SharedArrayBuffers over the same memory): a view of any of them lies in the heap at its byteOffset. */
  private readonly heaps = new WeakSet<ArrayBufferLike>();
  private disposed = false;
  /** Set once the load has compared a forward through this runner with session.run's (directWasmRunner). */
  private checked = false;

  private constructor(
    private readonly m: OrtWasmInstance,
    private readonly handle: number,
    private readonly ort: OrtModule,
  ) {}

  /**
   * A runner for `session`, or undefined where `instance` or the session's handle is not what
   * onnxruntime-web 1.30 has (another version, another build: the caller keeps `session.run`).
   */
  static attach(ort: OrtModule, instance: unknown, session: InferenceSession): WasmSessionRunner | undefined {
    const m = instance as Partial<OrtWasmInstance> | undefined;
    if (!m || !(m.HEAPU8 instanceof Uint8Array) || (m.PTR_SIZE ?? 4) !== 4) return undefined;
    if (NEEDED.some((f) => typeof m[f] !== "function")) return undefined;
    const handle = (session as unknown as { handler?: { sessionId?: unknown } }).handler?.sessionId;
    if (typeof handle !== "number" || !Number.isInteger(handle) || handle <= 0) return undefined;
    return new WasmSessionRunner(m as OrtWasmInstance, handle, ort);
  }

  /** The load compared a forward through this runner with session.run's: caches may live in the heap (kvArena). */
  markChecked(): void {
    this.checked = true;
  }

  /**
   * KV cache buffers in the instance's heap, which a run passes where they lie (no copy of the
   * past per forward). Only where the heap is shared memory: growing it then leaves the views
   * made before valid (the same memory, under an older, shorter SharedArrayBuffer), where an
   * unshared heap would detach them. Undefined elsewhere: the caches stay in JS memory.
   */
  kvArena(): KvArena | undefined {
    const m = this.m;
    // Not for the load's probe models (directWasmRunner), which are dropped without a dispose.
    if (!this.checked) return undefined;
    if (typeof SharedArrayBuffer === "undefined" || !(m.HEAPU8.buffer instanceof SharedArrayBuffer)) return undefined;
    const made = new WeakSet<KvBuffer>();
    return {
      alloc: (type, elements) => {
        if (this.disposed) return undefined;
        const bytes = elements * (type === "float32" ? 4 : 2);
        const ptr = m._malloc(Math.max(bytes, 1));
        if (!ptr) return undefined;
        const heap = m.HEAPU8.buffer;
        this.heaps.add(heap);
        const buffer = type === "float32" ? new Float32Array(heap, ptr, elements) : new Uint16Array(heap, ptr, elements);
        made.add(buffer);
        return buffer;
      },
      free: (buffer) => {
        if (!made.has(buffer)) return;
        made.delete(buffer);
        if (!this.disposed) m._free(buffer.byteOffset);
      },
    };
  }

  /** `session.run(feeds, fetches)`, through the C API. */
  run(feeds: Feeds, fetches: readonly string[]): Outputs {
    if (this.disposed) throw new Error("onnxruntime C API: the runner was disposed");
    const m = this.m;
    const inputs = Object.keys(feeds);
    const copies: number[] = [];
    const tensors: number[] = [];
    const stack = m.stackSave();
    try {
      const inValues = m.stackAlloc(4 * inputs.length);
      const inNames = m.stackAlloc(4 * inputs.length);
      const outValues = m.stackAlloc(4 * fetches.length);
      const outNames = m.stackAlloc(4 * fetches.length);
      for (let i = 0; i < inputs.length; i++) {
        const name = inputs[i]!;
        const t = feeds[name]!;
        const type = ELEMENT[t.type];
        if (type === undefined) throw new Error(`onnxruntime C API: input ${name} of type ${t.type} is not supported`);
        const data = t.data as TypedArray;
        const bytes = data.byteLength;
        let ptr: number;
        if (data.buffer === m.HEAPU8.buffer || this.heaps.has(data.buffer)) ptr = data.byteOffset;
        else {
          ptr = m._malloc(Math.max(bytes, 1));
          if (!ptr) throw new Error(`onnxruntime C API: cannot allocate ${bytes} bytes for input ${name}`);
          copies.push(ptr);
          m.HEAPU8.set(new Uint8Array(data.buffer, data.byteOffset, bytes), ptr);
        }
        const dims = m.stackAlloc(4 * t.dims.length);
        // Anything that may allocate (and so grow the heap) comes before the view is taken.
        const namePtr = this.nameOf(name);
        const heap32 = new Int32Array(m.HEAPU8.buffer);
        for (let d = 0; d < t.dims.length; d++) heap32[(dims >> 2) + d] = t.dims[d]!;
        const tensor = m._OrtCreateTensor(type, ptr, bytes, dims, t.dims.length, 1 /* cpu */);
        if (!tensor) this.fail(`cannot create a tensor for input ${name}`);
        tensors.push(tensor);
        heap32[(inValues >> 2) + i] = tensor;
        heap32[(inNames >> 2) + i] = namePtr;
      }
      const outNamePtrs = fetches.map((f) => this.nameOf(f));
      let heap32 = new Int32Array(m.HEAPU8.buffer);
      for (let i = 0; i < fetches.length; i++) {
        heap32[(outValues >> 2) + i] = 0;
        heap32[(outNames >> 2) + i] = outNamePtrs[i]!;
      }
      if (m._OrtRun(this.handle, inNames, inValues, inputs.length, outNames, fetches.length, outValues, 0) !== 0) this.fail("failed to call OrtRun()");
      const out: Outputs = {};
      const info = m.stackAlloc(16);
      for (let i = 0; i < fetches.length; i++) {
        heap32 = new Int32Array(m.HEAPU8.buffer); // the run may have grown the heap
        const tensor = heap32[(outValues >> 2) + i]!;
        try {
          if (m._OrtGetTensorData(tensor, info, info + 4, info + 8, info + 12) !== 0) this.fail(`cannot read output ${fetches[i]}`);
          heap32 = new Int32Array(m.HEAPU8.buffer);
          const name = NAME_OF[heap32[info >> 2]!];
          const data = heap32[(info >> 2) + 1]!;
          const dimsAt = heap32[(info >> 2) + 2]!;
          const rank = heap32[(info >> 2) + 3]!;
          const dims: number[] = [];
          for (let d = 0; d < rank; d++) dims.push(heap32[(dimsAt >> 2) + d]!);
          m._OrtFree(dimsAt);
          if (name === undefined) throw new Error(`onnxruntime C API: output ${fetches[i]} has an unsupported type`);
          const values = new (arrayType(name))(dims.reduce((a, b) => a * b, 1));
          new Uint8Array(values.buffer, values.byteOffset, values.byteLength).set(m.HEAPU8.subarray(data, data + values.byteLength));
          out[fetches[i]!] = new this.ort.Tensor(name as "float32", values as Float32Array, dims);
        } finally {
          m._OrtReleaseTensor(tensor);
        }
      }
      return out;
    } finally {
      for (const t of tensors) m._OrtReleaseTensor(t);
      for (const p of copies) m._free(p);
      m.stackRestore(stack);
    }
  }

  /** Frees the names (the session itself is the caller's to release). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.names.values()) this.m._free(p);
    this.names.clear();
  }

  private nameOf(name: string): number {
    let p = this.names.get(name);
    if (p === undefined) {
      const bytes = new TextEncoder().encode(`${name}\0`);
      p = this.m._malloc(bytes.length);
      if (!p) throw new Error("onnxruntime C API: cannot allocate a name");
      this.m.HEAPU8.set(bytes, p);
      this.names.set(name, p);
    }
    return p;
  }

  /** Throws onnxruntime's last error, as onnxruntime-web words it. */
  private fail(what: string): never {
    const m = this.m;
    const stack = m.stackSave();
    try {
      const at = m.stackAlloc(8);
      m._OrtGetLastError(at, at + 4);
      const heap32 = new Int32Array(m.HEAPU8.buffer);
      const code = heap32[at >> 2]!;
      const message = heap32[(at >> 2) + 1]!;
      throw new Error(`${what}. ERROR_CODE: ${code}, ERROR_MESSAGE: ${message ? m.UTF8ToString(message) : ""}`);
    } finally {
      m.stackRestore(stack);
    }
  }
}
