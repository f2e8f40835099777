/** The model worker on Deno (see src/server/model-worker.ts); started by serve.ts. */
import { serveModelWorker } from "../../src/server/model-worker.ts";
import { insideWebWorker } from "../worker/web.ts";
import { denoHost } from "./host.ts";

serveModelWorker(denoHost, insideWebWorker());
