/**
 * Speculative decoding: each step a drafter proposes a tree, the model verifies [root + tree] in one
 * forward with tree attention, the longest path the model agrees with is kept (KV compacted in
 * place, no re-run), and the bonus token the model chose after it is emitted too. Output goes
 * through the same TokenOutput as plain decoding, token by token, so stop rules cut at the same
 * place even in the middle of an accepted run.
 */
import { choosesFromIds, finishStats, promptLogprobsOf, type GenerateOptions, newOutput, promptIds } from "../decode/plain.ts";
import type { FinishReason } from "../decode/output.ts";
import { prefillLast, prefillRows } from "../decode/prefill.ts";
import { Sampler, type TokenLogprob } from "../decode/sampler.ts";
import { PredictionDrafter } from "../drafters/prediction.ts";
import { draftTreeProblem } from "../drafters/validate.ts";
import { type DraftTree, type Drafter, emptyTree } from "../drafters/types.ts";
import { EdgespecError } from "../errors.ts";
import type { RowIds, SequenceCache } from "../model/causal-lm.ts";
import type { LoadedModel } from "../model/load.ts";
import { verifyCostModel } from "./cost-curves.ts";
import { COST_GRID, VerifyCostModel } from "./cost-model.ts";
import { breakdown, type DrafterStats, noTokensResult, type SpecResult, verifyModeOf } from "./spec-stats.ts";
import { TOP_K } from "../onnx/logits-heads.ts";
import { TreeSelector } from "./tree-selector.ts";
import { TreeBiasBuffer, treePositions } from "./tree-bias.ts";
import { firstChain, topKRows, topPrefix, verifyTree, verifyTreeArgmax } from "./verify.ts";

export interface TextMeta {
  /** "model" for a token the model chose itself, else the drafter source whose guess was accepted. */
  source: string;
  /** With `logprobs`: the tokens emitted since the previous chunk (their text ends in this one). */
  logprobs?: TokenLogprob[];
}

export interface SpecOptions extends Omit<GenerateOptions, "onText"> {
  /** The acceptance rule; replaceable only so tests can show that a wrong rule is caught. */
  verify?: typeof verifyTree;
  /** No drafter: plain decoding, one token per forward. */
  drafter?: Drafter;
  /**
   * Nodes per tree: a fixed number (the drafter's tree is verified as proposed), or "auto"
   * (default): a candidate tree is cut to the nodes worth their measured verify cost.
   */
  budget?: number | "auto";
  onText?: (chunk: string, meta: TextMeta) => void;
  /**
   * Predicted Outputs: token ids the output is expected to copy (an edited file, a rewritten
   * text). Drafted first at every step, from where the output stands in them; the output is the
   * model's whatever they say. Works with any drafter, or none.
   */
  prediction?: ArrayLike<number>;
  /**
   * The verify cost curve trees are sized with (default: the model's own, timed up front where
   * prepareCostCurve ran, else learned from its requests' steps; either way followed by real
   * steps). A curve whose `observe` ignores timings makes tree sizes a function
   * of the tokens alone: bench/modeled.ts compares drafters and selectors that way, free of noise.
   */
  costModel?: VerifyCostModel;
}

const EMPTY_TREE: DraftTree = emptyTree();
const NO_CANDIDATES = new Int32Array(0);
/**
 * The prompt rows whose candidates a drafter learns from at the prefill: the last 64. Each row's
 * candidates cost a row of the vocabulary projection (logits-rows.ts), and Token Recycling keeps
 * one row per token, so older rows are mostly overwritten or stale by the time they are drafted
 * from. Modeled (bench/modeled.ts, committed curves), hybrid over plain with every prompt row /
 * the last 256 / the last 64 / none: tiny 2.08x / 2.10x / 2.09x / 2.07x, small 1.99x / 2.00x /
 * 1.99x / 1.95x; the prefill of a 1000-token prompt on small WASM ~20% faster than with every row.
 */
const PROMPT_CANDIDATE_ROWS = 64;

/**
 * A drafter's call. Whatever it throws (even an EdgespecError that would read as a bad request) is
 * the drafter's fault, not the request's: it leaves as drafter_failed, which the server answers
 * with 500 and logs.
 */
function fromDrafter<T>(drafter: Drafter, call: () => T): T {
  try {
    return call();
  } catch (cause) {
    throw new EdgespecError("drafter_failed", `drafter ${drafterLabel(drafter)} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** OpenAI's counts: prediction tokens that appeared in the output (in place), and the rest. */
function predictionUsage(drafter: PredictionDrafter, predicted: number): { acceptedTokens: number; rejectedTokens: number } {
  const accepted = Math.min(predicted, drafter.matchedTokens);
  return { acceptedTokens: accepted, rejectedTokens: predicted - accepted };
}

/** Each fed row's parent row: the root's is -1 (the token before it), node j's is its parent's + 1. */
function fedParents(tree: DraftTree): Int32Array {
  const parents = new Int32Array(tree.size + 1);
  parents[0] = -1;
  for (let j = 0; j < tree.size; j++) parents[j + 1] = tree.parents[j]! + 1;
  return parents;
}

/** A drafter as messages name it (a user's drafter may have no name). */
function drafterLabel(drafter: Drafter): string {
  return typeof drafter.name === "string" && drafter.name ? drafter.name : "(unnamed)";
}

function sourceName(drafter: Drafter, tree: DraftTree, node: number): string {
  const names = drafter.sourceNames;
  return tree.sources && names ? (names[tree.sources[node]!] ?? drafter.name) : drafter.name;
}

/** The result of a generation whose signal was aborted before its prefill: no token, no forward, no drafter call. */
function abortedBeforeStart(model: LoadedModel, promptTokens: number, drafter: Drafter | undefined, opts: SpecOptions): SpecResult {
  return noTokensResult(model, promptTokens, {
    finishReason: "abort",
    withLogprobs: opts.logprobs !== undefined,
    ...(drafter ? { drafter: drafter.name } : {}),
    ...(drafter instanceof PredictionDrafter ? { prediction: predictionUsage(drafter, opts.prediction!.length) } : {}),
  });
}

export async function generate(model: LoadedModel, prompt: string | readonly number[], opts: SpecOptions = {}): Promise<SpecResult> {
  // The cache lives as long as the generation: what it holds outside JS memory (GPU buffers) is freed at the end, error or not.
  const cache = model.lm.newCache();
  try {
    return await generateWith(model, prompt, opts, cache);
  } finally {
    cache.release?.();
  }
}

async function generateWith(model: LoadedModel, prompt: string | readonly number[], opts: SpecOptions, cache: SequenceCache): Promise<SpecResult> {
  const { lm } = model;
  const V = lm.spec.vocabSize;
  const ids = promptIds(model, prompt);
  const out = newOutput(model, ids.length, opts);
  const sampler = new Sampler(opts, V);
  sampler.begin(ids);
  const drafter = opts.prediction && opts.prediction.length > 0 ? new PredictionDrafter(opts.prediction, V, opts.drafter) : opts.drafter;
  // Candidates per verified row for drafters that learn from them (Token Recycling); none else.
  const k = drafter?.candidatesPerRow ?? 0;
  const candidates = (rows: Float32Array, n: number) => (k > 0 ? topKRows(rows, n, V, k) : NO_CANDIDATES);
  const treeAttention = lm.info.treeAttention.enabled;
  const treeContext = lm.info.treeAttention.maxContext ?? Infinity;
  let windowChainSteps = 0;
  const fixed = opts.budget === undefined || opts.budget === "auto" ? undefined : opts.budget;
  if (fixed !== undefined && (!Number.isInteger(fixed) || fixed < 0)) {
    throw new EdgespecError("invalid_argument", `budget must be "auto" or an integer >= 0, got ${fixed}`);
  }
  // Aborted before it began (or while it waited its turn): no model work at all. As an abort
  // mid-generation, it resolves with finishReason "abort" and what was generated: here nothing.
  if (opts.signal?.aborted) return abortedBeforeStart(model, ids.length, drafter, opts);
  // The candidate a drafter is asked for under "auto": as large as the cost curve was measured.
  const candidateNodes = COST_GRID[COST_GRID.length - 1]!;
  const per: Record<string, DrafterStats> = {};
  let steps = 0;
  let drafted = 0;
  let acceptedDraft = 0;
  let drafterMs = 0;
  // Decode-time breakdown (stats.stepMs): forward, tree selection, verification, KV rollback.
  let forwardMs = 0;
  let selectMs = 0;
  let verifyMs = 0;
  let kvMs = 0;
  let finish: FinishReason | "abort" | undefined;

  const logprobs: TokenLogprob[] = [];
  let unsent = 0; // logprobs not yet handed to onText
  /** `row`: offset in `rows` of the logits the token was chosen from (for its logprob). */
  const emit = (token: number, source: string, rows: Float32Array, row: number): boolean => {
    const lp = opts.logprobs === undefined ? undefined : sampler.logprobs(rows, row, V, token, opts.logprobs);
    sampler.accept(token);
    const before = out.tokens.length;
    const r = out.push(token);
    if (lp && out.tokens.length > before) logprobs.push(lp);
    if (r.text) {
      opts.onText?.(r.text, lp ? { source, logprobs: logprobs.slice(unsent) } : { source });
      unsent = logprobs.length;
    }
    if (r.finish) finish = r.finish;
    return finish !== undefined;
  };

  const t0 = performance.now();
  // The prefill reads every row only for the prompt's own logprobs; else the last row and the
  // drafter's candidates per row, computed in the graph where the model offers them.
  const allRows = (opts.promptLogprobs && opts.logprobs !== undefined) || !lm.forwardLast || k > TOP_K;
  let logits: Float32Array;
  let lastRow: number;
  let prefillCandidates: Int32Array;
  const candidateFrom = Math.max(0, ids.length - PROMPT_CANDIDATE_ROWS);
  if (allRows) {
    logits = await prefillRows(lm, ids, cache);
    lastRow = (ids.length - 1) * V;
    prefillCandidates = candidates(logits.subarray(candidateFrom * V), ids.length - candidateFrom);
  } else {
    const r = await prefillLast(lm, ids, cache, k, candidateFrom);
    logits = r.last;
    lastRow = 0;
    prefillCandidates = k > 0 ? r.topK : NO_CANDIDATES;
  }
  const promptLogprobs = opts.promptLogprobs && opts.logprobs !== undefined ? promptLogprobsOf(logits, ids, V, opts) : undefined;
  let root = sampler.pick(logits, lastRow, V);
  // Greedy on raw logits with a GPU-resident cache: a verify reads back each row's argmax (the choice,
  // as in plain decoding), and its top-k ids only when the drafter learns from them.
  const fromIds = choosesFromIds(lm, sampler, opts.logprobs) && !opts.verify && k <= TOP_K;
  let t1 = performance.now();
  const r1 = lm.readBackBytes;
  if (drafter) {
    const d0 = performance.now();
    fromDrafter(drafter, () => {
      drafter.reset(ids);
      // Candidates for the prompt's last rows only (PROMPT_CANDIDATE_ROWS).
      drafter.observe({ accepted: [root], verifiedTokens: candidateFrom > 0 ? ids.slice(candidateFrom) : ids, topK: prefillCandidates, k });
    });
    drafterMs += performance.now() - d0;
  }
  emit(root, "model", logits, lastRow);
  // The verify cost curve: waiting for one still being timed (prepareCostCurve) is setup, like the
  // load, so not decode time.
  const c0 = performance.now();
  const cost = drafter && fixed === undefined && !finish ? (opts.costModel ?? (await verifyCostModel(lm, fromIds ? "ids" : "logits"))) : new VerifyCostModel([]);
  t1 += performance.now() - c0;
  const selector = new TreeSelector(cost, drafter?.sourceNames?.length ?? 1);
  const biasBuffer = new TreeBiasBuffer();

  while (!finish) {
    if (opts.signal?.aborted) {
      finish = "abort";
      break;
    }
    const past = cache.length;
    // Room: the tree must fit the context, and drafting past the token limit is wasted work.
    const room = Math.min(lm.spec.contextLength - past - 1, out.remaining - 1);
    let tree: DraftTree = EMPTY_TREE;
    let stepDrafterMs = 0;
    // Whether this step's tree was cut by the selector (which then learns from the step).
    const adaptive = drafter !== undefined && fixed === undefined;
    if (drafter && room > 0) {
      const budget = Math.min(fixed ?? candidateNodes, room);
      if (budget > 0) {
        const d0 = performance.now();
        tree = fromDrafter(drafter, () => drafter.propose(budget));
        stepDrafterMs += performance.now() - d0;
        const problem = draftTreeProblem(tree, budget, V);
        if (problem) throw new EdgespecError("drafter_failed", `drafter ${drafterLabel(drafter)} proposed a malformed tree: ${problem}`);
        if (tree.size > 0 && !treeAttention) tree = firstChain(tree);
        else if (tree.size > 0 && past + 1 + tree.size > treeContext) {
          // Sliding-window layers window a node by its index in the step, not its depth: past this
          // point only a chain (index = depth) is verified exactly.
          tree = firstChain(tree);
          windowChainSteps++;
        }
      }
    }
    const s0 = performance.now();
    if (adaptive) tree = selector.select(tree).tree;
    // An empty tree is a plain step: [root] alone, the bonus token is the model's next token.
    const fed = new Int32Array(tree.size + 1);
    fed[0] = root;
    fed.set(tree.tokens, 1);
    const attentionBias = treeAttention && tree.size > 0 ? biasBuffer.build(tree, past) : undefined;
    const f0 = performance.now();
    selectMs += f0 - s0;
    let top: RowIds | undefined;
    if (fromIds) top = await lm.forwardTop!(fed, treePositions(tree, past), cache, k > 0, { attentionBias });
    else logits = await lm.forward(fed, treePositions(tree, past), cache, { attentionBias });
    const f1 = performance.now();
    forwardMs += f1 - f0;
    // The cost curve learning this forward's time is tree sizing: select's share, not verify's.
    if (adaptive) cost.observe(fed.length, f1 - f0);
    const c1 = performance.now();
    selectMs += c1 - f1;
    const { path, bonus } = top ? verifyTreeArgmax(tree, top.argmax) : (opts.verify ?? verifyTree)(tree, logits, V, sampler);
    const v1 = performance.now();
    verifyMs += v1 - c1;
    if (path.length < tree.size) {
      const keep = new Int32Array(past + 1 + path.length);
      for (let i = 0; i <= past; i++) keep[i] = i;
      path.forEach((n, i) => (keep[past + 1 + i] = past + 1 + n));
      cache.keep(keep);
    }
    kvMs += performance.now() - v1;
    if (drafter) {
      const accepted = [...path.map((n) => tree.tokens[n]!), bonus];
      const d0 = performance.now();
      fromDrafter(drafter, () => drafter.observe({ accepted, verifiedTokens: fed, verifiedParents: fedParents(tree), topK: top ? (top.topK ? topPrefix(top.topK, fed.length, TOP_K, k) : NO_CANDIDATES) : candidates(logits, fed.length), k }));
      stepDrafterMs += performance.now() - d0;
      for (let i = 0; i < tree.size; i++) (per[sourceName(drafter, tree, i)] ??= { drafted: 0, accepted: 0, acceptance: 0 }).drafted++;
      for (const n of path) per[sourceName(drafter, tree, n)]!.accepted++;
    }
    drafterMs += stepDrafterMs;
    if (adaptive) selector.observe(tree, path);
    steps++;
    drafted += tree.size;
    acceptedDraft += path.length;
    root = bonus;
    // Node k's row is k + 1; the root's is 0: each token's logprob comes from its parent's row.
    for (let i = 0; i < path.length && !finish; i++) emit(tree.tokens[path[i]!]!, sourceName(drafter!, tree, path[i]!), logits, (i === 0 ? 0 : path[i - 1]! + 1) * V);
    if (!finish) emit(bonus, "model", logits, (path.length === 0 ? 0 : path[path.length - 1]! + 1) * V);
  }
  const t2 = performance.now();
  for (const s of Object.values(per)) s.acceptance = s.drafted ? Math.round((s.accepted / s.drafted) * 1000) / 1000 : 0;
  const base = finishStats(model, ids.length, out.tokens.length, t1 - t0, t2 - t1, r1);
  return {
    text: out.fullText,
    tokens: out.tokens,
    finishReason: finish,
    ...(opts.logprobs === undefined ? {} : { logprobs }),
    ...(promptLogprobs ? { promptLogprobs } : {}),
    stats: {
      ...base,
      drafter: drafter?.name ?? "none",
      steps,
      draftedTokens: drafted,
      acceptedTokens: acceptedDraft,
      // The prefill's token is not a verification step; every step emits accepted + 1.
      meanAcceptedLength: steps ? Math.round(((out.tokens.length - 1) / steps) * 1000) / 1000 : 0,
      perDrafter: per,
      budgets: fixed === undefined ? selector.histogram() : { [String(fixed)]: steps },
      verifyCost: cost.summary(),
      ...verifyModeOf(lm),
      ...(windowChainSteps > 0 ? { windowChainSteps } : {}),
      drafterMs: Math.round(drafterMs * 100) / 100,
      stepMs: breakdown(t2 - t1, { forward: forwardMs, draft: drafterMs, select: selectMs, verify: verifyMs, kv: kvMs }),
      ...(drafter instanceof PredictionDrafter ? { prediction: predictionUsage(drafter, opts.prediction!.length) } : {}),
    },
  };
}
