/**
 * Token Recycling (arXiv 2408.08696): the model's top-k candidates after every token it has
 * verified are kept in a vocab × k table — rejected draft nodes included ("recycling") — and each
 * step a static tree template is expanded breadth-first from the last token through that table.
 * The table is the drafter's cross-request memory: `reset` keeps it (hot start), `save`/`load`
 * carry it across restarts, and a table saved under another tokenizer is refused.
 */
import { type CommonOptions, type DrafterContext, drafterContext, lastToken } from "./context.ts";
import type { RecyclingTableKernel, TreeKernel } from "./kernels/types.ts";
import { readState, type StateIdentity, writeState } from "./persist.ts";
import { DRAFT_SOURCES, SOURCE } from "./sources.ts";
import { checkTemplate, pruneTemplate, TOKEN_RECYCLING_TEMPLATE, type TreeTemplate } from "./tree-template.ts";
import { confidenceClass, type DraftTree, type Drafter, emptyTree, type VerifyUpdate } from "./types.ts";
import { checkBudget, checkTokenIds, checkUpdate, intOption } from "./validate.ts";
import { EdgespecError } from "../errors.ts";

const MAGIC = "ESTR";
const VERSION = 1;
/** Candidates per row unless `recycle.k` says otherwise (the paper's 8): the built-in drafters' k. */
export const DEFAULT_K = 8;

export interface RecyclingOptions {
  /** Candidates per row (default 8, as in the paper). */
  k?: number;
  /** Tree template (default: the paper's 80-node, depth-6 tree; with k < 8, its nodes of rank < k). */
  template?: TreeTemplate;
  /** A table from `save()`: start hot. */
  table?: Uint8Array;
}

/**
 * How often a row's best candidate turned out right, by how many rewrites in a row have kept it
 * (0, 1, 2–3, 4+) and whether the row was written after the same token that precedes it now:
 * the tree selector's depth-1 trials over 18 prompts of the bench suite (edgespec-tiny,
 * 2026-12-06). Only starting points: the selector learns each class's real rate as it goes.
 */
const ROW_RATES = [
  [0.24, 0.35, 0.52, 0.77],
  [0.45, 0.76, 0.95, 0.9],
];

function rowClass(steady: number, sameContext: boolean): number {
  return confidenceClass(ROW_RATES[sameContext ? 1 : 0]![steady === 0 ? 0 : steady === 1 ? 1 : steady < 4 ? 2 : 3]!);
}

/**
 * A saved table's rows (ids, -1 = none) and steadiness counts, every check `load` makes done:
 * format, tokenizer and vocabulary (persist.ts), k, sizes, ids in the vocabulary. Throws
 * `invalid_argument` (or a TokenizerMismatchError) worded with `what`.
 */
export function readRecyclingTable(bytes: Uint8Array, expected: StateIdentity, k = DEFAULT_K, what = "Token Recycling table"): { ids: Int32Array; steadiness?: Uint16Array | Int32Array } {
  const { fields, arrays } = readState(bytes, MAGIC, VERSION, expected, what);
  if (fields[0] !== k) throw new EdgespecError("invalid_argument", `${what} was saved with k = ${fields[0]}, this drafter uses k = ${k}`);
  const [rows, steadiness] = arrays;
  if (!rows || arrays.length > 2 || rows.length !== expected.vocabSize * k) {
    throw new EdgespecError("invalid_argument", `${what} holds ${rows?.length ?? 0} ids, expected ${expected.vocabSize * k}`);
  }
  if (steadiness && (steadiness.length !== expected.vocabSize || steadiness.some((v) => v < 0 || v > 255))) {
    throw new EdgespecError("invalid_argument", `${what} holds ${steadiness.length} steadiness counts, expected ${expected.vocabSize} in 0..255`);
  }
  const ids = rows instanceof Uint16Array ? Int32Array.from(rows, (v) => (v === 0xffff ? -1 : v)) : rows;
  checkTokenIds(ids, expected.vocabSize, what, true);
  return { ids, ...(steadiness ? { steadiness } : {}) };
}

export class TokenRecyclingDrafter implements Drafter {
  readonly name = "recycle";
  readonly sourceNames = DRAFT_SOURCES;
  readonly template: TreeTemplate;
  private readonly ctx: DrafterContext;
  private readonly table: RecyclingTableKernel;
  private tree: TreeKernel | undefined;
  private root = -1;
  /** The token before `root` in the sequence (-1: none). */
  private beforeRoot = -1;
  /** The token before the next update's first row (-1 for a prefill: nothing precedes the prompt). */
  private beforeFirstRow = -1;
  /** Per row: its best candidate as last written, and how many writes in a row kept it (capped). */
  private readonly best: Int32Array;
  private readonly steady: Uint8Array;
  /** Per row: the token before it when it was last written (-1: none), the context it was computed in. */
  private readonly writtenAfter: Int32Array;

  constructor(opts: CommonOptions & { recycle?: RecyclingOptions }) {
    this.ctx = drafterContext(opts);
    const k = intOption(opts.recycle?.k, DEFAULT_K, "recycle.k", 1, 64);
    this.template = opts.recycle?.template ?? pruneTemplate(TOKEN_RECYCLING_TEMPLATE, k);
    checkTemplate(this.template, k);
    this.table = this.ctx.kernels.recyclingTable(this.ctx.vocabSize, k);
    this.table.setTemplate(this.template.parents, this.template.ranks);
    this.best = new Int32Array(this.ctx.vocabSize).fill(-1);
    this.steady = new Uint8Array(this.ctx.vocabSize);
    this.writtenAfter = new Int32Array(this.ctx.vocabSize).fill(-1);
    if (opts.recycle?.table) this.load(opts.recycle.table);
  }

  get k(): number {
    return this.table.k;
  }

  get candidatesPerRow(): number {
    return this.table.k;
  }

  reset(promptTokens: ArrayLike<number>): void {
    checkTokenIds(promptTokens, this.ctx.vocabSize, "prompt");
    this.root = lastToken(promptTokens);
    this.beforeRoot = promptTokens.length > 1 ? promptTokens[promptTokens.length - 2]! : -1;
    this.beforeFirstRow = -1;
  }

  propose(budget: number): DraftTree {
    const cap = Math.min(checkBudget(budget), this.template.size);
    if (cap === 0 || this.root < 0) return emptyTree();
    this.tree ??= this.ctx.kernels.tree();
    this.tree.clear(cap);
    this.draftInto(this.tree, SOURCE.recycle);
    return this.classify(this.tree.finish(), SOURCE.recycle);
  }

  observe(update: VerifyUpdate): void {
    checkUpdate(update, this.ctx.vocabSize);
    this.learn(update);
  }

  /** `observe` without the checks (the hybrid checks once for all its parts). */
  learn(update: VerifyUpdate): void {
    if (update.k > 0 && update.verifiedTokens.length > 0) {
      this.trackSteadiness(update);
      this.table.update(update.verifiedTokens, update.topK, update.k);
    }
    const n = update.accepted.length;
    if (n > 0) {
      this.beforeRoot = n > 1 ? update.accepted[n - 2]! : this.root;
      this.root = update.accepted[n - 1]!;
    }
    this.beforeFirstRow = this.beforeRoot;
  }

  /** Expands the template from the last token into `tree` (a tree of the same kernel set). */
  draftInto(tree: TreeKernel, source: number): void {
    if (this.root >= 0) this.table.expandInto(tree, this.root, source);
  }

  /**
   * Puts a confidence class on the nodes of `tree` that `source` (this table) added, from two
   * facts about the parent's row: how steady its best candidate has been (a row whose best
   * candidate survived the last few rewrites holds a next token that does not depend on context,
   * "self" → "."), and whether it was written after the same token that precedes the parent now
   * (the row was computed in a context like this one). Teacher-forced over 18 prompts of the bench
   * suite (edgespec-tiny), the best candidate is right 22% of the time after a change in another
   * context, 99% after 4+ steady rewrites in the same one.
   */
  classify(tree: DraftTree, source: number): DraftTree {
    const classes = (tree.classes ??= new Uint8Array(tree.size));
    for (let i = 0; i < tree.size; i++) {
      if ((tree.sources?.[i] ?? source) !== source) continue;
      const parent = tree.parents[i]!;
      const row = parent < 0 ? this.root : tree.tokens[parent]!;
      const grand = parent < 0 ? -2 : tree.parents[parent]!;
      const before = grand === -2 ? this.beforeRoot : grand < 0 ? this.root : tree.tokens[grand]!;
      classes[i] = rowClass(this.steady[row]!, before >= 0 && this.writtenAfter[row] === before);
    }
    return tree;
  }

  /**
   * Per node of `tree`: 1 when its parent's row, as last written, has the node's token as its
   * best candidate; 0 when it has another; -1 when the row was never written. The model's own
   * last guess after the parent token: a second opinion on nodes other sources drafted.
   */
  rowOpinions(tree: DraftTree): Int8Array {
    const out = new Int8Array(tree.size);
    for (let i = 0; i < tree.size; i++) {
      const parent = tree.parents[i]!;
      const best = this.best[parent < 0 ? this.root : tree.tokens[parent]!] ?? -1;
      out[i] = best < 0 ? -1 : best === tree.tokens[i] ? 1 : 0;
    }
    return out;
  }

  /** The candidates of one row, best first (-1 = none). */
  row(token: number): Int32Array {
    checkTokenIds([token], this.ctx.vocabSize, "token");
    return Int32Array.from({ length: this.k }, (_, j) => this.table.get(token, j));
  }

  /**
   * The table as bytes (Uint16 ids when the vocabulary allows, else Int32), for a hot start later,
   * then each row's steadiness (an optional second array: tables saved before it load without).
   */
  save(): Uint8Array {
    const ids = this.table.exportRows();
    const rows = this.ctx.vocabSize < 0xffff ? Uint16Array.from(ids, (v) => v & 0xffff) : ids;
    return writeState(MAGIC, VERSION, this.identity(), { fields: [this.k], arrays: [rows, Uint16Array.from(this.steady)] });
  }

  /** Replaces the table with a saved one; refuses one saved for another tokenizer, vocabulary or k. */
  load(bytes: Uint8Array): void {
    const { ids, steadiness } = readRecyclingTable(bytes, this.identity(), this.k);
    this.table.importRows(ids);
    for (let row = 0; row < this.ctx.vocabSize; row++) this.best[row] = ids[row * this.k]!;
    if (steadiness) this.steady.set(steadiness);
    else this.steady.fill(0);
    this.writtenAfter.fill(-1);
  }

  memoryBytes(): number {
    return this.table.memoryBytes() + this.best.byteLength + this.steady.byteLength + this.writtenAfter.byteLength + (this.tree?.memoryBytes() ?? 0);
  }

  dispose(): void {
    this.table.dispose();
    this.tree?.dispose();
  }

  /** Before a table update: each written row's best candidate, kept or replaced. */
  private trackSteadiness(update: VerifyUpdate): void {
    const { verifiedTokens: tokens, verifiedParents: parents, topK, k } = update;
    for (let i = 0; i < tokens.length; i++) {
      const row = tokens[i]!;
      const parent = parents ? parents[i]! : i - 1;
      this.writtenAfter[row] = parent < 0 ? this.beforeFirstRow : tokens[parent]!;
      const first = topK[i * k]!;
      if (this.best[row] === first) {
        if (this.steady[row]! < 255) this.steady[row]!++;
      } else {
        this.best[row] = first;
        this.steady[row] = 0;
      }
    }
  }

  private identity() {
    return { fingerprint: this.ctx.fingerprint, vocabSize: this.ctx.vocabSize };
  }
}
