/**
 * No import cycles in src/ and adapters/ (type imports included): each module can be read, loaded
 * and tested on its own, and the layers (cli -> server -> engine -> model) stay layers.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { REPO } from "../helpers/model.ts";

test("src/ and adapters/ import no module that imports them back", () => {
  const graph = new Map<string, string[]>();
  for (const f of new Bun.Glob("{src,adapters}/**/*.ts").scanSync(REPO)) {
    const text = readFileSync(join(REPO, f), "utf8");
    graph.set(f, [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => normalize(join(dirname(f), m[1]!))));
  }
  expect(graph.size).toBeGreaterThan(50);
  const cycles: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (n: string) => {
    if (path.includes(n)) return void cycles.push([...path.slice(path.indexOf(n)), n].join(" -> "));
    if (done.has(n)) return;
    path.push(n);
    for (const d of graph.get(n) ?? []) visit(d);
    path.pop();
    done.add(n);
  };
  for (const n of graph.keys()) visit(n);
  expect(cycles).toEqual([]);
});
