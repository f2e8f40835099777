/**
 * Input checks shared by every drafter. Kernels trust their input, so ids are checked here, once,
 * before anything reaches them: a bad id is the caller's bug and gets a clear `invalid_token`.
 */
import { EdgespecError } from "../errors.ts";
import type { DraftTree, VerifyUpdate } from "./types.ts";

/** Trees never get more nodes than this, whatever budget is asked (bounds the scratch memory). */
export const MAX_TREE_NODES = 4096;

/** Every id in [0, vocabSize) — or -1 too when `allowNone` (top-k padding) — of the first `count`. */
export function checkTokenIds(ids: ArrayLike<number>, vocabSize: number, what: string, allowNone = false, count = ids.length): void {
  const min = allowNone ? -1 : 0;
  for (let i = 0; i < count; i++) {
    const t = ids[i]!;
    if (!(Number.isInteger(t) && t >= min && t < vocabSize)) {
      throw new EdgespecError("invalid_token", `${what}[${i}] = ${t} is not a token id in [${min}, ${vocabSize})`);
    }
  }
}

export function checkVocabSize(vocabSize: number): void {
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize > 0x7fffffff) {
    throw new EdgespecError("invalid_argument", `vocabSize must be a positive integer, got ${vocabSize}`);
  }
}

/** The node budget as the tree capacity: 0 means "no guess". */
export function checkBudget(budget: number): number {
  if (!Number.isInteger(budget) || budget < 0) throw new EdgespecError("invalid_argument", `budget must be an integer >= 0, got ${budget}`);
  return Math.min(budget, MAX_TREE_NODES);
}

export function checkUpdate(u: VerifyUpdate, vocabSize: number): void {
  checkTokenIds(u.accepted, vocabSize, "accepted");
  checkTokenIds(u.verifiedTokens, vocabSize, "verifiedTokens");
  if (!Number.isInteger(u.k) || u.k < 0) throw new EdgespecError("invalid_argument", `k must be an integer >= 0, got ${u.k}`);
  const cells = u.verifiedTokens.length * u.k;
  if (u.topK.length < cells) {
    throw new EdgespecError("invalid_argument", `topK has ${u.topK.length} ids, expected ${u.verifiedTokens.length} rows of ${u.k}`);
  }
  checkTokenIds(u.topK, vocabSize, "topK", true, cells);
  const parents = u.verifiedParents;
  if (parents) {
    if (parents.length !== u.verifiedTokens.length) throw new EdgespecError("invalid_argument", `verifiedParents has ${parents.length} rows, expected ${u.verifiedTokens.length}`);
    for (let i = 0; i < parents.length; i++) {
      const p = parents[i]!;
      if (!Number.isInteger(p) || p < -1 || p >= i) throw new EdgespecError("invalid_argument", `verifiedParents[${i}] must be -1 or a row before ${i}, got ${p}`);
    }
  }
}

/** An integer option in [min, max], else `invalid_argument` naming it. */
export function intOption(value: number | undefined, fallback: number, name: string, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw new EdgespecError("invalid_argument", `${name} must be an integer in [${min}, ${max}], got ${v}`);
  return v;
}

/**
 * What is wrong with a proposed tree, or undefined when nothing is: its size within the budget,
 * arrays long enough, every parent an earlier node (or -1, the root: a node that is its own
 * parent would loop any walk up the tree for ever), every depth its parent's + 1 (the depths are
 * the positions the model verifies the nodes at: a wrong one would change the logits, and with
 * them the output), every token in the vocabulary. O(size), once a step: the engine's guard
 * against a user's drafter, which the kernels and the verify loop trust.
 */
export function draftTreeProblem(tree: DraftTree, budget: number, vocabSize: number): string | undefined {
  const n = tree?.size;
  if (!Number.isInteger(n) || n < 0) return `its size is ${n}, not an integer >= 0`;
  if (n > budget) return `it has ${n} nodes, over a budget of ${budget}`;
  if (n === 0) return undefined;
  for (const key of ["tokens", "parents", "depths"] as const) {
    const a = tree[key] as ArrayLike<number> | undefined;
    if (!a || typeof a.length !== "number" || a.length < n) return `its ${key} hold ${a?.length ?? "no"} entries for ${n} nodes`;
  }
  for (const key of ["sources", "classes", "agreed"] as const) {
    const a = tree[key];
    if (a !== undefined && a.length < n) return `its ${key} hold ${a.length} entries for ${n} nodes`;
  }
  for (let i = 0; i < n; i++) {
    const p = tree.parents[i]!;
    if (!(Number.isInteger(p) && p >= -1 && p < i)) return `node ${i}'s parent is ${p} (an earlier node's index, or -1 for the root)`;
    const depth = p < 0 ? 1 : tree.depths[p]! + 1;
    if (tree.depths[i] !== depth) return `node ${i}'s depth is ${tree.depths[i]}, its parent's + 1 is ${depth}`;
    const t = tree.tokens[i]!;
    if (!(Number.isInteger(t) && t >= 0 && t < vocabSize)) return `node ${i}'s token ${t} is not in [0, ${vocabSize})`;
  }
  return undefined;
}
