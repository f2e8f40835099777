/** The model worker on Bun (see src/server/model-worker.ts); started by serve.ts. */
import { serveModelWorker } from "../../src/server/model-worker.ts";
import { insideThreadWorker } from "../worker/threads.ts";
import { bunHost } from "./host.ts";

serveModelWorker(bunHost, insideThreadWorker(), { afterRun: () => Bun.gc(true) });
