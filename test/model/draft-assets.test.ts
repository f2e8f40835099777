/**
 * A model's shipped draft assets (the warm recycling table, the draft corpus: src/model/draft-assets.ts)
 * are read the first time a drafter that uses them is built, once per model, and shared by every
 * drafter of it: a model set up without drafters, or with one that uses neither (ngram), never
 * reads them; the default drafter's are read (and a bad one noted) during setUp.
 */
import { describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunHost } from "../../adapters/bun/host.ts";
import type { HybridDrafter } from "../../src/drafters/hybrid.ts";
import { CorpusIndex } from "../../src/drafters/index.ts";
import { buildDrafter, fingerprintOf, readDraftAssets } from "../../src/engine/drafting.ts";
import type { Host } from "../../src/host.ts";
import { loadModel } from "../../src/model/load.ts";
import { setUp } from "../../src/setup.ts";
import { MODEL_DIR } from "../helpers/model.ts";

const SHIPPED = ["recycle-table.bin", "draft-corpus.escorpus"];

/** bunHost that counts the reads of each shipped asset file. */
function countingHost(): { host: Host; reads: Record<string, number> } {
  const reads: Record<string, number> = Object.fromEntries(SHIPPED.map((f) => [f, 0]));
  const host: Host = {
    ...bunHost,
    async readFile(path) {
      const file = SHIPPED.find((f) => path.endsWith(`/${f}`));
      if (file) reads[file]!++;
      return bunHost.readFile(path);
    },
  };
  return { host, reads };
}

/** Rows of the hybrid's recycling table that hold a candidate (the warm table fills most). */
function rowsWritten(d: HybridDrafter, vocab: number): number {
  let n = 0;
  for (let t = 0; t < vocab; t++) if (d.recycle.row(t)[0]! >= 0) n++;
  return n;
}

/** Whether the hybrid's suffix drafter was handed a static corpus (its cursor in it; private). */
const hasCorpus = (d: HybridDrafter) => (d.sam as unknown as { corpus?: unknown }).corpus !== undefined;

describe("a model's shipped draft assets are read on first use", () => {
  test("a setup with drafter none or ngram reads neither; a hybrid built later gets both, each file read once for all drafters", async () => {
    for (const drafter of ["none", "ngram"]) {
      const { host, reads } = countingHost();
      const setup = await setUp(host, { model: MODEL_DIR, device: "wasm", kernels: "ts", drafter });
      expect(reads).toEqual({ "recycle-table.bin": 0, "draft-corpus.escorpus": 0 });
      if (drafter === "ngram") {
        // A drafter whose assets were not read is a clear error, not one that silently goes without.
        expect(() => setup.drafter("hybrid")).toThrow(/shipped Token Recycling table \(.*recycle-table\.bin\) is not read yet/);
        const vocab = setup.model.lm.spec.vocabSize;
        const [hybrid, again] = await Promise.all([setup.loadDrafter("hybrid"), setup.loadDrafter("hybrid")]);
        expect(again).toBe(hybrid);
        expect(rowsWritten(hybrid as unknown as HybridDrafter, vocab)).toBeGreaterThan(vocab / 2);
        expect(hasCorpus(hybrid as unknown as HybridDrafter)).toBe(true);
        await setup.loadDrafter("recycle");
        await setup.loadDrafter("sam");
        expect(reads).toEqual({ "recycle-table.bin": 1, "draft-corpus.escorpus": 1 });
      }
      await setup.close();
    }
  }, 60_000);

  test("the default hybrid's assets are read at setup, and a bad corpus is noted there, before ready", async () => {
    const { host, reads } = countingHost();
    const setup = await setUp(host, { model: MODEL_DIR, device: "wasm", kernels: "ts", drafter: "hybrid" });
    expect(reads).toEqual({ "recycle-table.bin": 1, "draft-corpus.escorpus": 1 });
    expect(hasCorpus(setup.drafter("hybrid") as unknown as HybridDrafter)).toBe(true);
    await setup.close();

    const dir = mkdtempSync(join(tmpdir(), "edgespec-assets-"));
    try {
      cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
      symlinkSync(join(MODEL_DIR, "onnx", "model.onnx"), join(dir, "onnx", "model.onnx"));
      writeFileSync(join(dir, "draft-corpus.escorpus"), new Uint8Array(64));
      const events: string[] = [];
      const bad = await setUp(bunHost, { model: dir, device: "wasm", kernels: "ts", drafter: "hybrid", onProgress: (e) => events.push(`${e.phase}: ${e.message}`) });
      const note = events.findIndex((e) => e.startsWith(`note: ${join(dir, "draft-corpus.escorpus")} (the model's shipped draft corpus, config.json edgespec.draft_corpus)`));
      expect(note, events.join("\n")).toBeGreaterThanOrEqual(0);
      expect(events[note]).toEndWith(": drafters match the request's text alone (rebuild it with tools/draft-corpus.ts, or remove edgespec.draft_corpus)");
      expect(note).toBeLessThan(events.findIndex((e) => e.startsWith("ready:")));
      expect(hasCorpus(bad.drafter("hybrid") as unknown as HybridDrafter)).toBe(false);
      await bad.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("buildDrafter takes what readDraftAssets read; a corpus given instead is never read from the model", async () => {
    const { host, reads } = countingHost();
    const m = await loadModel(host, MODEL_DIR, { device: "wasm" });
    expect(() => buildDrafter(m, { name: "recycle" })).toThrow(/Token Recycling table .* is not read yet/);
    const given = CorpusIndex.build([[5, 6, 7, 8]], { vocabSize: m.lm.spec.vocabSize, tokenizerFingerprint: fingerprintOf(m) });
    for (const setup of [{ name: "recycle" }, { name: "sam", corpus: given }]) {
      await readDraftAssets(m, setup);
      buildDrafter(m, setup)!.dispose();
    }
    expect(reads).toEqual({ "recycle-table.bin": 1, "draft-corpus.escorpus": 0 });
    await m.lm.dispose();
  });
});
