// Tokenize the training corpus with the very tokenizer the runtime uses (@huggingface/tokenizers),
// so training ids and inference ids can never disagree. Each document becomes <s> doc </s>.
//   bun tools/tokenize_corpus.ts models/edgespec-tiny /tmp/edgespec-corpus
import { Tokenizer } from "@huggingface/tokenizers";
import { readFileSync, writeFileSync } from "node:fs";

const [modelDir, corpusDir] = process.argv.slice(2);
if (!modelDir || !corpusDir) throw new Error("usage: tokenize_corpus.ts MODEL_DIR CORPUS_DIR");
const tokenizer = new Tokenizer(JSON.parse(readFileSync(`${modelDir}/tokenizer.json`, "utf8")), {
  clean_up_tokenization_spaces: false,
});
for (const split of ["train", "valid"]) {
  const docs = readFileSync(`${corpusDir}/${split}.txt`, "utf8").split("\0");
  const out: number[] = [];
  for (const doc of docs) {
    out.push(1, ...tokenizer.encode(doc, { add_special_tokens: false }).ids, 2);
  }
  writeFileSync(`${corpusDir}/${split}.bin`, new Uint16Array(out));
  console.log(`${split}: ${docs.length} docs, ${out.length} tokens`);
}
