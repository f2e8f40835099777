/** Small helpers shared by the TypeScript kernels. */
import { EdgespecError } from "../../../errors.ts";
import { TreeBuilder } from "../../tree-builder.ts";
import type { TreeKernel } from "../types.ts";

/** Growable Int32Array storage (doubling, like a Rust Vec). */
export function ensureInt32(a: Int32Array, need: number, fill = 0): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a as Int32Array<ArrayBuffer>;
  let size = Math.max(16, a.length);
  while (size < need) size *= 2;
  const b = new Int32Array(size);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

/** The tree as a TypeScript tree kernel; kernels of one set cannot draft into another set's tree. */
export function tsTree(tree: TreeKernel): TreeBuilder {
  if (tree instanceof TreeBuilder) return tree;
  throw new EdgespecError("invalid_argument", "a TypeScript kernel was given a tree from another kernel set (use one KernelSet per drafter)");
}
