/**
 * Stopping a server: `npx edgespec serve` (the Node launcher that runs the CLI on Bun in a child)
 * passes SIGTERM on and exits with it, so no server outlives the process a supervisor knows.
 */
import { expect, test } from "bun:test";
import { REPO } from "../helpers/model.ts";
import { spawnServer } from "./processes.ts";
import { waitFor } from "./helpers.ts";

test("SIGTERM to the launcher stops the server it started: the launcher exits and the port is released", async () => {
  const s = await spawnServer(["node", `${REPO}bin/edgespec.mjs`, "serve", "--port", "0"]);
  expect((await fetch(`${s.url}/health`)).status).toBe(200);
  s.proc.kill("SIGTERM");
  const code = await s.proc.exited;
  // The CLI exits 0 on SIGTERM; the launcher exits as its child did.
  expect(code).toBe(0);
  await waitFor(async () => fetch(`${s.url}/health`).then(() => false, () => true), 5_000);
}, 60_000);
