/**
 * A static corpus from a path: a saved index (`*.escorpus`), one text file, or a folder whose
 * text/code files are tokenized with the model's tokenizer. An index built from text is saved
 * beside it (`<path>.escorpus`) where the host can write, and reused while the files hash the
 * same and the tokenizer is the same: tokenizing is most of the cost, and is paid once.
 */
import { CorpusIndex } from "../drafters/index.ts";
import { hashChunks } from "../drafters/fingerprint.ts";
import { EdgespecError } from "../errors.ts";
import type { Host } from "../host.ts";
import type { LoadedModel } from "../model/load.ts";
import { fingerprintOf } from "./drafting.ts";

const CORPUS_EXTENSIONS = /\.(txt|md|rst|py|ts|js|mjs|tsx|jsx|json|c|h|rs|go|java|rb|sh|toml|ya?ml|html|css)$/i;
export const SAVED_CORPUS_EXTENSION = ".escorpus";

export interface CorpusLoadOptions {
  /** After each file is tokenized: bytes of text so far, of the total. */
  onFile?: (file: string, loadedBytes: number, totalBytes: number) => void;
  /** A line for people: the index reused, saved, or why not. */
  onNote?: (message: string) => void;
  /** Reuse and save `<path>.escorpus` beside the corpus (default true; a host that cannot write only reuses). */
  saveIndex?: boolean;
}

/**
 * Throws invalid_argument unless `path` is a file or a folder: what loadCorpus first checks, and
 * what setUp checks before the model loads (a missing corpus was found only after the load).
 * Whether a file holds a corpus, or a folder has text files, is known only when they are read.
 */
export async function checkCorpusPath(host: Host, path: string): Promise<{ isFile: boolean }> {
  const isFile = await host.isFile(path);
  if (!isFile && !(await host.isDirectory(path))) throw new EdgespecError("invalid_argument", `corpus not found: ${path}`);
  return { isFile };
}

export async function loadCorpus(host: Host, model: LoadedModel, path: string, opts: CorpusLoadOptions = {}): Promise<CorpusIndex> {
  const identity = { vocabSize: model.lm.spec.vocabSize, tokenizerFingerprint: fingerprintOf(model) };
  const onFile = opts.onFile ?? (() => {});
  const note = opts.onNote ?? (() => {});
  const { isFile } = await checkCorpusPath(host, path);
  if (isFile && path.endsWith(SAVED_CORPUS_EXTENSION)) return CorpusIndex.load(await host.readFile(path), identity);
  const files = isFile ? [path] : await corpusFiles(host, path);
  const texts = await Promise.all(files.map((f) => host.readFile(f)));
  const prefix = isFile ? "" : path;
  // The key covers names (relative to the folder) and contents, so a renamed or edited file counts.
  const source = `files:${hashChunks(files.flatMap((f, i) => [f.slice(prefix.length), texts[i]!]))}`;
  const indexPath = path.replace(/[\\/]+$/, "") + SAVED_CORPUS_EXTENSION;
  const reuse = opts.saveIndex !== false;
  if (reuse && (await host.isFile(indexPath))) {
    try {
      const saved = CorpusIndex.load(await host.readFile(indexPath), identity);
      if (saved.source === source) {
        note(`corpus: reused ${indexPath} (${saved.tokenCount} tokens)`);
        return saved;
      }
      note(`corpus: ${indexPath} was built from other files; rebuilding`);
    } catch (e) {
      note(`corpus: ${indexPath} not reused (${(e as Error).message}); rebuilding`);
    }
  }
  const totalBytes = texts.reduce((a, t) => a + t.length, 0);
  const decoder = new TextDecoder();
  const docs: number[][] = [];
  let loadedBytes = 0;
  files.forEach((f, i) => {
    docs.push(model.tokenizer.encode(decoder.decode(texts[i]!), false));
    loadedBytes += texts[i]!.length;
    onFile(f, loadedBytes, totalBytes);
  });
  const index = CorpusIndex.build(docs, { ...identity, source });
  if (reuse && host.writeFile) {
    try {
      await host.writeFile(indexPath, index.save());
      note(`corpus: saved ${indexPath} (${index.tokenCount} tokens); it is reused while these files are unchanged`);
    } catch (e) {
      note(`corpus: could not save ${indexPath} (${(e as Error).message}); it will be built again next time`);
    }
  }
  return index;
}

/** A folder's text and code files (checkCorpusPath found it a folder). */
async function corpusFiles(host: Host, dir: string): Promise<string[]> {
  if (!host.listFiles) throw new EdgespecError("invalid_argument", `this runtime cannot read folders; pass a file as the corpus`);
  const files = (await host.listFiles(dir)).filter((f) => CORPUS_EXTENSIONS.test(f));
  if (files.length === 0) throw new EdgespecError("invalid_argument", `corpus folder ${dir} has no text or code files`);
  return files;
}
