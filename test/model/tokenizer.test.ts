import { describe, expect, test } from "bun:test";
import { Detokenizer } from "../../src/decode/detokenizer.ts";
import { referenceModel } from "../helpers/model.ts";

const SAMPLES = [
  "def f(x):\n    return x ** 2  # square\n",
  "interface Point { x: number; y: number }",
  "naïve café — 日本語のテキスト, emoji 🎉🚀 and Ελληνικά",
  "   leading spaces, trailing tabs\t\t\n\n",
  "",
];

describe("reference tokenizer", () => {
  test("round-trips text, multi-byte characters included", async () => {
    const { tokenizer } = await referenceModel();
    for (const s of SAMPLES) {
      const ids = tokenizer.encode(s, false);
      expect(tokenizer.decode(ids)).toBe(s);
    }
  });

  test("adds BOS as its post-processor says", async () => {
    const { tokenizer, lm } = await referenceModel();
    const ids = tokenizer.encode("hello", true);
    expect(ids[0]).toBe(lm.spec.bosTokenId!);
    expect(tokenizer.decode(ids)).toBe("hello");
  });

  test("streamed detokenization never emits half a character and adds up to the whole", async () => {
    const { tokenizer } = await referenceModel();
    for (const s of SAMPLES) {
      const ids = tokenizer.encode(s, false);
      const d = new Detokenizer(tokenizer);
      const pieces = ids.map((id) => d.push(id));
      pieces.push(d.flush());
      for (const p of pieces) expect(p.includes("\uFFFD")).toBe(false);
      expect(pieces.join("")).toBe(s);
    }
  });

  test("a token that ends inside a character releases nothing until the character completes", async () => {
    const { tokenizer } = await referenceModel();
    const text = "日本";
    const ids = tokenizer.encode(text, false);
    const partial = ids.findIndex((_, i) => tokenizer.decode(ids.slice(0, i + 1)).endsWith("\uFFFD"));
    expect(partial).toBeGreaterThanOrEqual(0); // the byte-level vocabulary splits these characters
    const d = new Detokenizer(tokenizer);
    const out = ids.map((id) => d.push(id));
    expect(out[partial]).toBe("");
    expect(out.join("") + d.flush()).toBe(text);
  });
});
