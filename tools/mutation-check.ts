/**
 * A short mutation check: applies small, realistic bugs one at a time to a temporary copy of the
 * repository and runs the tests that should catch each. A bug the tests let through ("survived")
 * is a weak spot to fix before a user finds it.
 *
 *   bun tools/mutation-check.ts            every mutation (a few minutes on 2 cores)
 *   bun tools/mutation-check.ts selector   only mutations whose name contains "selector"
 *
 * Each run of a mutation's tests is stopped after WALL_SECONDS (EDGESPEC_MUTATION_WALL_S to
 * change it): a bug that makes a test spin synchronously (bun's per-test timeout cannot interrupt
 * that) would otherwise hang the check and leave a bun process spinning. A run stopped so did not
 * pass, so the mutation counts as caught, marked "timed out".
 *
 * Exit status 1 when a mutation survives or no longer applies (its source text changed: update it).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

interface Mutation {
  name: string;
  file: string;
  /** Exact source text, found exactly once, and what it becomes. */
  from: string;
  to: string;
  /** Test files (relative to the repository) that must fail with the bug in place. */
  tests: string[];
  /** Further edits that belong to the same bug (applied together). */
  also?: { file: string; from: string; to: string }[];
}

const MUTATIONS: Mutation[] = [
  {
    name: "serve: a wrong --device checked only at load, after it listens",
    file: "src/cli/serve.ts",
    from: "  checkModelChoices(f); // before listening",
    to: "  // before listening",
    tests: ["test/cli/errors.test.ts"],
  },
  {
    name: "single binary: --device cpu left to the native loader, whose advice (npm install) cannot help it",
    file: "tools/build-binary.host.ts",
    from: 'if (device === "cpu") throw',
    to: 'if (device === ("none" as string)) throw',
    tests: ["test/server/packaging.test.ts"],
  },
  {
    name: "--device cpu on Deno: a refused addon (no --allow-ffi) reported as a missing package",
    file: "adapters/native/ort.ts",
    from: "if (isPermissionRefusal(cause)) {",
    to: "if (false) {",
    tests: ["test/cli/deno-permissions.test.ts"],
  },
  {
    name: "GQA in plain ops: the rotary end made once per rotated tensor (a duplicate initializer)",
    file: "src/onnx/gqa-decompose.ts",
    from: "const x2 = node(out, \"Slice\", [x, half, whole, axis3], `${x}_2`);",
    to: "const x2 = node(out, \"Slice\", [x, half, ints(`${k}_d`, [D]), axis3], `${x}_2`);",
    tests: ["test/onnx/gqa-decompose.test.ts"],
  },
  {
    name: "GQA in plain ops: an export's own attention bias written out as if it were the tree's",
    file: "src/onnx/gqa-decompose.ts",
    from: "if (bias && bias !== ATTENTION_BIAS_INPUT && !bias.startsWith(BIAS_CAST_PREFIX))",
    to: "if (bias && bias === \"never\" && ATTENTION_BIAS_INPUT && BIAS_CAST_PREFIX)",
    tests: ["test/onnx/gqa-decompose.test.ts"],
  },
  {
    name: "4-bit unpack: float16 scales read with the wrong exponent bias",
    file: "src/onnx/float16.ts",
    from: "sign * 2 ** (exp - 15) * (1 + frac / 1024)",
    to: "sign * 2 ** (exp - 14) * (1 + frac / 1024)",
    tests: ["test/onnx/nbits-unpack.test.ts"],
  },
  {
    name: "4-bit unpack: zero points ignored (always 8)",
    file: "src/onnx/nbits-unpack.ts",
    from: "const z = zero ? (zero[col * zeroRow + (b >> 1)]! >> ((b & 1) * 4)) & 15 : 8;",
    to: "const z = 8;",
    tests: ["test/onnx/nbits-unpack.test.ts"],
  },
  {
    name: "4-bit unpack: the high nibble read first",
    file: "src/onnx/nbits-unpack.ts",
    from: "const v = (q[base + (i >> 1)]! >> ((i & 1) * 4)) & 15;",
    to: "const v = (q[base + (i >> 1)]! >> ((1 - (i & 1)) * 4)) & 15;",
    tests: ["test/onnx/nbits-unpack.test.ts"],
  },
  {
    name: "4-bit unpack: the bias input dropped",
    file: "src/onnx/nbits-unpack.ts",
    from: "const bias = n.inputs[5];",
    to: "const bias = undefined as string | undefined;",
    tests: ["test/onnx/nbits-unpack.test.ts"],
  },
  {
    name: "GQA in plain ops: the tree bias is not added to the mask",
    file: "src/onnx/gqa-decompose.ts",
    from: "if (n.inputs[IN.bias]) mask = node(out, \"Add\", [mask, n.inputs[IN.bias]!], `${p}_mask_bias`);",
    to: "",
    tests: ["test/onnx/gqa-decompose.test.ts"],
  },
  {
    name: "GQA in plain ops: the local window one key wider than the kernel's",
    file: "src/onnx/gqa-decompose.ts",
    from: "ints(`window_${w}`, [w - 1], [])",
    to: "ints(`window_${w}`, [w], [])",
    tests: ["test/onnx/gqa-decompose.test.ts"],
  },
  {
    name: "GQA in plain ops: rotary's second half with the sign of the first",
    file: "src/onnx/gqa-decompose.ts",
    from: "const b = node(out, \"Add\", [node(out, \"Mul\", [x2, cos], `${x}_2c`), node(out, \"Mul\", [x1, sin], `${x}_1s`)], `${x}_r2`);",
    to: "const b = node(out, \"Sub\", [node(out, \"Mul\", [x2, cos], `${x}_2c`), node(out, \"Mul\", [x1, sin], `${x}_1s`)], `${x}_r2`);",
    tests: ["test/onnx/gqa-decompose.test.ts"],
  },
  {
    name: "GQA in plain ops: scores not scaled",
    file: "src/onnx/gqa-decompose.ts",
    from: "floats(`${k}_scale`, [scale])",
    to: "floats(`${k}_scale`, [1])",
    tests: ["test/onnx/gqa-decompose.test.ts"],
  },
  {
    name: "GQA in plain ops: rotary at past + i even where the tree gives positions by depth",
    file: "src/onnx/gqa-decompose.ts",
    from: "const positions = n.inputs[IN.positions] || defaultPositions;",
    to: "const positions = defaultPositions;",
    tests: ["test/onnx/gqa-decompose.test.ts"],
  },

  {
    name: "prefill candidates: every prompt row's again, not the last 64",
    file: "src/engine/speculative.ts",
    from: "const candidateFrom = Math.max(0, ids.length - PROMPT_CANDIDATE_ROWS);",
    to: "const candidateFrom = 0 * PROMPT_CANDIDATE_ROWS;",
    tests: ["test/engine/engine.test.ts"],
  },
  {
    name: "chunked prefill: candidates of a later chunk written at the chunk's start, not after the earlier ones",
    file: "src/decode/prefill.ts",
    from: "if (wanted) topK.set(r.topK, (Math.max(i, from) - from) * k);",
    to: "if (wanted) topK.set(r.topK.subarray(0, Math.max(0, topK.length - i * k)), Math.min(i * k, topK.length));",
    tests: ["test/decode/prefill.test.ts"],
  },
  {
    name: "logits rows: a prefill without candidates projects every row again",
    file: "src/model/causal-lm.ts",
    from: "const first = k === 0 ? s - 1 : from;",
    to: "const first = k === 0 ? 0 : from;",
    tests: ["test/onnx/logits-rows.test.ts"],
  },
  {
    name: "logits rows: the projected rows start at row 0 whatever is asked",
    file: "src/model/causal-lm.ts",
    from: "int64sOf(Array.from({ length: s - first }, (_, i) => first + i))",
    to: "int64sOf(Array.from({ length: s - first }, (_, i) => i))",
    tests: ["test/onnx/logits-heads.test.ts", "test/onnx/logits-rows.test.ts"],
  },
  {
    name: "logits rows: an export's num_logits_to_keep fed 1 for every forward (verification loses its rows)",
    file: "src/model/causal-lm.ts",
    from: "BigInt64Array.of(BigInt(s - first))",
    to: "BigInt64Array.of(BigInt(1))",
    tests: ["test/model/layouts.test.ts"],
  },
  {
    name: "logits rows: the rows gathered along the batch axis",
    file: "src/onnx/logits-rows.ts",
    from: '`${LOGITS_ROWS}_gather`, [intAttr("axis", 1)]',
    to: '`${LOGITS_ROWS}_gather`, [intAttr("axis", 0)]',
    tests: ["test/onnx/logits-rows.test.ts"],
  },
  {
    name: "load: a native session's failure without the onnxruntime-node version that ran",
    file: "src/model/load.ts",
    from: '`; onnxruntime-node ${ort.env.versions.node}` : "";',
    to: '"" : "";',
    tests: ["test/model/runtime-start.test.ts"],
  },
  {
    name: "load: onnxruntime-node looked for only after the graph is read (a missing package reported late)",
    file: "src/model/load.ts",
    from: '    await host.loadOrt("cpu");',
    to: "    void 0;",
    tests: ["test/model/runtime-start.test.ts"],
  },
  {
    name: "stats: the prefill's token counted as decoded (tokens per second over all tokens)",
    file: "src/decode/plain.ts",
    from: "  return Math.max(0, tokens - 1);",
    to: "  return Math.max(0, tokens);",
    tests: ["test/engine/stats.test.ts", "test/server/combine-results.test.ts"],
  },
  {
    name: "suffix array: the first-rank table one token off (a search from the whole array starts at the next token's ranks)",
    file: "src/drafters/suffix-array.ts",
    from: "while (j > 0 && text[sa[j - 1]!]! >= t) j--;",
    to: "while (j > 0 && text[sa[j - 1]!]! > t) j--;",
    tests: ["test/drafters/corpus-index.test.ts"],
  },
  {
    name: "selector: confidence classes left out of the key (one rate for every class)",
    file: "src/engine/tree-selector.ts",
    from: "const c = Math.min(Math.max(confidence, 0), CONFIDENCE_CLASSES - 1);",
    to: "const c = 0 * confidence;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "selector: a class's prior ignores the class (every class starts at one half)",
    file: "src/engine/tree-selector.ts",
    from: "  if (confidence === 0) return 0.5 / (1 + rank);",
    to: "  if (confidence >= 0) return 0.5 / (1 + rank);",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "selector: the discount's rescaling leaves the trials out",
    file: "src/engine/tree-selector.ts",
    from: "        this.trials[i]! /= this.scale;",
    to: "",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "selector: subtree drops the classes",
    file: "src/engine/tree-selector.ts",
    from: "    if (out.classes) out.classes[j] = tree.classes![i]!;",
    to: "",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "recycling: a row's steadiness never resets when its best candidate changes",
    file: "src/drafters/token-recycling.ts",
    from: "        this.best[row] = first;\n        this.steady[row] = 0;",
    to: "        this.best[row] = first;",
    tests: ["test/drafters/token-recycling.test.ts"],
  },
  {
    name: "recycling: rows written after their feed-order neighbour, not their parent in the tree",
    file: "src/drafters/token-recycling.ts",
    from: "      const parent = parents ? parents[i]! : i - 1;",
    to: "      const parent = i - 1;",
    tests: ["test/drafters/token-recycling.test.ts"],
  },
  {
    name: "engine: the verified rows' parents not passed to the drafter",
    file: "src/engine/speculative.ts",
    from: "verifiedParents: fedParents(tree), ",
    to: "",
    tests: ["test/engine/engine.test.ts"],
  },
  {
    name: "drafters: match nodes classed by the match at drafting only (not the chain above them)",
    file: "src/drafters/suffix-automaton.ts",
    from: "matchClass(match + tree.depths[i]! - 1, rows?.[i])",
    to: "matchClass(match, rows?.[i])",
    tests: ["test/drafters/hybrid.test.ts", "test/drafters/suffix-automaton.test.ts"],
  },
  {
    name: "hybrid: a match node's class ignores what the table's row says of it",
    file: "src/drafters/hybrid.ts",
    from: "classifyMatches(out, bySource, rows);",
    to: "classifyMatches(out, bySource);",
    tests: ["test/drafters/hybrid.test.ts"],
  },
  {
    name: "hybrid: a table node that a short match spells too is not raised",
    file: "src/drafters/hybrid.ts",
    from: "if (agreed[i] && out.sources![i] === SOURCE.recycle && rows[i] === 1) classes[i]",
    to: "if (false) classes[i]",
    tests: ["test/drafters/hybrid.test.ts"],
  },
  {
    name: "hybrid: short matches drafted as long as long ones",
    file: "src/drafters/hybrid.ts",
    from: "Math.min(this.chainLength, WEAK_CHAIN)",
    to: "this.chainLength",
    tests: ["test/drafters/hybrid.test.ts"],
  },
  {
    name: "WASM heap: the memory view taken once and kept after the memory grows",
    file: "src/drafters/kernels/wasm/heap.ts",
    from: "    if (this.i32.length < end || this.i32.length === 0) this.i32 = new Int32Array(this.exports.memory.buffer);",
    to: "    if (!this.taken) {\n      this.taken = true;\n      this.i32 = new Int32Array(this.exports.memory.buffer);\n    }",
    also: [{ file: "src/drafters/kernels/wasm/heap.ts", from: "  private i32 = new Int32Array(0);", to: "  private i32 = new Int32Array(0);\n  private taken = false;" }],
    tests: ["test/drafters/wasm-binary.test.ts"],
  },
  {
    name: "WASM heap: a write of the first n ids copies them all (past its input buffer)",
    file: "src/drafters/kernels/wasm/heap.ts",
    from: "if (n === values.length) view.set(values, at);",
    to: "if (n <= values.length) view.set(values, at);",
    tests: ["test/drafters/wasm-binary.test.ts"],
  },
  {
    name: "WASM tree kernel: agreed marks copied out of the sources block",
    file: "src/drafters/kernels/wasm/tree.ts",
    from: "tree.agreed[i] = view[at + 4 * n + i]!;",
    to: "tree.agreed[i] = view[at + 3 * n + i]!;",
    tests: ["test/drafters/tree-builder.test.ts"],
  },
  {
    name: "tree kernel (TypeScript): a node found again is not marked agreed",
    file: "src/drafters/tree-builder.ts",
    from: "      if (this.sources[c] !== source) this.agreed[c] = 1;\n",
    to: "",
    tests: ["test/drafters/tree-builder.test.ts", "test/drafters/hybrid.test.ts"],
  },
  {
    name: "tree kernel (TypeScript): a node marked agreed when its own source adds it again",
    file: "src/drafters/tree-builder.ts",
    from: "if (this.sources[c] !== source) this.agreed[c] = 1;",
    to: "this.agreed[c] = 1;",
    tests: ["test/drafters/tree-builder.test.ts", "test/drafters/hybrid.test.ts"],
  },
  {
    name: "prediction: the inner drafter's classes dropped when its tree joins the prediction's",
    file: "src/drafters/prediction.ts",
    from: "inner.sources?.[i] ?? 0, inner.classes?.[i]);",
    to: "inner.sources?.[i] ?? 0);",
    tests: ["test/engine/prediction.test.ts"],
  },
  {
    name: "prediction: the chain classed as if the output had never followed it",
    file: "src/drafters/prediction.ts",
    from: "    this.inStep = found.length;",
    to: "    this.inStep = 0;",
    also: [{ file: "src/drafters/prediction.ts", from: "      this.inStep++;", to: "" }],
    tests: ["test/engine/prediction.test.ts"],
  },
  {
    name: "drafting: the model's warm recycling table ignored (every drafter starts cold)",
    file: "src/engine/drafting.ts",
    from: "const state = setup.recycleState ?? shipped.recycleTable;",
    to: "const state = setup.recycleState;",
    tests: ["test/model/warm-table.test.ts"],
  },
  {
    name: "drafting: the warm table handed to any drafter with saved state, a user's included",
    file: "src/engine/drafting.ts",
    from: "if (maker?.recyclingTable && !setup.recycleState)",
    to: "if (maker?.savesState && !setup.recycleState)",
    tests: ["test/model/warm-table.test.ts"],
  },
  {
    name: "drafting: the model's draft corpus ignored (suffix drafters match the request alone)",
    file: "src/engine/drafting.ts",
    from: "const corpus = setup.corpus ?? shipped.draftCorpus;",
    to: "const corpus = setup.corpus;",
    tests: ["test/model/draft-corpus.test.ts"],
  },
  {
    name: "drafting: the model's draft corpus handed to drafters that take none (ngram)",
    file: "src/engine/drafting.ts",
    from: "if (maker?.usesCorpus && !setup.corpus)",
    to: "if (maker && !setup.corpus)",
    tests: ["test/model/draft-corpus.test.ts"],
  },
  {
    name: "draft assets: the shipped table and corpus read at every load again (a model set up with drafter none or ngram reads both)",
    file: "src/model/load.ts",
    from: "const draftAssets = ShippedDraftAssets.named(host, dir, config, { fingerprint: tokenizer.fingerprint, vocabSize: spec.vocabSize }, say);",
    to: "const draftAssets = ShippedDraftAssets.named(host, dir, config, { fingerprint: tokenizer.fingerprint, vocabSize: spec.vocabSize }, say); await draftAssets.read(draftAssets.names);",
    tests: ["test/model/draft-assets.test.ts"],
  },
  {
    name: "recycling: a loaded table's steadiness dropped",
    file: "src/drafters/token-recycling.ts",
    from: "    if (steadiness) this.steady.set(steadiness);\n    else this.steady.fill(0);",
    to: "    this.steady.fill(0);",
    tests: ["test/drafters/token-recycling.test.ts"],
  },
  {
    name: "recycling: a node's row opinion read from the node's own row, not its parent's",
    file: "src/drafters/token-recycling.ts",
    from: "const best = this.best[parent < 0 ? this.root : tree.tokens[parent]!] ?? -1;",
    to: "const best = this.best[tree.tokens[i]!] ?? -1;",
    tests: ["test/drafters/hybrid.test.ts"],
  },
  {
    name: "server runner: prepare ignored (the first requests learn the curve from their steps)",
    file: "src/server/model-runner.ts",
    from: "const prepared = opts.prepare ? prepareCostCurve(served.lm)",
    to: "const prepared = false ? prepareCostCurve(served.lm)",
    tests: ["test/server/prepare.test.ts"],
  },
  {
    name: "bench: one drafter per name for the whole run (a second pass recalls the first's outputs)",
    file: "src/benchmark/speculative.ts",
    from: "    const drafters = makeDrafters();\n    const acc",
    to: "    const drafters = (warmSet ??= makeDrafters());\n    const acc",
    also: [{ file: "src/benchmark/speculative.ts", from: "  const makeDrafters = () =>", to: "  let warmSet: Map<string, Drafter> | undefined;\n  const makeDrafters = () =>" }],
    tests: ["test/bench/speculative.test.ts"],
  },
  {
    name: "bench: the learned-curve option ignored (the curve is timed anyway)",
    file: "src/benchmark/speculative.ts",
    from: "  if (opts.costCurve !== \"learned\") await prepareCostCurve(model.lm);",
    to: "  await prepareCostCurve(model.lm);",
    tests: ["test/bench/speculative.test.ts"],
  },
  {
    name: "tree bias: a reused buffer's cache columns taken as zero (only a fresh array's are)",
    file: "src/engine/tree-bias.ts",
    from: "    bias.fill(0, row, row + past + 1); // the cache and the root",
    to: "    if (r === 0) bias.fill(0, row, row + past + 1);",
    tests: ["test/engine/tree-bias.test.ts"],
  },
  {
    name: "cost model: isotonic blocks expanded from the left (a pooled block overwrites one not yet read)",
    file: "src/engine/curve-fit.ts",
    from: "    for (let k = end - count[b]!; k < end; k++) out[k] = v;",
    to: "    for (let k = b; k < b + count[b]!; k++) out[k] = v;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "cost model: timed without the warm-up",
    file: "src/engine/cost-model.ts",
    from: "    if (t1 - start >= WARM_MAX_MS) return;",
    to: "    return;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "cost model: warm-up judged block to block (a gradual speed-up stops it early)",
    file: "src/engine/cost-model.ts",
    from: "    if (Math.min(...took.slice(split)) >= WARM_GAIN * Math.min(...took.slice(0, split))) return;",
    to: "    if (took.length > WARM_STABLE && took[took.length - 1]! >= WARM_GAIN * took[took.length - 2]!) return;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "cost model: a learned curve's untimed sizes keep the prior's unit scale",
    file: "src/engine/curve-fit.ts",
    from: "      out[g] = (ms[ref]! * shape[g]!.ms) / shape[ref]!.ms;",
    to: "      out[g] = shape[g]!.ms;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "cost model: an untimed size between two timed ones by the prior's ratio, not the line",
    file: "src/engine/curve-fit.ts",
    from: "    if (lo >= 0 && hi < ms.length) {",
    to: "    if (false) {",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "cost model: a pessimistic prior (untimed sizes look dear, so they are never tried)",
    file: "src/engine/cost-model.ts",
    from: "export const PRIOR_SLOPE = 0.1;",
    to: "export const PRIOR_SLOPE = 1;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "cost model: real-step timings never expire (a size timed on cold code looks dear for ever)",
    file: "src/engine/cost-model.ts",
    from: "export const MAX_AGE = 64;",
    to: "export const MAX_AGE = Infinity;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "cost model: load-time timings come back once the real ones expire",
    file: "src/engine/cost-model.ts",
    from: "        const load = this.superseded[g] ? NO_SAMPLES : this.loadSamples[g]!;",
    to: "        const load = o.length >= MIN_ONLINE ? NO_SAMPLES : this.loadSamples[g]!;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "engine: a request on a model without a timed curve times it first",
    file: "src/engine/cost-curves.ts",
    from: "  return (curves[readBack] ??= VerifyCostModel.learned());",
    to: "  return (curves[readBack] ??= VerifyCostModel.measure(lm, { readBack }));",
    tests: ["test/engine/engine.test.ts", "test/server/prepare.test.ts"],
  },
  {
    name: "engine: the request's cost curve is ignored",
    file: "src/engine/speculative.ts",
    from: "(opts.costModel ?? (await verifyCostModel(lm, fromIds ? \"ids\" : \"logits\")))",
    to: "(await verifyCostModel(lm, fromIds ? \"ids\" : \"logits\"))",
    tests: ["test/engine/engine.test.ts"],
  },
  {
    name: "engine: sampling steps (logits read back) and greedy steps (ids) share one cost curve",
    file: "src/engine/speculative.ts",
    from: "(opts.costModel ?? (await verifyCostModel(lm, fromIds ? \"ids\" : \"logits\")))",
    to: "(opts.costModel ?? (await verifyCostModel(lm)))",
    tests: ["test/engine/engine.test.ts"],
  },
  {
    name: "engine: a server times the logits curve, which its greedy requests do not use",
    file: "src/engine/cost-curves.ts",
    from: "  const readBack = greedyReadBack(lm);",
    to: "  const readBack: StepReadBack = \"logits\";",
    tests: ["test/server/prepare.test.ts"],
  },
  {
    name: "cost model: the curve is timed reading back logits unless told otherwise",
    file: "src/engine/cost-model.ts",
    from: "readBack = greedyReadBack(lm) } = opts;",
    to: "readBack = \"logits\" } = opts;",
    tests: ["test/engine/tree-selector.test.ts", "test/server/prepare.test.ts"],
  },
  {
    name: "cost model: the curve's ids forwards skip the top-k the steps fetch",
    file: "src/engine/cost-model.ts",
    from: "lm.forwardTop!(fed, positions, cache, true)",
    to: "lm.forwardTop!(fed, positions, cache, false)",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "engine: a greedy step sized on the logits curve, a sampling step on the ids one",
    file: "src/engine/speculative.ts",
    from: "verifyCostModel(lm, fromIds ? \"ids\" : \"logits\")))",
    to: "verifyCostModel(lm, fromIds ? \"logits\" : \"ids\")))",
    tests: ["test/server/prepare.test.ts"],
  },
  {
    name: "external weights: offsets from the buffer's start, not the model's",
    file: "src/onnx/external-weights.ts",
    from: "const offset = raw.body.byteOffset - model.byteOffset;",
    to: "const offset = raw.body.byteOffset;",
    tests: ["test/onnx/external-weights.test.ts"],
  },
  {
    name: "GPU KV cache: a second rollback before a forward ignores the first",
    file: "src/model/gpu-kv-cache.ts",
    from: "this.pending = Array.from(positions, (p) => (base ? base[p]! : p));",
    to: "this.pending = Array.from(positions, (p) => p);",
    tests: ["test/runtime/gpu-kv.test.ts"],
  },
  {
    name: "ids verify: every node read from the root's row",
    file: "src/engine/verify.ts",
    from: "const token = argmax[node + 1]!;",
    to: "const token = argmax[0]!;",
    tests: ["test/engine/verify-ids.test.ts"],
  },
  {
    name: "ids read-back chosen under penalties (greedy, not greedy on raw logits)",
    file: "src/decode/plain.ts",
    from: "return lm.forwardTop !== undefined && sampler.rawArgmax && logprobs === undefined;",
    to: "return lm.forwardTop !== undefined && sampler.greedy && logprobs === undefined;",
    tests: ["test/engine/verify-ids.test.ts"],
  },
  {
    name: "corpus suffix array: doubling compares only the first half",
    file: "src/drafters/suffix-array.ts",
    from: "if (rank[a] !== rank[b] || (a + k < n ? rank[a + k]! : -1) !== (b + k < n ? rank[b + k]! : -1)) c++;",
    to: "if (rank[a] !== rank[b]) c++;",
    tests: ["test/drafters/corpus-index.test.ts"],
  },
  {
    name: "corpus cursor: a broken match restarts from one token, not the longest suffix that occurs",
    file: "src/drafters/corpus-cursor.ts",
    from: "let high = Math.min(this.length, MAX_MATCH, this.fed);",
    to: "let high = Math.min(1, this.length, this.fed);",
    tests: ["test/drafters/corpus-index.test.ts"],
  },
  {
    name: "corpus cursor: continuations ranked smallest first",
    file: "src/drafters/corpus-cursor.ts",
    from: "for (; at > 0 && runs[2 * at - 1]! - runs[2 * at - 2]! < size; at--) {",
    to: "for (; at > 0 && runs[2 * at - 1]! - runs[2 * at - 2]! > size; at--) {",
    tests: ["test/drafters/corpus-index.test.ts"],
  },
  {
    name: "corpus cursor: a copied continuation runs past the document's end",
    file: "src/drafters/corpus-cursor.ts",
    from: "p < text.length && text[p] !== this.separator; p++, remaining--) {",
    to: "p < text.length; p++, remaining--) {",
    tests: ["test/drafters/corpus-index.test.ts"],
  },
  {
    name: "corpus index: a saved suffix array with a repeated position is accepted",
    file: "src/drafters/corpus-index.ts",
    from: "if (!(p >= 0 && p < n) || seen[p]) bad(",
    to: "if (!(p >= 0 && p < n)) bad(",
    tests: ["test/drafters/corpus-index.test.ts"],
  },
  {
    name: "corpus loader: a saved index is reused after its files changed",
    file: "src/engine/corpus.ts",
    from: "if (saved.source === source) {",
    to: "if (saved.source.startsWith(\"files:\")) {",
    tests: ["test/engine/corpus.test.ts"],
  },
  {
    name: "server: prompt + max_tokens exactly filling the context is refused",
    file: "src/server/generation.ts",
    from: "if (ids.length + maxTokens > ctx || maxTokens < 1) {",
    to: "if (ids.length + maxTokens >= ctx || maxTokens < 1) {",
    tests: ["test/server/sampling-params.test.ts"],
  },
  {
    name: "server: top_k not passed to the sampler",
    file: "src/server/generation.ts",
    from: "topP: req.topP, topK: req.topK,",
    to: "topP: req.topP, topK: 0,",
    tests: ["test/server/sampling-params.test.ts"],
  },
  {
    name: "output: held-back bytes dropped when max tokens ends mid-character",
    file: "src/decode/output.ts",
    from: "if (atLimit) piece += this.detok.flush();",
    to: "if (atLimit) piece += \"\";",
    tests: ["test/decode/output-cuts.test.ts"],
  },
  {
    name: "output: stop-string hold-back one character short",
    file: "src/decode/output.ts",
    from: "for (let k = Math.min(s.length - 1, candidate.length); k > hold; k--) {",
    to: "for (let k = Math.min(s.length - 2, candidate.length); k > hold; k--) {",
    tests: ["test/decode/output-cuts.test.ts", "test/decode/output.test.ts"],
  },
  {
    name: "sampler: top-p mass over the whole vocabulary, not the top-k survivors",
    file: "src/decode/sampler.ts",
    from: "acc += row.weightAt(i) / kept;",
    to: "acc += row.weightAt(i) / row.sumFirst(vocab);",
    tests: ["test/decode/sampler.test.ts"],
  },
  {
    name: "stats: meanAcceptedLength from another formula than documented",
    file: "src/engine/speculative.ts",
    from: "meanAcceptedLength: steps ? Math.round(((out.tokens.length - 1) / steps) * 1000) / 1000 : 0,",
    to: "meanAcceptedLength: steps ? Math.round(((acceptedDraft + steps) / steps) * 1000) / 1000 : 0,",
    tests: ["test/engine/stats.test.ts"],
  },
  {
    name: "tree selector: keeps the worst-scoring size",
    file: "src/engine/tree-selector.ts",
    from: "      if (score > bestScore) {",
    to: "      if (score < bestScore) {",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "tree selector: a node's path probability ignores its parent's",
    file: "src/engine/tree-selector.ts",
    from: "this.prob[i] = (parent < 0 ? 1 : this.prob[parent]!) * this.rateOf(key);",
    to: "this.prob[i] = this.rateOf(key);",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "tree selector: a node whose parent was rejected counts as a failure",
    file: "src/engine/tree-selector.ts",
    from: "      if (parent >= 0 && !onPath[parent]) continue;",
    to: "      if (parent >= 0 && !onPath[parent] && false) continue;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "tree selector: the cost above the chosen size is never re-checked",
    file: "src/engine/tree-selector.ts",
    from: "if (above !== undefined && above - 1 <= n && this.due(above)) best = above - 1;",
    to: "if (above !== undefined && above - 1 <= n && false) best = above - 1;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "cost model: the latest timing instead of the median",
    file: "src/engine/cost-model.ts",
    from: "        this.pointMedian[g] = used > 0 ? medianIn(s, used) : undefined;",
    to: "        this.pointMedian[g] = used > 0 ? s[used - 1]! : undefined;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "cost model: a point's median sorts only its first timings",
    file: "src/engine/curve-fit.ts",
    from: "  for (let i = 1; i < n; i++) {\n    const v = s[i]!;",
    to: "  for (let i = 1; i < n - 1; i++) {\n    const v = s[i]!;",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "tree selector: the nodes kept at one step stay marked at the next",
    file: "src/engine/tree-selector.ts",
    from: "    keep.fill(0, 0, n);\n",
    to: "",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "tree selector: the accepted path of one step stays marked at the next",
    file: "src/engine/tree-selector.ts",
    from: "    onPath.fill(0, 0, tree.size);\n",
    to: "",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "cost model: medians not fitted monotone",
    file: "src/engine/cost-model.ts",
    from: "    isotonicInto(this.filled, this.fitWeights, this.fitted, this.fitScratch, this.fitCounts);",
    to: "    this.fitted.set(this.filled);",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "cost model: no interpolation between measured points",
    file: "src/engine/curve-fit.ts",
    from: "return Math.max(p[0]!.ms, a.ms + ((tokens - a.tokens) * (b.ms - a.ms)) / (b.tokens - a.tokens));",
    to: "return Math.max(p[0]!.ms, b.ms);",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "engine: Token Recycling never given the model's candidates",
    file: "src/engine/speculative.ts",
    from: "  const k = drafter?.candidatesPerRow ?? 0;",
    to: "  const k = 0;",
    tests: ["test/engine/engine.test.ts"],
  },
  {
    name: "prediction: the output is never found again after an edit",
    file: "src/drafters/prediction.ts",
    from: "    const found = this.resync();",
    to: "    const found = { at: -1, length: 0 };",
    tests: ["test/engine/prediction.test.ts"],
  },
  {
    name: "prediction: a tie goes to the first occurrence, not the one after the output's place",
    file: "src/drafters/prediction.ts",
    from: "const better = n > bestLen || (n === bestLen && best < last && e >= last);",
    to: "const better = n > bestLen;",
    tests: ["test/engine/prediction.test.ts"],
  },
  {
    name: "server: prediction not passed to the engine",
    file: "src/server/model-runner.ts",
    from: "        prediction: job.prediction,",
    to: "        prediction: undefined,",
    tests: ["test/server/sampling-params.test.ts"],
  },
  {
    name: "engine: accepted path not compacted in the KV cache",
    file: "src/engine/speculative.ts",
    from: "      cache.keep(keep);",
    to: "      void keep;",
    tests: ["test/engine/engine.test.ts"],
  },
  {
    name: "layout: a graph without position_ids still gets tree attention",
    file: "src/model/layout.ts",
    from: 'if (attention === "decomposed" && positions === "from-mask") {',
    to: 'if (attention === "decomposed" && positions === "never") {',
    tests: ["test/model/layouts.test.ts"],
  },
  {
    name: "layout: no position_ids, tree attention given and the position guard gone (silently wrong output)",
    file: "src/model/layout.ts",
    from: 'if (attention === "decomposed" && positions === "from-mask") {',
    to: 'if (attention === "decomposed" && positions === "never") {',
    also: [{ file: "src/model/causal-lm.ts", from: "if (positions[i] !== cache.length + i) {", to: "if (positions[i] !== positions[i]) {" }],
    tests: ["test/model/layouts.test.ts"],
  },
  {
    name: "layout: logits-to-keep input not recognised",
    file: "src/onnx/logits-rows.ts",
    from: 'export const LOGITS_TO_KEEP: readonly string[] = ["num_logits_to_keep", "logits_to_keep"];',
    to: 'export const LOGITS_TO_KEEP: readonly string[] = ["num_logits_to_keep"];',
    tests: ["test/model/layouts.test.ts"],
  },
  {
    name: "feeds: logits-to-keep fed with 1 (the last row only)",
    file: "src/model/causal-lm.ts",
    from: "BigInt64Array.of(BigInt(s - first))",
    to: "BigInt64Array.of(1n)",
    tests: ["test/model/layouts.test.ts"],
  },
  {
    name: "tree rewrite: does not look through Casts after the Softmax",
    file: "src/onnx/tree-attention.ts",
    from: '(c.op === "Cast" && feedsMatMul(c.outputs[0]!))',
    to: "false",
    tests: ["test/onnx/tree-attention.test.ts", "test/model/layouts.test.ts"],
  },
  {
    name: "tree rewrite: fp16 scores at opset < 15 get a float32 bias",
    file: "src/onnx/attention-bias.ts",
    from: "if (type !== undefined && type !== DTYPE.float) return { nodes: [nodeField(\"Cast\"",
    to: "if (false) return { nodes: [nodeField(\"Cast\"",
    tests: ["test/onnx/tree-attention.test.ts", "test/model/layouts.test.ts"],
  },
  {
    name: "server: unsupported OpenAI fields silently ignored",
    file: "src/server/requests.ts",
    from: "if (present(body, key) && !isNoOp(body[key])) {",
    to: "if (false) {",
    tests: ["test/server/bad-input.test.ts"],
  },
  {
    name: "server: any Host header accepted (DNS rebinding)",
    file: "src/server/auth.ts",
    from: "if (name === undefined || !names.has(name)) {",
    to: "if (name === undefined) {",
    tests: ["test/server/host-check.test.ts"],
  },
  {
    name: "chat: a typed </s> in content becomes the control token",
    file: "src/server/chat.ts",
    from: "if (!messages.some((m) => codec.specialTokens.some((t) => m.content.includes(t)))) return",
    to: "if (true) return",
    tests: ["test/server/chat-prompt.test.ts"],
  },
  {
    name: "server: a prompt too long for the context is tokenized before it is refused",
    file: "src/server/generation.ts",
    from: "if (atLeast + 1 > ctx) {",
    to: "if (false) {",
    tests: ["test/server/sampling-params.test.ts"],
  },
  {
    name: "requirements: a missing requirement is skipped under CI too",
    file: "test/helpers/requirements.ts",
    from: "  if (IN_CI) {",
    to: "  if (IN_CI && false) {",
    tests: ["test/ci/requirements.test.ts"],
  },
  {
    name: "fused rewrite: GQA tree nodes rotated at their index (position_ids not fed to GroupQueryAttention)",
    file: "src/onnx/tree-attention-fused.ts",
    from: "if (rotatesItself(n)) inputs[at.positions!] = opts.positionIds;",
    to: "",
    tests: ["test/model/fused-attention.test.ts"],
  },
  {
    name: "fused rewrite: RotaryEmbedding keeps positions derived from the mask",
    file: "src/onnx/tree-attention-fused.ts",
    from: "for (const r of rotary) replaced.set(r.field, withInputs(r, [r.inputs[0]!, opts.positionIds, ...r.inputs.slice(2)]));",
    to: "",
    tests: ["test/model/fused-attention.test.ts"],
  },
  {
    name: "engine: trees verified past a sliding window",
    file: "src/engine/speculative.ts",
    from: "else if (tree.size > 0 && past + 1 + tree.size > treeContext) {",
    to: "else if (tree.size > 0 && past + 1 + tree.size > Infinity) {",
    tests: ["test/model/fused-attention.test.ts"],
  },
  {
    name: "load: the fused-attention tree self-check never fails",
    file: "src/model/tree-check.ts",
    from: "return { ok: worst <= ROW_BOUND, worst };",
    to: "return { ok: true, worst };",
    tests: ["test/model/tree-check.test.ts"],
  },
  {
    name: "server: a stalled request body is waited for without a time limit",
    file: "src/server/body.ts",
    from: "if (timeoutMs > 0) timer = setTimeout(() => resolve(\"expired\"), timeoutMs);",
    to: "",
    tests: ["test/server/slow-body.test.ts"],
  },
  {
    name: "server: the 408 for a stalled body leaves the connection open",
    file: "src/server/body.ts",
    from: "\"request_timeout\", { connection: \"close\" });",
    to: "\"request_timeout\");",
    tests: ["test/server/slow-body.test.ts"],
  },
  {
    name: "server: a client hanging up mid-upload becomes a 500 (the read's rejection not caught)",
    file: "src/server/body.ts",
    from: "reader.read().catch(() => \"closed\" as const)",
    to: "reader.read()",
    tests: ["test/server/slow-body.test.ts"],
  },
  {
    name: "engine: a drafter's node depths not checked against its parents (wrong positions verified)",
    file: "src/drafters/validate.ts",
    from: "if (tree.depths[i] !== depth) return",
    to: "if (false) return",
    tests: ["test/engine/engine.test.ts"],
  },
  {
    name: "library: generations never let the event loop in (an abort timer fires only after them)",
    file: "src/library.ts",
    from: "const stepping = yieldingEvery(model, YIELD_EVERY_MS);",
    to: "const stepping = model;",
    tests: ["test/library/open.test.ts"],
  },
  {
    name: "launcher: SIGTERM not forwarded to the CLI child",
    file: "bin/edgespec.mjs",
    from: "const forward = (signal) => child.kill(signal);",
    to: "const forward = () => {};",
    tests: ["test/server/shutdown.test.ts"],
  },
  {
    name: "shutdown: queued requests left waiting on SIGTERM",
    file: "src/server/service.ts",
    from: "for (const slot of refused) slot.refuse(shuttingDown());",
    to: "",
    tests: ["test/server/shutdown.test.ts", "test/server/batch-turns.test.ts"],
  },
  {
    name: "shutdown: a batch between two prompts refused as if it were queued",
    file: "src/server/service.ts",
    from: "const refused = this.waiting.filter((s) => !s.started);",
    to: "const refused = this.waiting.filter(() => true);",
    tests: ["test/server/batch-turns.test.ts"],
  },
  {
    name: "scoring: echo with max_tokens 0 generates a token (and counts it)",
    file: "src/server/generation.ts",
    from: "return { ids, maxTokens: req.maxTokens === 0 ? 0 : maxTokens };",
    to: "return { ids, maxTokens };",
    tests: ["test/server/openai-compat.test.ts", "test/server/metrics.test.ts"],
  },
  {
    name: "scoring: the prompt's logprobs at temperature 1 whatever the request's",
    file: "src/server/prompt-pass.ts",
    from: "{ temperature: job.temperature, logprobs: job.logprobs }",
    to: "{ logprobs: job.logprobs }",
    tests: ["test/server/openai-compat.test.ts"],
  },
  {
    name: "queue: a batch holds the model for all its prompts",
    file: "src/server/generation.ts",
    from: "    if (slot.remaining > 0 && !life.reason) slot.pass();",
    to: "",
    tests: ["test/server/queue.test.ts"],
  },
  {
    name: "queue: Retry-After counts a queued batch as one generation",
    file: "src/server/service.ts",
    from: "const ahead = this.generationsAhead;",
    to: "const ahead = queued + 1;",
    tests: ["test/server/batch-turns.test.ts"],
  },
  {
    name: "shutdown: SIGTERM cuts the running stream",
    file: "src/cli/serve.ts",
    from: "const drained = Promise.all([engine.drain(), server.close({ graceful: true })]);",
    to: "const drained = Promise.all([engine.drain(), server.close()]);",
    tests: ["test/server/shutdown.test.ts"],
  },
  {
    name: "tree rewrite: a mask applied with Where is not recognised",
    file: "src/onnx/tree-attention.ts",
    from: "return (masked === \"Add\" || masked === \"Where\") && feedsMatMul(n.outputs[0]!);",
    to: "return masked === \"Add\" && feedsMatMul(n.outputs[0]!);",
    tests: ["test/model/layouts.test.ts"],
  },
  {
    name: "detokenizer: fewer held tokens than an incomplete character can span",
    file: "src/decode/detokenizer.ts",
    from: "const MAX_PENDING = 3;",
    to: "const MAX_PENDING = 2;",
    tests: ["test/decode/detokenizer.test.ts"],
  },
  {
    name: "verify: a tree node's row penalised without the path above it",
    file: "src/engine/verify.ts",
    from: "const token = sampler.pick(logits, (node + 1) * vocab, vocab, pending);",
    to: "const token = sampler.pick(logits, (node + 1) * vocab, vocab);",
    tests: ["test/engine/penalties.test.ts"],
  },
  {
    name: "penalties: repetition penalty ignores the prompt",
    file: "src/decode/logits-processor.ts",
    from: "for (const t of this.prompt) penalise(t);",
    to: "",
    tests: ["test/engine/penalties.test.ts"],
  },
  {
    name: "logprobs: an accepted draft token's logprob read from its own row, not its parent's",
    file: "src/engine/speculative.ts",
    from: "logits, (i === 0 ? 0 : path[i - 1]! + 1) * V);",
    to: "logits, (path[i]! + 1) * V);",
    tests: ["test/engine/logprobs.test.ts"],
  },
  {
    name: "load: a BSNH KV cache reaches ORT unchecked",
    file: "src/model/layout.ts",
    from: "if (past?.dims?.length === 4 && fixed(past, 1) === undefined",
    to: "if (false && fixed(past, 1) === undefined",
    tests: ["test/model/layouts.test.ts"],
  },
  {
    name: "kv cache: rollback moves each run one position short",
    file: "src/model/kv-cache.ts",
    from: "if (positions[i] !== i) data.copyWithin(i * r, positions[i]! * r, (positions[i]! + (j - i)) * r);",
    to: "if (positions[i] !== i) data.copyWithin(i * r, positions[i]! * r, (positions[i]! + (j - i) - 1) * r);",
    tests: ["test/model/kv-cache.test.ts"],
  },
  {
    name: "kv cache: a step's positions appended over the last kept one",
    file: "src/model/kv-cache.ts",
    from: "this.buffers[t]!.set(bitsOf(src.data), this.len * this.row);",
    to: "this.buffers[t]!.set(bitsOf(src.data), Math.max(0, this.len - 1) * this.row);",
    tests: ["test/model/kv-cache.test.ts"],
  },
  {
    name: "kv buffer pool: a spare set handed out and kept (two caches on one set of buffers)",
    file: "src/model/kv-cache.ts",
    from: "return i < 0 ? undefined : this.spare.splice(i, 1)[0];",
    to: "return i < 0 ? undefined : this.spare[i];",
    tests: ["test/model/kv-cache.test.ts"],
  },
  {
    name: "kv buffer pool: a reused cache starts with the length its buffers had",
    file: "src/model/kv-cache.ts",
    from: "    this.buffers = [];\n    this.capacity = 0;\n    this.len = 0;",
    to: "    this.buffers = [];\n    this.capacity = 0;",
    also: [{ file: "src/model/kv-cache.ts", from: "      this.capacity = set.capacity;\n    }\n    this.reset();", to: "      this.capacity = set.capacity;\n      this.len = set.capacity;\n    } else this.reset();" }],
    tests: ["test/model/kv-cache.test.ts"],
  },
  {
    name: "byte-level decoding: special tokens kept when asked to skip them",
    file: "src/model/byte-level.ts",
    from: "if (e === undefined || (skipSpecialTokens && e.special)) continue;",
    to: "if (e === undefined) continue;",
    tests: ["test/model/byte-level.test.ts"],
  },
  {
    name: "byte-level decoding: added tokens decoded as bytes",
    file: "src/model/byte-level.ts",
    from: "kind: this.vocab.added.has(token) ? ADDED : BYTES",
    to: "kind: BYTES",
    tests: ["test/model/byte-level.test.ts"],
  },
  {
    name: "packed present: every layer appended from the first layer's block",
    file: "src/model/kv-cache.ts",
    from: "this.buffers[t]!.set(data.subarray(t * block, (t + 1) * block), this.len * this.row);",
    to: "this.buffers[t]!.set(data.subarray(0, block), this.len * this.row);",
    tests: ["test/onnx/kv-append.test.ts"],
  },
  {
    name: "packed present: values packed before keys",
    file: "src/onnx/kv-append.ts",
    from: "(ka === kb ? 0 : ka === \"key\" ? -1 : 1)",
    to: "(ka === kb ? 0 : ka === \"key\" ? 1 : -1)",
    tests: ["test/onnx/kv-append.test.ts"],
  },
  {
    name: "tree selection: equally probable nodes reordered (the drafter's order lost)",
    file: "src/engine/tree-selector.ts",
    from: "while (j > 0 && p[order[j - 1]!]! < pi) {",
    to: "while (j > 0 && p[order[j - 1]!]! <= pi) {",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "grouped attention: query heads grouped in the wrong order",
    file: "src/onnx/grouped-attention.ts",
    from: "int64Raw([0, Hkv, -1, 0])",
    to: "int64Raw([0, -1, Hkv, 0])",
    tests: ["test/onnx/grouped-attention.test.ts"],
  },
  {
    name: "seq-major attention: the present output is the new positions head-major",
    file: "src/onnx/seq-major-attention.ts",
    from: 'nodeField("Transpose", [cat.inputs[1]!], [present], `${p}_present`, [intsAttr("perm", HEAD_MAJOR)])',
    to: 'nodeField("Identity", [cat.inputs[1]!], [present], `${p}_present`)',
    tests: ["test/onnx/seq-major-attention.test.ts"],
  },
  {
    name: "seq-major attention: the full cache reads the past after the new positions",
    file: "src/onnx/seq-major-attention.ts",
    from: 'nodeField("Concat", [past.name, present], [seq], seq, [intAttr("axis", 1)])',
    to: 'nodeField("Concat", [present, past.name], [seq], seq, [intAttr("axis", 1)])',
    tests: ["test/onnx/seq-major-attention.test.ts"],
  },
  {
    name: "seq-major attention: K read untransposed",
    file: "src/onnx/seq-major-attention.ts",
    from: '...(transB ? [intAttr("transB", 1)] : [])',
    to: "",
    tests: ["test/onnx/seq-major-attention.test.ts"],
  },
  {
    name: "logits heads: the prefill's candidates are the smallest logits",
    file: "src/onnx/logits-heads.ts",
    from: 'intAttr("largest", 1)',
    to: 'intAttr("largest", 0)',
    tests: ["test/onnx/logits-heads.test.ts"],
  },
  {
    name: "library: a stream left early keeps generating",
    file: "src/library.ts",
    from: "              stop.abort();\n              done = true;",
    to: "              done = true;",
    tests: ["test/library/open.test.ts"],
  },
  {
    name: "server: a long prefill is one forward (no chunks, no turns of the event loop)",
    file: "src/server/yielding-model.ts",
    from: "export const PREFILL_CHUNK = 64;",
    to: "export const PREFILL_CHUNK = 1 << 20;",
    tests: ["test/server/yielding-model.test.ts"],
  },
  {
    name: "prefill: every chunk's candidates written over the first chunk's",
    file: "src/decode/prefill.ts",
    from: "if (wanted) topK.set(r.topK, (Math.max(i, from) - from) * k);",
    to: "if (wanted) topK.set(r.topK, 0);",
    tests: ["test/decode/prefill.test.ts"],
  },
  {
    name: "device: auto chooses a software fallback adapter",
    file: "src/model/device-choice.ts",
    from: "if (adapter && !adapter.fallback) return chosen();",
    to: "if (adapter) return chosen();",
    tests: ["test/runtime/cross-runtime.test.ts"],
  },
  {
    name: "penalties: a path token not yet in the output escapes presence/frequency",
    file: "src/decode/logits-processor.ts",
    from: "for (const [t, c] of inPath) if (!this.counts.has(t)) penalise(t, c);",
    to: "",
    tests: ["test/engine/penalties.test.ts"],
  },
  {
    name: "model worker: an abort never reaches the running generation",
    file: "src/server/model-worker.ts",
    from: "if (current && flag && Atomics.load(flag, 0) === current.id)",
    to: "if (current && flag && Atomics.load(flag, 0) === -current.id)",
    tests: ["test/server/model-worker.test.ts"],
  },
  {
    name: "parameters: an exclusive lower bound accepted (repetition_penalty 0)",
    file: "src/decode/params.ts",
    from: "(rule.minExclusive ? value > rule.min : value >= rule.min)",
    to: "value >= rule.min",
    tests: ["test/decode/params.test.ts"],
  },
  {
    name: "sampler: top_p 0 draws from a one-token distribution instead of decoding greedily",
    file: "src/decode/sampler.ts",
    from: "this.greedy = this.temperature === 0 || this.topP === 0;",
    to: "this.greedy = this.temperature === 0;",
    tests: ["test/decode/sampler.test.ts"],
  },
  {
    name: "x-request-id: the client's own id never echoed",
    file: "src/server/app.ts",
    from: "return sent !== undefined && SANE_REQUEST_ID.test(sent) ? sent : crypto.randomUUID();",
    to: "return crypto.randomUUID();",
    tests: ["test/server/request-id.test.ts"],
  },
  {
    name: "x-request-id: whatever the client sent echoed (into logs too)",
    file: "src/server/app.ts",
    from: "return sent !== undefined && SANE_REQUEST_ID.test(sent) ? sent : crypto.randomUUID();",
    to: "return sent !== undefined ? sent : crypto.randomUUID();",
    tests: ["test/server/request-id.test.ts"],
  },
  {
    name: "x-request-id: two headers joined (\"one, two\") echoed as one id",
    file: "src/server/app.ts",
    from: "const SANE_REQUEST_ID = /^[\\x20-\\x2b\\x2d-\\x7e]{1,128}$/;",
    to: "const SANE_REQUEST_ID = /^[\\x20-\\x7e]{1,128}$/;",
    tests: ["test/server/request-id.test.ts"],
  },
  {
    name: "system_fingerprint: the loaded model's identity left out (the same for every model of one shape)",
    file: "src/server/service.ts",
    from: "this.model?.identity ?? this.model?.spec ?? null",
    to: "this.model?.spec ?? null",
    tests: ["test/server/request-id.test.ts"],
  },
  {
    name: "431: the header limit not enforced by the app",
    file: "src/server/app.ts",
    from: "if (bytes > maxHeaderBytes) throw",
    to: "if (bytes > maxHeaderBytes * 8) throw",
    tests: ["test/server/bad-input.test.ts"],
  },
  {
    name: "chat REPL: /reset keeps the conversation",
    file: "src/cli/chat.ts",
    from: "        history = [...opening];",
    to: "",
    tests: ["test/cli/chat.test.ts"],
  },
  {
    name: "sampler: ranked rows break ties by the larger id",
    file: "src/decode/ranked-row.ts",
    from: "this.weight[b]! - this.weight[a]! || a - b;",
    to: "this.weight[b]! - this.weight[a]! || b - a;",
    tests: ["test/decode/sampler.test.ts"],
  },
  {
    name: "sampler: the kept mass not recomputed after top-p",
    file: "src/decode/sampler.ts",
    from: "          break;\n        }\n      }\n      kept = row.sumFirst(size);",
    to: "          break;\n        }\n      }",
    tests: ["test/decode/sampler.test.ts"],
  },
  {
    name: "history: a finished request's output never joins",
    file: "src/drafters/request-history.ts",
    from: "if (this.pending.length > 0) this.add(Int32Array.from(this.pending));",
    to: "if (this.pending.length < 0) this.add(Int32Array.from(this.pending));",
    tests: ["test/drafters/request-history.test.ts"],
  },
  {
    name: "history: the cursor carried over from the last request",
    file: "src/drafters/request-history.ts",
    from: "    this.pending = [];\n    this.cursorState = 0;\n    this.cursorLength = 0;",
    to: "    this.pending = [];",
    tests: ["test/drafters/request-history.test.ts"],
  },
  {
    name: "setup: drafters not given the setup's kernels",
    file: "src/setup.ts",
    from: "return { name: drafterName, kernels, ",
    to: "return { name: drafterName, kernels: tsKernels, ",
    tests: ["test/library/two-models.test.ts"],
  },
  {
    name: "ort env: a load rewrites the process's WASM thread count",
    file: "src/model/ort-env.ts",
    from: "    if (requested !== undefined && requested !== set) {",
    to: "    if (requested !== undefined && requested !== set && false) {",
    tests: ["test/library/two-models.test.ts"],
  },
  {
    name: "load: the WASM runtime not started before the graph is read",
    file: "src/model/load.ts",
    from: "    runtime = startWasmRuntime(early);",
    to: "    runtime = undefined;",
    tests: ["test/model/runtime-start.test.ts"],
  },
  {
    name: "load: a runtime that failed to start ignored (the session then fails with another reason)",
    file: "src/model/load.ts",
    from: "      if (failed !== undefined) throw failed;",
    to: "      if (failed === null) throw failed;",
    tests: ["test/model/runtime-start.test.ts"],
  },
  {
    name: "cost model: costsInto (the selector's price of every size) stays on the curve's first segment",
    file: "src/engine/cost-model.ts",
    from: "while (i < last && k > p[i]!.tokens) i++;",
    to: "",
    tests: ["test/engine/tree-selector.test.ts"],
  },
  {
    name: "metrics: a generation that decoded nothing (scoring) sets the tokens/s gauge to 0",
    file: "src/server/metrics.ts",
    from: "if (stats.tokens > 0) this.lastTokensPerSecond = stats.tokensPerSecond;",
    to: "this.lastTokensPerSecond = stats.tokensPerSecond;",
    tests: ["test/server/metrics.test.ts"],
  },
  {
    name: "disconnect: a non-streamed request left mid-generation answered (and counted) as 200",
    file: "src/server/generation.ts",
    from: "if (life.reason === \"disconnect\") return c.body(null, 499 as never);\n    if (kind === \"chat\")",
    to: "if (kind === \"chat\")",
    tests: ["test/server/queue.test.ts"],
  },
  {
    name: "library: an option generate/stream/chat do not take is ignored (max_tokens gave 256 tokens)",
    file: "src/library.ts",
    from: "  for (const key of Object.keys(params)) if (!Object.hasOwn(GENERATE_PARAMS, key)) return unknownOption(key);",
    to: "",
    tests: ["test/library/arguments.test.ts"],
  },
  {
    name: "library: lm.stats' tokens/s over prefill + decode time, unlike each generation's",
    file: "src/library.ts",
    from: "tokensPerSecond: decodeMs > 0 ? Math.round((tokens / decodeMs) * 1000 * 10) / 10 : 0,",
    to: "tokensPerSecond: seconds > 0 ? Math.round((tokens / seconds) * 10) / 10 : 0,",
    tests: ["test/library/open.test.ts"],
  },
  {
    name: "chat: a system message that fills the context is let through (every message then fails, exit 0)",
    file: "src/cli/chat.ts",
    from: "if (openingTokens >= context) throw",
    to: "if (openingTokens > 1e9) throw",
    tests: ["test/cli/chat.test.ts"],
  },
  {
    name: "setup: a corpus that names no file is found only after the model loaded",
    file: "src/setup.ts",
    from: "if (corpusPath !== undefined) await checkCorpusPath(host, corpusPath);",
    to: "if (corpusPath === \"never\") await checkCorpusPath(host, corpusPath);",
    tests: ["test/cli/errors.test.ts"],
  },
  {
    name: "paths: '..' kept in a joined path (Deno's inspect named models/edgespec-small/../edgespec-tiny)",
    file: "src/paths.ts",
    from: "    else if (out.length > 0 && out[out.length - 1] !== \"..\") out.pop();",
    to: "    else if (out.length < 0) out.pop();",
    tests: ["test/host/join-posix.test.ts"],
  },
  {
    name: "paths: baseName of a folder given with a trailing '/' is '' (the served model id fell back to 'edgespec')",
    file: "src/paths.ts",
    from: "  const end = path.replace(/[/\\\\]+$/, \"\");",
    to: "  const end = path;",
    tests: ["test/host/base-name.test.ts"],
  },
  {
    name: "library: a load error names the CLI's flag (use --device wasm) to a user who set options",
    file: "src/library.ts",
    from: "    throw errorInLibraryTerms(e);",
    to: "    throw e;",
    tests: ["test/library/option-names.test.ts"],
  },
  {
    name: "README: EDGESPEC_RUNTIME, which the npx launcher reads, left out of the documented variables",
    file: "README.md",
    from: "  - `EDGESPEC_RUNTIME=node`: `npx edgespec` (the launcher",
    to: "  - `npx edgespec` (the launcher",
    tests: ["test/ci/readme-env.test.ts"],
  },
  {
    name: "/health waits for the model's load instead of answering 503 loading at once (the edge handler's health checks stalled)",
    file: "src/server/app.ts",
    from: "    return c.json({ status: \"loading\" }, 503, { \"Retry-After\": \"1\" });",
    to: "    await engine.ready;\n    return c.json({ status: \"loading\" }, 503, { \"Retry-After\": \"1\" });",
    tests: ["test/server/edge-load.test.ts"],
  },
  {
    name: "generate --recycle-state: a folder found only at the save, after the whole run",
    file: "src/cli/generate.ts",
    from: "    if (await host.isDirectory(statePath)) throw",
    to: "    if (statePath === \"never\") throw",
    tests: ["test/cli/errors.test.ts"],
  },
  {
    name: "bench --drafters naming no drafter runs the suite plain only",
    file: "src/cli/bench.ts",
    from: "  if (drafters.length === 0) throw",
    to: "  if (drafters.length < 0) throw",
    tests: ["test/cli/errors.test.ts"],
  },
  {
    name: "WASM C API: the loader takes the runner without comparing a forward through it with session.run",
    file: "src/model/direct-run.ts",
    from: "    if (a.length === b.length && a.every((v, i) => Object.is(v, b[i]))) {",
    to: "    if (a.length >= 0) {",
    tests: ["test/model/wasm-session-runner.test.ts"],
  },
  {
    name: "WASM C API: an output read from one element past where it lies",
    file: "src/model/wasm-session-runner.ts",
    from: "set(m.HEAPU8.subarray(data, data + values.byteLength));",
    to: "set(m.HEAPU8.subarray(data + 4, data + 4 + values.byteLength));",
    tests: ["test/model/wasm-session-runner.test.ts"],
  },
  {
    name: "WASM C API: the KV cache stays in JS memory (every run copies the past into the heap)",
    file: "src/model/wasm-session-runner.ts",
    from: "    if (!this.checked) return undefined;",
    to: "    if (this.checked) return undefined;",
    tests: ["test/model/wasm-session-runner.test.ts"],
  },
  {
    name: "WASM C API: after the heap grows, the cache's views (an older buffer over the same memory) are copied in again",
    file: "src/model/wasm-session-runner.ts",
    from: "if (data.buffer === m.HEAPU8.buffer || this.heaps.has(data.buffer)) ptr = data.byteOffset;",
    to: "if (data.buffer === m.HEAPU8.buffer) ptr = data.byteOffset;",
    tests: ["test/model/wasm-session-runner.test.ts"],
  },
];

const REPO = join(dirname(new URL(import.meta.url).pathname), "..");
const BUN = join(REPO, "node_modules", ".bin", "bun");

function trackedFiles(): string[] {
  const r = Bun.spawnSync(["git", "ls-files", "-co", "--exclude-standard"], { cwd: REPO });
  if (r.exitCode !== 0) throw new Error(`git ls-files failed: ${r.stderr}`);
  return r.stdout.toString().split("\n").filter(Boolean);
}

/** A copy of the working tree (node_modules linked, not copied) where one file is changed. */
function copyOf(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "edgespec-mutant-"));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(REPO, f), join(dir, f));
  }
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  return dir;
}

const WALL_SECONDS = Number(process.env.EDGESPEC_MUTATION_WALL_S ?? 900);

async function runTests(dir: string, tests: string[]): Promise<{ code: number; tail: string }> {
  // coreutils' timeout runs the tests in a process group of their own and signals the whole group,
  // so servers and runtimes the tests spawned go with them.
  const wall = ["timeout", "--kill-after=10", String(WALL_SECONDS)];
  const p = Bun.spawn([...wall, BUN, "test", "--timeout", "180000", ...tests.map((t) => `./${t}`)], { cwd: dir, stdout: "pipe", stderr: "pipe", env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? "/tmp" } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code === 124 || code === 137) return { code, tail: `timed out after ${WALL_SECONDS} s` };
  const lines = (out + err).split("\n").filter((l) => /^\(fail\)| fail$| pass$/.test(l.trim()) || l.startsWith("(fail)"));
  return { code, tail: lines.slice(0, 4).join(" | ") };
}

const filter = process.argv[2];
const chosen = MUTATIONS.filter((m) => !filter || m.name.includes(filter));
// No match (a typo): say so. Running the tests of no mutation would run `bun test` on no files,
// which is the whole suite, and then report "all 0 mutations caught".
if (chosen.length === 0) {
  console.error(`no mutation's name contains "${filter}"`);
  process.exit(2);
}
const files = trackedFiles();
const dir = copyOf(files);
let bad = 0;
try {
  // The unmutated copy must pass the chosen tests, or a "caught" mutation means nothing.
  const allTests = [...new Set(chosen.flatMap((m) => m.tests))];
  const base = await runTests(dir, allTests);
  if (base.code !== 0) throw new Error(`the tests fail without any mutation: ${base.tail}`);
  console.log(`baseline: ${allTests.length} test files pass`);
  for (const m of chosen) {
    const edits = [{ file: m.file, from: m.from, to: m.to }, ...(m.also ?? [])];
    const originals = new Map<string, string>();
    let stale = "";
    for (const e of edits) {
      const path = join(dir, e.file);
      const text = readFileSync(path, "utf8");
      if (!originals.has(path)) originals.set(path, text);
      const at = text.indexOf(e.from);
      if (at < 0 || text.indexOf(e.from, at + 1) >= 0) stale = e.file;
      else writeFileSync(path, text.replace(e.from, e.to));
    }
    const restore = () => originals.forEach((text, path) => writeFileSync(path, text));
    if (stale) {
      restore();
      console.log(`STALE     ${m.name}: its source text is not found exactly once in ${stale}`);
      bad++;
      continue;
    }
    const t0 = performance.now();
    const r = await runTests(dir, m.tests);
    restore();
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    if (r.code === 0) {
      bad++;
      console.log(`SURVIVED  ${m.name} (${m.tests.join(", ")} still pass, ${s} s)`);
    } else {
      console.log(`caught    ${m.name} (${s} s: ${r.tail})`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(bad ? `${bad} of ${chosen.length} mutations not caught` : `all ${chosen.length} mutations caught`);
process.exit(bad ? 1 : 0);
