import { describe, expect, test } from "bun:test";
import { referenceModel } from "../helpers/model.ts";
import { feedIds } from "../helpers/output.ts";

async function feed(text: string, opts: { maxTokens?: number; stopStrings?: string[]; stopTokens?: number[] }) {
  const { tokenizer } = await referenceModel();
  const ids = tokenizer.encode(text, false);
  return { ...feedIds(tokenizer, ids, { ...opts, maxTokens: opts.maxTokens ?? 1000 }), ids };
}

describe("TokenOutput stop rules", () => {
  test("a stop string cuts the text before it, even across token boundaries", async () => {
    const r = await feed("def a():\n    return 1\n\ndef b():\n    pass\n", { stopStrings: ["\n\ndef"] });
    expect(r.text).toBe("def a():\n    return 1");
    expect(r.finish).toBe("stop");
  });

  test("text that may begin a stop string is held back, then released when it cannot", async () => {
    const text = "alpha beta gamma delta";
    const r = await feed(text, { stopStrings: ["gamma ray"] });
    expect(r.chunks.join("")).toBe(text);
    expect(r.finish).toBeUndefined();
    const { tokenizer } = await referenceModel();
    // The token that completes " gamma" releases nothing: " gamma" could still become "gamma ray".
    const i = r.ids.findIndex((_, k) => tokenizer.decode(r.ids.slice(0, k + 1)).endsWith("gamma"));
    expect(r.chunks[i]).toBe("");
    expect(r.chunks.slice(0, i).join("")).toBe("alpha beta ");
  });

  test("max tokens ends with finish 'length' and the exact token count", async () => {
    const r = await feed("one two three four five six seven", { maxTokens: 3 });
    expect(r.tokens).toEqual(r.ids.slice(0, 3));
    expect(r.finish).toBe("length");
  });

  test("a stop token ends without being emitted", async () => {
    const { tokenizer } = await referenceModel();
    const ids = tokenizer.encode("x = 1", false);
    const r = await feed("x = 1", { stopTokens: [ids[1]!] });
    expect(r.tokens).toEqual([ids[0]!]);
    expect(r.finish).toBe("stop");
  });

  test("max tokens must be a positive integer", async () => {
    await expect(feed("x", { maxTokens: 0 })).rejects.toThrow(/positive integer/);
  });
});
