/**
 * Typed-array access to the kernels' linear memory. A call that allocates may grow the memory,
 * which replaces `memory.buffer`; the view is re-taken whenever that happened (no per-call
 * allocation otherwise). Objects made in WASM are freed by `dispose()` or, as a backstop, when
 * their JS wrapper is garbage-collected.
 *
 * Growth is noticed from the view itself, not by reading `memory.buffer`: growing a memory
 * detaches its old buffer, whose views then have length 0, and a view too short for an access is
 * re-taken too (a shared memory's old buffer stays attached at its old length). A decode step
 * starts with cold caches after a forward, where each `memory.buffer` read cost ~0.4 us on Bun
 * (a table update with 32 MB swept before it, three reads: 11.4 -> 10.2 us, 2026-12-07), and a
 * step made about ten of them.
 */
import { EdgespecError } from "../../../errors.ts";
import type { KernelExports } from "./loader.ts";
import type { TreeKernel } from "../types.ts";

export class WasmHeap {
  private i32 = new Int32Array(0);
  private readonly registry = new FinalizationRegistry<() => void>((free) => free());

  constructor(readonly exports: KernelExports) {}

  /** The memory as int32s, at least `end` of them (the memory is re-read only when the view is too short: see above). */
  view(end = 1): Int32Array {
    if (this.i32.length < end || this.i32.length === 0) this.i32 = new Int32Array(this.exports.memory.buffer);
    return this.i32;
  }

  /**
   * The first `n` of `values` to `ptr` (after `offset` int32s). Not `set(values.subarray(0, n))`:
   * right after a forward, allocating that view made a table update 3-4x dearer (scratch timing).
   */
  write(ptr: number, values: ArrayLike<number>, offset = 0, n = values.length): void {
    const at = (ptr >>> 2) + offset;
    const view = this.view(at + n);
    if (n === values.length) view.set(values, at);
    else for (let i = 0; i < n; i++) view[at + i] = values[i]!;
  }

  read(ptr: number, n: number, offset = 0): Int32Array {
    const at = (ptr >>> 2) + offset;
    return this.view(at + n).slice(at, at + n);
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
