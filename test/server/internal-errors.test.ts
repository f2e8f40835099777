/**
 * Faults inside the server (a drafter that throws, whatever it throws) are 500 internal_error with
 * the cause in the log, never a 400 that blames the client; the server keeps serving.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { listen } from "../../adapters/bun/serve.ts";
import type { DraftTree, Drafter } from "../../src/drafters/types.ts";
import { EdgespecError } from "../../src/errors.ts";
import { createApp, ModelService } from "../../src/server/index.ts";
import { referenceModel } from "../helpers/model.ts";
import { MODEL_ID, postJson, readSse } from "./helpers.ts";

class BrokenDrafter implements Drafter {
  constructor(readonly name: string, private readonly fault: () => Error) {}
  reset(): void {}
  propose(_budget: number): DraftTree {
    throw this.fault();
  }
  observe(): void {}
}

const logged: string[] = [];
let url = "";
let close: () => Promise<void>;

beforeAll(async () => {
  const broken: Record<string, Drafter> = {
    crash: new BrokenDrafter("crash", () => new TypeError("cannot read properties of undefined (drafter bug)")),
    misuse: new BrokenDrafter("misuse", () => new EdgespecError("invalid_argument", "budget must be an integer (drafter bug)")),
  };
  const engine = new ModelService(referenceModel("q8"), { drafterFor: (n) => broken[n] });
  await engine.ready;
  const app = createApp({ engine, options: { drafters: Object.keys(broken), log: (line) => logged.push(line) } });
  const server = await listen(app.fetch, { hostname: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${server.port}`;
  close = () => server.close();
});
afterAll(() => close());

describe("internal faults", () => {
  for (const drafter of ["crash", "misuse"]) {
    test(`a drafter that throws (${drafter}): 500 internal_error, the cause logged, then a good request succeeds`, async () => {
      const before = logged.length;
      const res = await postJson(`${url}/v1/completions`, { model: MODEL_ID, prompt: "def f(x):", max_tokens: 4, drafter });
      expect(res.status).toBe(500);
      expect((await res.json()).error.code).toBe("internal_error");
      expect(logged.slice(before).join("\n")).toContain("drafter bug");
      const stream = await postJson(`${url}/v1/completions`, { model: MODEL_ID, prompt: "def f(x):", max_tokens: 4, drafter, stream: true });
      const { events } = await readSse(stream);
      expect(events.at(-1)).toContain("internal_error");
      expect((await postJson(`${url}/v1/completions`, { model: MODEL_ID, prompt: "def f(x):", max_tokens: 4 })).status).toBe(200);
    });
  }
});
