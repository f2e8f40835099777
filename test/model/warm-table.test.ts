/**
 * A model's warm Token Recycling table (config.json `edgespec.recycle_table`, built by
 * tools/warm-table.ts): read when the model's first drafter with a table is built, the start of
 * every drafter with a table unless saved state is given, and a note naming the file (drafters start cold) when config names one
 * that is not there, is corrupt, or was built for a tokenizer.json edited since.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDrafter, tokenizerFingerprint } from "../../src/drafters/index.ts";
import { builtinDrafters } from "../../src/drafters/registry.ts";
import { emptyTree } from "../../src/drafters/types.ts";
import type { TokenRecyclingDrafter } from "../../src/drafters/token-recycling.ts";
import { buildDrafter, fingerprintOf } from "../../src/engine/drafting.ts";
import { generate } from "../../src/engine/speculative.ts";
import { loadEditedReference, MODEL_DIR, referenceModel } from "../helpers/model.ts";

/** Rows of a recycling table that hold a candidate. */
function rowsWritten(d: TokenRecyclingDrafter, vocab: number): number {
  let n = 0;
  for (let t = 0; t < vocab; t++) if (d.row(t)[0]! >= 0) n++;
  return n;
}

describe("a model's warm recycling table", () => {
  test("the reference model ships one: recycle and hybrid start from it, saved state given instead wins, drafters without a table ignore it", async () => {
    const m = await referenceModel();
    const vocab = m.lm.spec.vocabSize;
    expect(await m.draftAssets!.recycleTable()).toBeDefined();
    const recycle = buildDrafter(m, { name: "recycle" }) as unknown as TokenRecyclingDrafter;
    expect(rowsWritten(recycle, vocab)).toBeGreaterThan(vocab / 2);
    const hybrid = buildDrafter(m, { name: "hybrid" }) as unknown as { recycle: TokenRecyclingDrafter };
    expect(rowsWritten(hybrid.recycle, vocab)).toBe(rowsWritten(recycle, vocab));
    expect(() => buildDrafter(m, { name: "sam" })).not.toThrow();
    // A user's drafter with saved state of its own is not handed a recycling table it did not ask for.
    let seen: Uint8Array | undefined = new Uint8Array(1);
    const mine = builtinDrafters().register("mine", {
      create: (ctx) => {
        seen = ctx.savedState;
        return { name: "mine", reset() {}, propose: () => emptyTree(), observe() {} };
      },
      savesState: true,
    });
    buildDrafter(m, { name: "mine" }, mine);
    expect(seen).toBeUndefined();
    const empty = createDrafter("recycle", { vocabSize: vocab, tokenizerFingerprint: fingerprintOf(m) }) as unknown as TokenRecyclingDrafter;
    const given = buildDrafter(m, { name: "recycle", recycleState: empty.save() }) as unknown as TokenRecyclingDrafter;
    expect(rowsWritten(given, vocab)).toBe(0);
    // Generation from the warm table is plain decoding's, and its drafts are taken.
    const prompt = "def main():\n    ";
    const plain = await generate(m, prompt, { maxTokens: 24, stopAtEos: false });
    const warm = await generate(m, prompt, { maxTokens: 24, stopAtEos: false, drafter: buildDrafter(m, { name: "recycle" }) });
    expect(warm.tokens).toEqual(plain.tokens);
    expect(warm.stats.acceptedTokens).toBeGreaterThan(0);
  });

  test("a named file that is missing loads the model cold with a note; a name outside the model folder is a clear error", async () => {
    const withTable = async (name: unknown, notes: string[] = []) => {
      const edit = (dir: string) => {
        rmSync(join(dir, "recycle-table.bin"));
        const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
        writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, edgespec: { ...config.edgespec, recycle_table: name } }));
      };
      return (await loadEditedReference(edit, notes)).model;
    };
    const notes: string[] = [];
    const copied = await withTable("recycle-table.bin", notes);
    expect(await copied.draftAssets!.recycleTable()).toBeUndefined();
    expect(notes.join("\n")).toMatch(/config.json names recycling table recycle-table.bin, which is not in .*: drafters start cold \(rebuild it with tools\/warm-table.ts/);
    await copied.lm.dispose();
    await expect(withTable("../elsewhere.bin")).rejects.toThrow(/edgespec.recycle_table must name a file in the model folder/);
    await expect(withTable(7)).rejects.toThrow(/edgespec.recycle_table must name a file in the model folder, got 7/);
  });

  test("a corrupt shipped table loads the model cold, with a note naming the file as the model's shipped table", async () => {
    const shipped = readFileSync(join(MODEL_DIR, "recycle-table.bin"));
    for (const [bytes, why] of [
      [new Uint8Array(64), /is not valid saved state: expected a "ESTR" file, found "\\u0000\\u0000\\u0000\\u0000"/],
      [shipped.subarray(0, 1000), /is not valid saved state: truncated at byte/],
      [new Uint8Array(0), /is not valid saved state: truncated at byte 0/],
    ] as const) {
      const notes: string[] = [];
      const { dir, model } = await loadEditedReference((d) => writeFileSync(join(d, "recycle-table.bin"), bytes), notes);
      expect(await model.draftAssets!.recycleTable()).toBeUndefined();
      const note = notes.find((n) => n.includes("recycle-table.bin"));
      expect(note).toStartWith(`${join(dir, "recycle-table.bin")} (the model's shipped Token Recycling table, config.json edgespec.recycle_table) is not valid saved state`);
      expect(note).toMatch(why);
      expect(note).toEndWith(": drafters start cold (rebuild it with tools/warm-table.ts, or remove edgespec.recycle_table)");
      // A drafter built for it starts cold instead of throwing.
      const recycle = buildDrafter(model, { name: "recycle" }) as unknown as TokenRecyclingDrafter;
      expect(rowsWritten(recycle, model.lm.spec.vocabSize)).toBe(0);
      await model.lm.dispose();
    }
  });

  test("a tokenizer.json edited after the shipped table was built: loads cold, with a note about the model's own table", async () => {
    const notes: string[] = [];
    const { dir, model } = await loadEditedReference((d) => {
      const path = join(d, "tokenizer.json");
      const tok = JSON.parse(readFileSync(path, "utf8"));
      tok.pre_tokenizer.add_prefix_space = true;
      writeFileSync(path, JSON.stringify(tok));
    }, notes);
    expect(await model.draftAssets!.recycleTable()).toBeUndefined();
    const note = notes.find((n) => n.includes("recycle-table.bin"))!;
    const built = tokenizerFingerprint(JSON.parse(readFileSync(join(MODEL_DIR, "tokenizer.json"), "utf8")));
    expect(fingerprintOf(model)).not.toBe(built);
    expect(note).toBe(
      `${join(dir, "recycle-table.bin")} (the model's shipped Token Recycling table, config.json edgespec.recycle_table) was built for tokenizer "${built}" with 4096 tokens, ` +
        `but the model's tokenizer.json and config.json are now "${fingerprintOf(model)}" with 4096 tokens (edited since the table was built?): ` +
        "drafters start cold (rebuild it with tools/warm-table.ts, or remove edgespec.recycle_table)",
    );
    expect(note).not.toMatch(/this drafter|rebuild it for this tokenizer/);
    const recycle = buildDrafter(model, { name: "recycle" }) as unknown as TokenRecyclingDrafter;
    expect(rowsWritten(recycle, model.lm.spec.vocabSize)).toBe(0);
    await model.lm.dispose();
  });
});
