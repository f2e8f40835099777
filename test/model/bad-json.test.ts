/**
 * A model's JSON files that parse but are not objects (null, [], 5, "x"): each is a one-line
 * model_invalid error naming the file, not a TypeError from deep in loading.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunHost } from "../../adapters/bun/host.ts";
import { EdgespecError } from "../../src/errors.ts";
import { loadModel } from "../../src/model/load.ts";
import { MODEL_DIR } from "../helpers/model.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The reference model's small files copied, its fp32 graph linked (not copied), and `file` holding `text`. */
function replicaWith(file: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "edgespec-badjson-"));
  dirs.push(dir);
  cpSync(MODEL_DIR, dir, { recursive: true, filter: (src) => !src.endsWith(".onnx") });
  symlinkSync(join(MODEL_DIR, "onnx", "model.onnx"), join(dir, "onnx", "model.onnx"));
  writeFileSync(join(dir, file), text);
  return dir;
}

describe("model JSON files that are not objects", () => {
  const files = ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "genai_config.json"];
  for (const file of files) {
    test(`${file}: null, [], 5, "x" and true are model_invalid errors naming the file`, async () => {
      for (const [text, found] of [["null", "null"], ["[]", "an array"], ["5", "a number"], ['"x"', "a string"], ["true", "a boolean"]] as const) {
        const dir = replicaWith(file, text);
        const err = await loadModel(bunHost, dir, { device: "wasm" }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(EdgespecError);
        expect((err as EdgespecError).code).toBe("model_invalid");
        expect((err as EdgespecError).message).toBe(`${join(dir, file)} is not a JSON object (it holds ${found})`);
      }
    });
  }
});
