/**
 * Compares model files against a reference file of the same model, teacher-forced and greedy:
 *
 *   npx bun tools/eval_small.ts --ref /tmp/small-export:fp32 --cmp models/edgespec-small:fp32 \
 *       --cmp /tmp/small-export:q8 --cmp /tmp/small-export:q4 \
 *       --text test/fixtures/heldout.txt --text /usr/lib/python3.11/difflib.py --per-text 1024
 *
 * For each text, the tokens (BOS + text, at most --per-text of them, cut into windows of --window
 * tokens (512); at most --positions (4096) in all) go through every model in one forward per window. Reported per compared model: the
 * largest and mean |logit difference| from the reference over all positions and the whole
 * vocabulary, how often its next-token argmax equals the reference's, and each model's mean
 * next-token loss (nats/token) on the same positions. Then --prompts bench prompts (spread over the
 * workloads) are decoded greedily (plain, --max-tokens each) by every model and the token ids
 * compared with the reference's. `--json` prints the numbers as one object.
 */
import { bunHost } from "../adapters/bun/host.ts";
import prompts from "../bench/prompts.json";
import { generatePlain } from "../src/decode/plain.ts";
import { argmax } from "../src/decode/sampler.ts";
import { parseDtype } from "../src/model/dtype.ts";
import { type LoadedModel, loadModel } from "../src/model/load.ts";

interface Args {
  ref: string;
  cmp: string[];
  text: string[];
  window: number;
  positions: number;
  perText: number;
  prompts: number;
  maxTokens: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { ref: "", cmp: [], text: [], window: 512, positions: 4096, perText: Infinity, prompts: 6, maxTokens: 64, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === "--ref") a.ref = v();
    else if (k === "--cmp") a.cmp.push(v());
    else if (k === "--text") a.text.push(v());
    else if (k === "--window") a.window = Number(v());
    else if (k === "--positions") a.positions = Number(v());
    else if (k === "--per-text") a.perText = Number(v());
    else if (k === "--prompts") a.prompts = Number(v());
    else if (k === "--max-tokens") a.maxTokens = Number(v());
    else if (k === "--json") a.json = true;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.ref) throw new Error("--ref DIR:DTYPE is required");
  if (a.text.length === 0) a.text.push(new URL("../test/fixtures/heldout.txt", import.meta.url).pathname);
  return a;
}

/** "DIR:DTYPE" (dtype defaults to fp32). */
async function load(spec: string): Promise<{ name: string; model: LoadedModel }> {
  const at = spec.lastIndexOf(":");
  const [dir, dtype] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, "fp32"];
  const model = await loadModel(bunHost, dir, { dtype: parseDtype(dtype!), device: "wasm" });
  return { name: `${dir}:${dtype}`, model };
}

/** Next-token losses (nats) of rows 0..n-2 against ids[1..]. */
function losses(logits: Float32Array, ids: number[], V: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < ids.length; i++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[i * V + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[i * V + v]! - max);
    out.push(Math.log(sum) + max - logits[i * V + ids[i + 1]!]!);
  }
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ref = await load(args.ref);
  const others: { name: string; model: LoadedModel }[] = [];
  for (const c of args.cmp) others.push(await load(c));
  const V = ref.model.lm.spec.vocabSize;

  // Windows of held-out tokens from the start of each text: at most --per-text from one text,
  // --positions in all.
  const windows: number[][] = [];
  let budget = args.positions;
  for (const path of args.text) {
    const ids = ref.model.tokenizer.encode(await Bun.file(path).text(), true).slice(0, args.perText);
    for (let s = 0; s < ids.length && budget > 0; s += args.window) {
      const w = ids.slice(s, s + Math.min(args.window, budget));
      if (w.length < 2) break;
      windows.push(w);
      budget -= w.length;
    }
  }
  const positions = windows.reduce((n, w) => n + w.length, 0);

  const refLoss: number[] = [];
  const stats = others.map(() => ({ maxDiff: 0, sumDiff: 0, agree: 0, loss: [] as number[] }));
  for (const w of windows) {
    const pos = w.map((_, i) => i);
    const base = await ref.model.lm.forward(w, pos, ref.model.lm.newCache());
    refLoss.push(...losses(base, w, V));
    for (const [k, o] of others.entries()) {
      const logits = await o.model.lm.forward(w, pos, o.model.lm.newCache());
      const s = stats[k]!;
      for (let i = 0; i < base.length; i++) {
        const d = Math.abs(logits[i]! - base[i]!);
        if (d > s.maxDiff) s.maxDiff = d;
        s.sumDiff += d;
      }
      for (let r = 0; r < w.length; r++) if (argmax(logits, r * V, V) === argmax(base, r * V, V)) s.agree++;
      s.loss.push(...losses(logits, w, V));
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  // Greedy continuations, prompts spread over the bench's workloads.
  const list = prompts.prompts;
  const chosen = Array.from({ length: args.prompts }, (_, k) => list[Math.floor((k * list.length) / args.prompts)]!);
  const refTokens: number[][] = [];
  for (const p of chosen) refTokens.push((await generatePlain(ref.model, p.prompt, { maxTokens: args.maxTokens })).tokens);
  const greedy: { same: number; firstDiff: (number | null)[] }[] = [];
  for (const o of others) {
    let same = 0;
    const firstDiff: (number | null)[] = [];
    for (const [j, p] of chosen.entries()) {
      const t = (await generatePlain(o.model, p.prompt, { maxTokens: args.maxTokens })).tokens;
      const r = refTokens[j]!;
      if (t.join() === r.join()) same++;
      const d = r.findIndex((x, i) => t[i] !== x);
      firstDiff.push(d < 0 && t.length === r.length ? null : d < 0 ? Math.min(t.length, r.length) : d);
    }
    greedy.push({ same, firstDiff });
  }

  const result = {
    reference: { name: ref.name, loss: mean(refLoss) },
    texts: args.text,
    positions,
    windows: windows.length,
    greedy: { prompts: chosen.map((p) => p.id), maxTokens: args.maxTokens },
    models: others.map((o, k) => ({
      name: o.name,
      maxAbsLogitDiff: stats[k]!.maxDiff,
      meanAbsLogitDiff: stats[k]!.sumDiff / (positions * V),
      argmaxAgreement: stats[k]!.agree / positions,
      loss: mean(stats[k]!.loss),
      greedyIdentical: `${greedy[k]!.same}/${chosen.length}`,
      greedyFirstDifference: greedy[k]!.firstDiff,
    })),
  };
  if (args.json) {
    console.log(JSON.stringify(result, null, 1));
    return;
  }
  console.log(`reference ${ref.name}: loss ${result.reference.loss.toFixed(4)} nats/token on ${positions} positions (${windows.length} windows)`);
  for (const m of result.models) {
    console.log(
      `${m.name}: max |dlogit| ${m.maxAbsLogitDiff.toExponential(3)}, mean ${m.meanAbsLogitDiff.toExponential(3)}, ` +
        `argmax = ref ${(m.argmaxAgreement * 100).toFixed(2)}%, loss ${m.loss.toFixed(4)}, ` +
        `greedy identical ${m.greedyIdentical} (${args.maxTokens} tokens; first difference ${JSON.stringify(m.greedyFirstDifference)})`,
    );
  }
}

await main();
process.exit(0);
