/**
 * `edgespec serve` on Bun, Deno and Node (spawned processes on loopback), each answering the
 * official openai client: completions and chat, streamed and not. Streamed text equals
 * non-streamed text, and all three runtimes give the same greedy text.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_HEADER_BYTES, PARSER_HEADER_LIMIT } from "../../src/server/body.ts";
import { MODEL_DIR, REPO, run } from "../helpers/model.ts";
import { exercise, type Spawned, spawnServer } from "./processes.ts";

// fp32 with the hybrid drafter: drafted output is then exactly plain greedy output on every runtime.
const FLAGS = ["--model", MODEL_DIR, "--host", "127.0.0.1", "--port", "0", "--device", "wasm", "--dtype", "fp32", "--drafter", "hybrid"];
const SERVERS: Record<string, string[]> = {
  // As bin/edgespec.mjs starts it: Bun's parser takes headers up to PARSER_HEADER_LIMIT, so the app's own 431 answers first.
  bun: [`${REPO}node_modules/.bin/bun`, `--max-http-header-size=${PARSER_HEADER_LIMIT}`, `${REPO}adapters/bun/serve.ts`, ...FLAGS],
  deno: [`${REPO}node_modules/.bin/deno`, "run", "-A", `${REPO}adapters/deno/serve.ts`, ...FLAGS],
  node: ["node", `${REPO}dist/edgespec-node-serve.mjs`, ...FLAGS],
};

beforeAll(async () => {
  // Node runs no TypeScript: bundle the Node server adapter the way `npm run build` bundles the CLI.
  const b = await run([`${REPO}node_modules/.bin/bun`, "build", "adapters/node/serve.ts", "--target=node", "--format=esm", "--packages=external", "--outfile", "dist/edgespec-node-serve.mjs"]);
  if (b.code !== 0) throw new Error(`node bundle failed: ${b.stderr}`);
  // Its model worker beside it, as `npm run build` puts one beside the CLI.
  const w = await run([`${REPO}node_modules/.bin/bun`, "build", "adapters/node/model-worker.ts", "--target=node", "--format=esm", "--packages=external", "--outfile", "dist/edgespec-node-worker.mjs"]);
  if (w.code !== 0) throw new Error(`node worker bundle failed: ${w.stderr}`);
});

describe("edgespec serve on each runtime, with the openai client", () => {
  const texts: Record<string, string[]> = {};
  const running: Spawned[] = [];
  afterAll(() => {
    for (const s of running) s.proc.kill();
  });

  for (const runtime of Object.keys(SERVERS)) {
    test(`${runtime}: completions and chat, streamed and not; stops cleanly on SIGTERM`, async () => {
      const s = await spawnServer(SERVERS[runtime]!);
      running.push(s);
      // The default drafter (hybrid) runs on the WASM kernels the runtime's host provides.
      expect(s.stderr()).toContain("drafter kernels: wasm, model in a worker");
      texts[runtime] = await exercise(s.url);
      // Headers over the app's limit get a JSON 431; on Node, over the parser's too.
      for (const size of runtime === "node" ? [MAX_HEADER_BYTES + 1000, PARSER_HEADER_LIMIT + 1000] : [MAX_HEADER_BYTES + 1000]) {
        const big = await fetch(`${s.url}/health`, { headers: { "x-big": "a".repeat(size) } });
        expect(big.status).toBe(431);
        expect((await big.json()).error.code).toBe("headers_too_large");
      }
      s.proc.kill("SIGTERM");
      const code = await Promise.race([s.proc.exited, Bun.sleep(15_000).then(() => "timeout")]);
      expect(code).toBe(0);
    });
  }

  test("the three runtimes give the same greedy text", () => {
    expect(texts.deno).toEqual(texts.bun!);
    expect(texts.node).toEqual(texts.bun!);
  });
});
