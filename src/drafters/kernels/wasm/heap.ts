/**
 * Typed-array access to the kernels' linear memory. A call that allocates may grow the memory,
 * which replaces `memory.buffer`; the view is re-taken whenever that happened (no per-call
 * allocation otherwise). Objects made in WASM are freed by `dispose()` or, as a backstop, when
 * their JS wrapper is garbage-collected.
 */
import { EdgespecError } from "../../../errors.ts";
import type { KernelExports } from "./loader.ts";
import type { TreeKernel } from "../types.ts";

export class WasmHeap {
  private i32 = new Int32Array(0);
  private readonly registry = new FinalizationRegistry<() => void>((free) => free());

  constructor(readonly exports: KernelExports) {}

  view(): Int32Array {
    const buffer = this.exports.memory.buffer;
    if (this.i32.buffer !== buffer) this.i32 = new Int32Array(buffer);
    return this.i32;
  }

  write(ptr: number, values: ArrayLike<number>, offset = 0): void {
    this.view().set(values, (ptr >>> 2) + offset);
  }

  read(ptr: number, n: number, offset = 0): Int32Array {
    const at = (ptr >>> 2) + offset;
    return this.view().slice(at, at + n);
  }

  /** `n` int32s from `ptr` (after `offset` of them) as bytes, each value cut to 8 bits. */
  readBytes(ptr: number, n: number, offset = 0): Uint8Array {
    const view = this.view();
    const at = (ptr >>> 2) + offset;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = view[at + i]!;
    return out;
  }

  /** Frees `handle` with `free` when `owner` is collected, unless `release(owner)` came first. */
  track(owner: object, free: () => void): void {
    this.registry.register(owner, free, owner);
  }

  release(owner: object): void {
    this.registry.unregister(owner);
  }
}

/** Base of every WASM kernel wrapper: owns one handle, frees it once. */
export abstract class WasmObject {
  private handle: number;
  private readonly free: (handle: number) => void;

  constructor(
    protected readonly heap: WasmHeap,
    handle: number,
    free: (handle: number) => void,
  ) {
    this.handle = handle;
    this.free = free;
    heap.track(this, () => free(handle));
  }

  /** The raw handle, for passing this object to a kernel call. */
  get raw(): number {
    if (this.handle === 0) throw new EdgespecError("invalid_argument", "this WASM kernel object was disposed");
    return this.handle;
  }

  belongsTo(heap: WasmHeap): boolean {
    return this.heap === heap;
  }

  dispose(): void {
    if (this.handle === 0) return;
    this.heap.release(this);
    this.free(this.handle);
    this.handle = 0;
  }
}

/** The handle of a WASM tree; kernels of one set cannot draft into another set's tree. */
export function wasmTreeHandle(tree: TreeKernel, heap: WasmHeap): number {
  if (tree instanceof WasmObject && tree.belongsTo(heap)) return tree.raw;
  throw new EdgespecError("invalid_argument", "a WASM kernel was given a tree from another kernel set (use one KernelSet per drafter)");
}
