/**
 * Static draft-tree templates for Token Recycling: node i is "child ranks[i] of node parents[i]"
 * (-1 = the root), breadth-first. Expanded from a root token, each node reads its token from its
 * parent token's row of the adjacency table.
 */
import { EdgespecError } from "../errors.ts";

export interface TreeTemplate {
  readonly size: number;
  readonly parents: Int32Array;
  readonly ranks: Int32Array;
}

/**
 * A template from the child count of every node in breadth-first order, root first; the children
 * of a node get the next free ids, ranks 0, 1, …. Trailing zeros may be left out.
 */
export function templateFromChildCounts(counts: readonly number[]): TreeTemplate {
  const parents: number[] = [];
  const ranks: number[] = [];
  for (let node = -1, i = 0; i < counts.length; node++, i++) {
    if (node >= parents.length) throw new EdgespecError("invalid_argument", `template child counts name node ${node}, which has no parent`);
    for (let r = 0; r < counts[i]!; r++) {
      parents.push(node);
      ranks.push(r);
    }
  }
  return { size: parents.length, parents: Int32Array.from(parents), ranks: Int32Array.from(ranks) };
}

/**
 * A template from Medusa-style rank paths ([[0], [1], [0, 0], …]: each path lists the ranks from
 * the root). Every prefix of a path must be a path too. Sorted breadth-first (by length, then ranks).
 */
export function templateFromPaths(paths: readonly (readonly number[])[]): TreeTemplate {
  const sorted = [...paths].sort((a, b) => a.length - b.length || cmpRanks(a, b));
  const index = new Map<string, number>([["", -1]]);
  const parents = new Int32Array(sorted.length);
  const ranks = new Int32Array(sorted.length);
  sorted.forEach((path, i) => {
    const key = path.join(",");
    const parent = index.get(path.slice(0, -1).join(","));
    if (path.length === 0 || parent === undefined || index.has(key)) {
      throw new EdgespecError("invalid_argument", `template path [${key}] is empty, repeated, or its parent path is missing`);
    }
    index.set(key, i);
    parents[i] = parent;
    ranks[i] = path[path.length - 1]!;
  });
  return { size: sorted.length, parents, ranks };
}

function cmpRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The nodes of `t` reachable through ranks < k only (the default template under a smaller k). */
export function pruneTemplate(t: TreeTemplate, k: number): TreeTemplate {
  const index = new Int32Array(t.size).fill(-1);
  const parents: number[] = [];
  const ranks: number[] = [];
  for (let i = 0; i < t.size; i++) {
    const p = t.parents[i]!;
    if (t.ranks[i]! >= k || (p >= 0 && index[p]! < 0)) continue;
    index[i] = parents.length;
    parents.push(p < 0 ? -1 : index[p]!);
    ranks.push(t.ranks[i]!);
  }
  return { size: parents.length, parents: Int32Array.from(parents), ranks: Int32Array.from(ranks) };
}

/** Parents before children, ranks < k, no two nodes with the same (parent, rank). */
export function checkTemplate(t: TreeTemplate, k: number): void {
  const seen = new Set<number>();
  if (t.parents.length !== t.size || t.ranks.length !== t.size) throw new EdgespecError("invalid_argument", "template arrays do not match its size");
  for (let i = 0; i < t.size; i++) {
    const p = t.parents[i]!;
    const r = t.ranks[i]!;
    if (!(p >= -1 && p < i)) throw new EdgespecError("invalid_argument", `template node ${i} has parent ${p}: parents must come first`);
    if (!(r >= 0 && r < k)) throw new EdgespecError("invalid_argument", `template node ${i} has rank ${r}, outside [0, ${k})`);
    const key = (p + 1) * k + r;
    if (seen.has(key)) throw new EdgespecError("invalid_argument", `template node ${i} repeats rank ${r} under parent ${p}`);
    seen.add(key);
  }
}

/**
 * Token Recycling's default tree (arXiv 2408.08696; the 80-node tree the authors ship with their
 * code): depth 6, 8/21/25/15/8/3 nodes per level, favouring rank 0 the deeper it goes.
 * Child counts breadth-first, one line per level (the root's line first).
 */
export const TOKEN_RECYCLING_TEMPLATE: TreeTemplate = templateFromChildCounts([
  8,
  8, 4, 3, 2, 1, 1, 1, 1,
  8, 3, 2, 1, 1, 1, 1, 1, 2, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0,
  5, 2, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0,
  3, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0,
  2, 0, 0, 1, 0, 0, 0, 0,
]);
