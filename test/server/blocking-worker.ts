/** A model worker (Bun) whose forwards each hold the worker's thread for 400 ms: see model-worker.test.ts. */
import { bunHost } from "../../adapters/bun/host.ts";
import { insideThreadWorker } from "../../adapters/worker/threads.ts";
import { serveModelWorker } from "../../src/server/model-worker.ts";
import { blockingView } from "./helpers.ts";

const BLOCK_MS = 400; // model-worker.test.ts assumes this

serveModelWorker(bunHost, insideThreadWorker(), { wrapModel: (m) => blockingView(m, BLOCK_MS) });
