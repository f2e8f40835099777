/**
 * Byte-level decoding from a byte table (src/model/byte-level.ts) against the tokenizer library's
 * own decode: the whole vocabulary one id at a time and random runs of ids (partial UTF-8
 * characters, special and added tokens among them), on both shipped tokenizers and on a variant
 * with an added non-special token, an extra special token and an unknown token; and tokenizers the
 * table does not cover go through the library.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { TextCodec, type TokenizerFiles } from "../../src/model/tokenizer.ts";
import { Rng } from "../../src/decode/rng.ts";
import { REPO } from "../helpers/model.ts";

function files(model: string): TokenizerFiles {
  const dir = `${REPO}models/${model}`;
  return { tokenizerJson: JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8")), tokenizerConfig: JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, "utf8")) };
}

/** A copy of `model`'s tokenizer with an unk token, an added plain token (over an existing id), an extra special string, and a missing id. */
function variant(model: string): { files: TokenizerFiles; holes: number[] } {
  const f = structuredClone(files(model)) as { tokenizerJson: { model: { vocab: Record<string, number>; unk_token: unknown }; added_tokens: Record<string, unknown>[] }; tokenizerConfig: Record<string, unknown> };
  const vocab = f.tokenizerJson.model.vocab;
  // The shipped tokenizers name no unk token: this one does, so ids without a string decode as it.
  f.tokenizerJson.model.unk_token = "<unk>";
  const byId = Object.entries(vocab).sort((a, b) => a[1] - b[1]);
  // An id with no token string (the library reads the unk token for it).
  const hole = byId[300]!;
  delete vocab[hole[0]];
  f.tokenizerJson.added_tokens.push({ id: byId[301]![1], content: "<|tool|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
  f.tokenizerConfig.additional_special_tokens = [byId[302]![0]];
  return { files: f as unknown as TokenizerFiles, holes: [hole[1]] };
}

function compare(codec: TextCodec, vocabSize: number, extraIds: number[] = []): number {
  let checked = 0;
  for (const skip of [true, false]) {
    for (let id = 0; id < vocabSize; id++) {
      expect(codec.decode([id], skip)).toBe(codec.libraryDecode([id], skip));
      checked++;
    }
    const rng = new Rng(7);
    // Runs that mix bytes of multi-byte characters (ids of single high bytes), specials and added tokens.
    const pool = [0, 1, 2, 3, ...extraIds, ...Array.from({ length: 300 }, (_, i) => i)];
    for (let r = 0; r < 3000; r++) {
      const n = 1 + Math.floor(rng.next() * 8);
      const ids = Array.from({ length: n }, () => (rng.next() < 0.5 ? pool[Math.floor(rng.next() * pool.length)]! : Math.floor(rng.next() * vocabSize)));
      expect(codec.decode(ids, skip)).toBe(codec.libraryDecode(ids, skip));
      checked++;
    }
  }
  return checked;
}

describe("byte-level decoding from a byte table", () => {
  for (const model of ["edgespec-tiny", "edgespec-small"]) {
    test(`${model}: every id and 3000 random runs decode as the library decodes them`, () => {
      const f = files(model);
      const codec = new TextCodec(f);
      expect(codec.decoder).toBe("byte table");
      const vocabSize = Object.keys((f.tokenizerJson as { model: { vocab: object } }).model.vocab).length;
      expect(compare(codec, vocabSize)).toBeGreaterThan(2 * vocabSize);
    });
  }

  test("added plain tokens, extra special strings and ids without a token string decode as the library decodes them", () => {
    const { files: f, holes } = variant("edgespec-tiny");
    const codec = new TextCodec(f);
    expect(codec.decoder).toBe("byte table");
    // Ids past the vocabulary decode as the unk token too.
    compare(codec, 4096, [...holes, 301, 302, 4096, 5000]);
    expect(codec.libraryDecode([holes[0]!], false)).toBe("<unk>");
    expect(codec.decode([holes[0]!, 4096], false)).toBe("<unk><unk>");
    // The added token stands for itself, between byte runs.
    expect(codec.decode([301])).toBe("<|tool|>");
  });

  test("tokenizers it does not cover decode through the library", () => {
    const cleanup = files("edgespec-tiny");
    cleanup.tokenizerConfig = { ...cleanup.tokenizerConfig, clean_up_tokenization_spaces: true };
    expect(new TextCodec(cleanup).decoder).toBe("library");
    const unset = files("edgespec-tiny");
    delete unset.tokenizerConfig.clean_up_tokenization_spaces;
    expect(new TextCodec(unset).decoder).toBe("library");
    const suffix = files("edgespec-tiny");
    (suffix.tokenizerJson as { model: Record<string, unknown> }).model.end_of_word_suffix = "</w>";
    expect(new TextCodec(suffix).decoder).toBe("library");
    const other = files("edgespec-tiny");
    (other.tokenizerJson as { decoder: unknown }).decoder = { type: "Sequence", decoders: [{ type: "ByteLevel" }] };
    expect(new TextCodec(other).decoder).toBe("library");
  });
});
