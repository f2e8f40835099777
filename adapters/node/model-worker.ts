/**
 * The model worker on Node (see src/server/model-worker.ts). Node runs no TypeScript: `npm run
 * build` bundles this file as dist/edgespec-node-worker.mjs beside the CLI.
 */
import { serveModelWorker } from "../../src/server/model-worker.ts";
import { insideThreadWorker } from "../worker/threads.ts";
import { nodeHost } from "./host.ts";

serveModelWorker(nodeHost, insideThreadWorker());
