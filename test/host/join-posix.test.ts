/**
 * The Deno host joins paths with joinPosix (it has no node:path of its own to lean on): it must
 * give what node:path's posix.join gives, so a path reads the same on every runtime.
 */
import { describe, expect, test } from "bun:test";
import { posix } from "node:path";
import { joinPosix } from "../../src/paths.ts";

const CASES: string[][] = [
  ["/work/main/models/edgespec-small", "..", "edgespec-tiny"],
  ["/a/b", "../../..", "c"],
  ["a", "..", "..", "b"],
  ["a/./b", "./c/"],
  ["/", ".."],
  ["", ""],
  ["", "a"],
  ["..", "a", "..", ".."],
  ["./a//b///c"],
  ["/a/b/", "onnx", "model.onnx"],
  ["models", "x", "..", ".."],
  ["/a", ""],
  ["a/", "../"],
];

describe("joinPosix", () => {
  test("equals node:path's posix.join", () => {
    for (const parts of CASES) expect(`${parts.join(" + ")} -> ${joinPosix(...parts)}`).toBe(`${parts.join(" + ")} -> ${posix.join(...parts)}`);
  });
});
