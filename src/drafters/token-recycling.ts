/**
 * Token Recycling (arXiv 2408.08696): the model's top-k candidates after every token it has
 * verified are kept in a vocab × k table — rejected draft nodes included ("recycling") — and each
 * step a static tree template is expanded breadth-first from the last token through that table.
 * The table is the drafter's cross-request memory: `reset` keeps it (hot start), `save`/`load`
 * carry it across restarts, and a table saved under another tokenizer is refused.
 */
import { type CommonOptions, type DrafterContext, drafterContext, lastToken } from "./context.ts";
import type { RecyclingTableKernel, TreeKernel } from "./kernels/types.ts";
import { readState, writeState } from "./persist.ts";
import { DRAFT_SOURCES, SOURCE } from "./sources.ts";
import { checkTemplate, pruneTemplate, TOKEN_RECYCLING_TEMPLATE, type TreeTemplate } from "./tree-template.ts";
import { type DraftTree, type Drafter, emptyTree, type VerifyUpdate } from "./types.ts";
import { checkBudget, checkTokenIds, checkUpdate, intOption } from "./validate.ts";
import { EdgespecError } from "../errors.ts";

const MAGIC = "ESTR";
const VERSION = 1;

export interface RecyclingOptions {
  /** Candidates per row (default 8, as in the paper). */
  k?: number;
  /** Tree template (default: the paper's 80-node, depth-6 tree; with k < 8, its nodes of rank < k). */
  template?: TreeTemplate;
  /** A table from `save()`: start hot. */
  table?: Uint8Array;
}

export class TokenRecyclingDrafter implements Drafter {
  readonly name = "recycle";
  readonly sourceNames = DRAFT_SOURCES;
  readonly template: TreeTemplate;
  private readonly ctx: DrafterContext;
  private readonly table: RecyclingTableKernel;
  private tree: TreeKernel | undefined;
  private root = -1;

  constructor(opts: CommonOptions & { recycle?: RecyclingOptions }) {
    this.ctx = drafterContext(opts);
    const k = intOption(opts.recycle?.k, 8, "recycle.k", 1, 64);
    this.template = opts.recycle?.template ?? pruneTemplate(TOKEN_RECYCLING_TEMPLATE, k);
    checkTemplate(this.template, k);
    this.table = this.ctx.kernels.recyclingTable(this.ctx.vocabSize, k);
    this.table.setTemplate(this.template.parents, this.template.ranks);
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
  }

  propose(budget: number): DraftTree {
    const cap = Math.min(checkBudget(budget), this.template.size);
    if (cap === 0 || this.root < 0) return emptyTree();
    this.tree ??= this.ctx.kernels.tree();
    this.tree.clear(cap);
    this.draftInto(this.tree, SOURCE.recycle);
    return this.tree.finish();
  }

  observe(update: VerifyUpdate): void {
    checkUpdate(update, this.ctx.vocabSize);
    this.learn(update);
  }

  /** `observe` without the checks (the hybrid checks once for all its parts). */
  learn(update: VerifyUpdate): void {
    if (update.k > 0 && update.verifiedTokens.length > 0) this.table.update(update.verifiedTokens, update.topK, update.k);
    if (update.accepted.length > 0) this.root = lastToken(update.accepted);
  }

  /** Expands the template from the last token into `tree` (a tree of the same kernel set). */
  draftInto(tree: TreeKernel, source: number): void {
    if (this.root >= 0) this.table.expandInto(tree, this.root, source);
  }

  /** The candidates of one row, best first (-1 = none). */
  row(token: number): Int32Array {
    checkTokenIds([token], this.ctx.vocabSize, "token");
    return Int32Array.from({ length: this.k }, (_, j) => this.table.get(token, j));
  }

  /** The table as bytes (Uint16 ids when the vocabulary allows, else Int32), for a hot start later. */
  save(): Uint8Array {
    const ids = this.table.exportRows();
    const rows = this.ctx.vocabSize < 0xffff ? Uint16Array.from(ids, (v) => v & 0xffff) : ids;
    return writeState(MAGIC, VERSION, this.identity(), { fields: [this.k], arrays: [rows] });
  }

  /** Replaces the table with a saved one; refuses one saved for another tokenizer, vocabulary or k. */
  load(bytes: Uint8Array): void {
    const what = "Token Recycling table";
    const { fields, arrays } = readState(bytes, MAGIC, VERSION, this.identity(), what);
    if (fields[0] !== this.k) throw new EdgespecError("invalid_argument", `${what} was saved with k = ${fields[0]}, this drafter uses k = ${this.k}`);
    const rows = arrays[0];
    if (!rows || arrays.length !== 1 || rows.length !== this.ctx.vocabSize * this.k) {
      throw new EdgespecError("invalid_argument", `${what} holds ${rows?.length ?? 0} ids, expected ${this.ctx.vocabSize * this.k}`);
    }
    const ids = rows instanceof Uint16Array ? Int32Array.from(rows, (v) => (v === 0xffff ? -1 : v)) : rows;
    checkTokenIds(ids, this.ctx.vocabSize, what, true);
    this.table.importRows(ids);
  }

  memoryBytes(): number {
    return this.table.memoryBytes() + (this.tree?.memoryBytes() ?? 0);
  }

  dispose(): void {
    this.table.dispose();
    this.tree?.dispose();
  }

  private identity() {
    return { fingerprint: this.ctx.fingerprint, vocabSize: this.ctx.vocabSize };
  }
}
