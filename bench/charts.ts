/**
 * Charts of the committed bench results, drawn with Vega-Lite (rendered to SVG headless, no
 * browser): speedup over plain decoding per workload and drafter, with the transformers.js peer,
 * for each speculative run; decode tokens/s as the context grows, for each context run.
 *
 *   bun bench/charts.ts      (reads bench/results/*.json, writes bench/results/*.svg)
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

const dir = new URL("results/", import.meta.url).pathname;

type Cell = { speedup: number; speedupRange: [number, number]; meanAcceptedLength: number };
type Speculative = { model: { backend: string; dtype: string; dir: string }; prompts: number; repeats: number; maxTokens: number; results: Record<string, Record<string, Cell>> };
type Context = { model: string; device: string; results: { context: number; [config: string]: number | { tokensPerSecond: number; range: [number, number] } }[] };

async function svg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}

const modelName = (dir: string) => dir.replace(/\/+$/, "").split("/").pop()!;

function speedupChart(r: Speculative): TopLevelSpec {
  const rows = Object.entries(r.results).flatMap(([workload, configs]) =>
    Object.entries(configs)
      .filter(([config]) => config !== "plain")
      .map(([config, c]) => ({ workload, config, speedup: c.speedup, low: c.speedupRange[0], high: c.speedupRange[1] })),
  );
  const configs = [...new Set(rows.map((x) => x.config))];
  // Workloads in the bench's order, the mean over all of them last.
  const workloads = [...Object.keys(r.results).filter((w) => w !== "all"), "all"];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `${modelName(r.model.dir)} (${r.model.dtype}, ${r.model.backend}): speedup over plain decoding`, subtitle: `${r.prompts} prompts, ${r.maxTokens} tokens, median of ${r.repeats} passes; whiskers: range over passes` },
    data: { values: rows },
    width: 640,
    height: 260,
    layer: [
      {
        encoding: {
          x: { field: "workload", type: "nominal", sort: workloads, axis: { labelAngle: 0, title: null } },
          xOffset: { field: "config", sort: configs },
          color: { field: "config", type: "nominal", sort: configs, title: "drafter" },
        },
        layer: [
          { mark: "bar", encoding: { y: { field: "speedup", type: "quantitative", title: "speedup (x)" } } },
          { mark: { type: "rule", color: "#333" }, encoding: { y: { field: "low", type: "quantitative" }, y2: { field: "high" } } },
        ],
      },
      { mark: { type: "rule", strokeDash: [4, 4], color: "#999" }, data: { values: [{ one: 1 }] }, encoding: { y: { field: "one", type: "quantitative" } } },
    ],
  } as TopLevelSpec;
}

function contextChart(r: Context): TopLevelSpec {
  const rows = r.results.flatMap((row) =>
    Object.entries(row)
      .filter(([k]) => k !== "context")
      .map(([config, v]) => {
        const c = v as { tokensPerSecond: number; range: [number, number] };
        return { context: row.context, config, tps: c.tokensPerSecond, low: c.range[0], high: c.range[1] };
      }),
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `${r.model} (${r.device}): decode tokens/s as the context grows`, subtitle: "median of passes; whiskers: range" },
    data: { values: rows },
    width: 480,
    height: 260,
    encoding: {
      x: { field: "context", type: "quantitative", title: "context (tokens)" },
      color: { field: "config", type: "nominal", title: null },
    },
    layer: [
      { mark: { type: "line", point: true }, encoding: { y: { field: "tps", type: "quantitative", title: "decode tokens/s" } } },
      { mark: "rule", encoding: { y: { field: "low", type: "quantitative" }, y2: { field: "high" } } },
    ],
  } as TopLevelSpec;
}

const written: string[] = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const data = JSON.parse(readFileSync(dir + file, "utf8"));
  let spec: TopLevelSpec | undefined;
  if (file.startsWith("speculative") && data.results && data.model?.dir) spec = speedupChart(data as Speculative);
  else if (file.startsWith("context") && Array.isArray(data.results)) spec = contextChart(data as Context);
  if (!spec) continue;
  const out = file.replace(/\.json$/, ".svg");
  writeFileSync(dir + out, await svg(spec));
  written.push(out);
}
console.error(`charts: ${written.length} written to bench/results/: ${written.join(", ")}`);
