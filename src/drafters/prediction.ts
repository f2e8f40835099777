/**
 * Predicted Outputs (OpenAI's `prediction: {type: "content"}`): the caller says what most of the
 * answer will be — the file being edited, the document being rewritten — and every step drafts
 * the prediction's continuation from where the output currently stands in it, before the wrapped
 * drafter's own tree. The output stays the model's (drafts are only verified): a wrong prediction
 * costs verify time, never correctness.
 *
 * Where the output stands: while it copies the prediction, one token at a time in step; after it
 * departs (an edit), the longest suffix of the output (at least MIN_RESYNC tokens) that occurs in
 * the prediction, the occurrence nearest after the last position on ties — so an edit in the
 * middle of a file picks the copy up again right after the edited span.
 */
import { matchClass } from "./suffix-automaton.ts";
import { TreeBuilder } from "./tree-builder.ts";
import type { DraftTree, Drafter, VerifyUpdate } from "./types.ts";
import { checkTokenIds } from "./validate.ts";

/** Output tokens that must match the prediction again before drafting resumes after a departure. */
const MIN_RESYNC = 2;
/** The longest suffix compared when looking for where the output is in the prediction. */
const MAX_MATCH = 32;
/** The longest chain drafted from the prediction in one step. */
const MAX_CHAIN = 64;

export class PredictionDrafter implements Drafter {
  readonly name: string;
  readonly sourceNames: readonly string[];
  /** The index of "prediction" in `sourceNames`. */
  readonly source: number;
  /** Positions of each token in the prediction, for finding the output in it again. */
  private readonly at = new Map<number, number[]>();
  private readonly output: number[] = [];
  /** The prediction index the output's next token is expected at; -1: lost (no match). */
  private pos = 0;
  /** The last position before the output was lost (for ties when finding it again). */
  private lastKnown = 0;
  /** Output tokens found in the prediction (copied in step, or the suffix that found it again). */
  private matched = 0;
  /** Output tokens since the output was last in step with the prediction. */
  private sinceLost = 0;
  /** Output tokens in a row that followed the prediction (from the start or from where it was found again). */
  private inStep = 0;
  private readonly builder = new TreeBuilder();

  private readonly prediction: Int32Array;

  /** `prediction`: the predicted output's token ids; `inner`: the drafter whose tree fills the rest. */
  constructor(prediction: ArrayLike<number>, vocabSize: number, private readonly inner?: Drafter) {
    checkTokenIds(prediction, vocabSize, "prediction");
    this.prediction = Int32Array.from(prediction);
    const innerNames = inner ? (inner.sourceNames ?? [inner.name]) : [];
    this.sourceNames = [...innerNames, "prediction"];
    this.source = innerNames.length;
    this.name = inner?.name ?? "prediction";
    this.prediction.forEach((t, i) => {
      const list = this.at.get(t);
      if (list) list.push(i);
      else this.at.set(t, [i]);
    });
  }

  get candidatesPerRow(): number | undefined {
    return this.inner?.candidatesPerRow;
  }

  /** Where the output's next token is expected in the prediction (-1: the output left it). */
  get position(): number {
    return this.pos;
  }

  /** Output tokens that appeared in the prediction, in place (OpenAI's accepted_prediction_tokens). */
  get matchedTokens(): number {
    return this.matched;
  }

  reset(promptTokens: ArrayLike<number>): void {
    this.output.length = 0;
    this.pos = 0;
    this.lastKnown = 0;
    this.matched = 0;
    this.sinceLost = 0;
    this.inStep = 0;
    this.inner?.reset(promptTokens);
  }

  propose(budget: number): DraftTree {
    const inner = this.inner?.propose(budget);
    const b = this.builder;
    b.clear(budget);
    // The prediction's nodes are classed as a match as long as the run of output tokens that
    // followed it (since the start or since it was found again after an edit).
    const run = this.inStep;
    if (this.pos >= 0) b.addChain(this.prediction, this.pos, Math.min(MAX_CHAIN, this.prediction.length - this.pos), this.source, (depth) => matchClass(run + depth - 1));
    if (inner && inner.size > 0) {
      // The inner tree goes under the same root, merged by (parent, token) with the prediction chain.
      const map = new Int32Array(inner.size);
      for (let i = 0; i < inner.size; i++) {
        const parent = inner.parents[i]!;
        const p = parent < 0 ? -1 : map[parent]!;
        map[i] = p < -1 ? -2 : b.add(p, inner.tokens[i]!, inner.sources?.[i] ?? 0, inner.classes?.[i]);
        if (map[i]! < 0) map[i] = -2; // full: the subtree below is dropped
      }
    }
    return b.finish();
  }

  observe(update: VerifyUpdate): void {
    this.inner?.observe(update);
    for (let i = 0; i < update.accepted.length; i++) this.advance(update.accepted[i]!);
  }

  private advance(token: number): void {
    this.output.push(token);
    if (this.pos >= 0 && this.prediction[this.pos] === token) {
      this.pos++;
      this.matched++;
      this.inStep++;
      return;
    }
    if (this.pos >= 0) this.lastKnown = this.pos;
    this.sinceLost++;
    const found = this.resync();
    this.pos = found.at;
    this.inStep = found.length;
    if (found.at >= 0) {
      this.matched += Math.min(found.length, this.sinceLost);
      this.sinceLost = 0;
    }
  }

  /** The index after the longest suffix of the output found in the prediction (-1: none), and its length. */
  private resync(): { at: number; length: number } {
    const out = this.output;
    const ends = this.at.get(out[out.length - 1]!);
    if (!ends) return { at: -1, length: 0 };
    let best = -1;
    let bestLen = 0;
    const last = this.lastKnown;
    for (const e of ends) {
      let n = 1;
      while (n < MAX_MATCH && n < out.length && e - n >= 0 && this.prediction[e - n] === out[out.length - 1 - n]) n++;
      // Longer wins; on a tie the occurrence nearest after where the output last was.
      const better = n > bestLen || (n === bestLen && best < last && e >= last);
      if (better) {
        best = e;
        bestLen = n;
      }
    }
    return bestLen >= Math.min(MIN_RESYNC, out.length) ? { at: best + 1, length: bestLen } : { at: -1, length: 0 };
  }
}
