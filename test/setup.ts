// Model-backed tests load ONNX sessions and spawn runtimes; on a shared 2-core machine they need
// more than bun's 5 s default. Speed is measured in bench/, never asserted here.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(180_000);
