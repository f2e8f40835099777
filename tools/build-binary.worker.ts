/** The single executable's model worker: the model loads from the embedded files (build-binary.host.ts). */
import { insideThreadWorker } from "../adapters/worker/threads.ts";
import { serveModelWorker } from "../src/server/model-worker.ts";
import { embeddedHost } from "./build-binary.host.ts";

serveModelWorker(embeddedHost, insideThreadWorker());
