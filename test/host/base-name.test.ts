/**
 * baseName names a folder as the user wrote it, trailing separators or not: the served model id of
 * `--model models/edgespec-small/` is "edgespec-small", never the fallback "edgespec".
 */
import { describe, expect, test } from "bun:test";
import { basename } from "node:path";
import { baseName } from "../../src/paths.ts";
import type { ModelRunner } from "../../src/server/model-runner.ts";
import { ModelService } from "../../src/server/service.ts";

describe("baseName", () => {
  test("skips trailing separators, repeated or not, of either kind", () => {
    const cases: [string, string][] = [
      ["models/edgespec-small", "edgespec-small"],
      ["models/edgespec-small/", "edgespec-small"],
      ["models/edgespec-small///", "edgespec-small"],
      ["C:\\models\\edgespec-small\\", "edgespec-small"],
      ["C:\\models\\edgespec-small\\\\", "edgespec-small"],
      ["models\\edgespec-small/", "edgespec-small"],
      ["onnx/model_q4.onnx", "model_q4.onnx"],
      ["edgespec-tiny/", "edgespec-tiny"],
      ["edgespec-tiny", "edgespec-tiny"],
      ["/", ""],
      ["", ""],
    ];
    for (const [path, name] of cases) expect(`${path} -> ${baseName(path)}`).toBe(`${path} -> ${name}`);
  });

  test("equals node:path's basename on POSIX paths", () => {
    for (const path of ["a/b/", "a/b//", "/a", "a", "/", "a/./b/"]) expect(`${path} -> ${baseName(path)}`).toBe(`${path} -> ${basename(path)}`);
  });
});

test("the served model id of a folder given with a trailing separator is the folder's name", () => {
  for (const dir of ["models/edgespec-small/", "models/edgespec-small//", "models\\edgespec-small\\"]) {
    const runner = { facts: { dir }, run: () => Promise.reject(new Error("not run")) } as unknown as ModelRunner;
    expect(`${dir} -> ${new ModelService(runner).id}`).toBe(`${dir} -> edgespec-small`);
  }
});
