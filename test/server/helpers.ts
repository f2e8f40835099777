/** Shared pieces of the server tests: an in-process server on loopback, SSE reading, a test drafter. */
import { listen } from "../../adapters/bun/serve.ts";
import type { DraftTree, Drafter, VerifyUpdate } from "../../src/drafters/types.ts";
import type { LoadedModel } from "../../src/model/load.ts";
import { modelView } from "../../src/model/model-view.ts";
import { type AppOptions, createApp, ModelService, sampleValue } from "../../src/server/index.ts";
import type { ServiceOptions } from "../../src/server/service.ts";
import { chainTree } from "../helpers/test-drafters.ts";
import { referenceModel } from "../helpers/model.ts";

export const MODEL_ID = "edgespec-tiny";

/**
 * Remembers each prompt's continuation and proposes it again when the same prompt comes back:
 * under greedy decoding a repeated request is drafted (and accepted) entirely. Deterministic,
 * and its memory spans requests, as real drafters' may.
 */
export class ReplayDrafter implements Drafter {
  readonly name = "replay";
  private readonly memory = new Map<string, number[]>();
  private key = "";
  private out: number[] = [];

  reset(prompt: ArrayLike<number>): void {
    this.key = Array.from(prompt).join(",");
    this.out = [];
  }

  propose(budget: number): DraftTree {
    const known = this.memory.get(this.key) ?? [];
    return chainTree(known.slice(this.out.length, this.out.length + budget));
  }

  observe(u: VerifyUpdate): void {
    this.out.push(...Array.from(u.accepted));
    if (this.out.length > (this.memory.get(this.key)?.length ?? 0)) this.memory.set(this.key, [...this.out]);
  }
}

export interface TestServer {
  url: string;
  engine: ModelService;
  close(): Promise<void>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/**
 * A Bun server on 127.0.0.1 and a free port, over the reference model: q8 by default (fast);
 * fp32 where a test compares drafted with plain text (dynamically quantized q8 computes a token's
 * logits slightly differently in a batch than alone, which can flip a near tie).
 */
export async function startServer(options: AppOptions = {}, service: ServiceOptions = {}, dtype: "q8" | "fp32" = "q8"): Promise<TestServer> {
  const replay = new ReplayDrafter();
  const engine = new ModelService(referenceModel(dtype), { drafterFor: (n) => (n === "replay" ? replay : undefined), ...service });
  await engine.ready;
  const app = createApp({ engine, options: { drafters: ["replay"], ...options } });
  const server = await listen(app.fetch, { hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${server.port}`;
  const headers = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : undefined;
  return {
    url,
    engine,
    close: () => server.close(),
    async metric(name, labels = {}) {
      const text = await (await fetch(`${url}/metrics`, { headers })).text();
      return sampleValue(text, name, labels) ?? 0;
    },
  };
}

export function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { method: "POST", ...init, headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** Reads SSE events (the `data:` payloads and comment lines) until the stream ends or `until` says stop. */
export async function readSse(res: Response, until?: (events: string[]) => boolean): Promise<{ events: string[]; comments: string[]; reader: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const events: string[] = [];
  const comments: string[] = [];
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of block.split("\n")) {
        if (line.startsWith("data: ")) events.push(line.slice(6));
        else if (line.startsWith(":")) comments.push(line);
      }
    }
    if (until?.(events)) break;
  }
  return { events, comments, reader };
}

/** Polls until `check` holds (or fails after `ms`); returns the time it took. */
export async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await Bun.sleep(5);
  }
  return performance.now() - t0;
}

/** `model` whose every forward first holds its thread for `ms` (a stand-in for a big model's forward). */
export function blockingView(model: LoadedModel, ms: number): LoadedModel {
  const hold = () => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };
  return modelView(model, (inner) => ({
    forward: (tokens, positions, cache, opts) => (hold(), inner.forward(tokens, positions, cache, opts)),
    forwardLast: (tokens, positions, cache, k) => (hold(), inner.forwardLast!(tokens, positions, cache, k)),
  }));
}
