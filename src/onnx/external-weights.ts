/**
 * Moves a model's embedded weights out of its graph: each initializer that holds its data inline
 * (raw_data) is turned into an external-data reference into the model's own bytes, at the offset
 * where the data already lies. The graph left is a few kilobytes, so each rewrite at load copies
 * kilobytes, not the weights (five rewrites of a 53 MB model made five 53 MB copies), and
 * onnxruntime-web copies each tensor once from the bytes handed to it as external data (a view of
 * the file read, not a copy) instead of first copying the whole model into its heap to parse it.
 */
import { bytesField, concat, type Field, parseFields, stringField, varintField, withGraphBody } from "./protobuf.ts";
import { ENTRY, GRAPH, MODEL, TENSOR } from "./schema.ts";

/** The name the moved weights go by: no exporter writes it, and it stays inside the model folder. */
export const EMBEDDED_WEIGHTS = "edgespec-embedded-weights.bin";
const EXTERNAL = 1;

export interface ExternalizedModel {
  /** The model with its inline initializers referring to `EMBEDDED_WEIGHTS`. */
  graph: Uint8Array;
  /** Initializers moved (0: nothing was, and `graph` is the input). */
  moved: number;
}

/** Initializers of at least `minBytes` inline bytes are moved; smaller ones stay (shapes, scalars). */
export function externalizeWeights(model: Uint8Array, minBytes = 1024): ExternalizedModel {
  const top = parseFields(model);
  const graphField = top.find((f) => f.no === MODEL.graph);
  if (!graphField) return { graph: model, moved: 0 };
  let moved = 0;
  const parts = parseFields(graphField.body).map((f) => {
    if (f.no !== GRAPH.initializer) return f.raw;
    const tensor = parseFields(f.body);
    const raw = tensor.find((t) => t.no === TENSOR.rawData);
    if (!raw || raw.body.length < minBytes || tensor.some((t) => t.no === TENSOR.dataLocation && t.value === EXTERNAL)) return f.raw;
    moved++;
    const offset = raw.body.byteOffset - model.byteOffset;
    return bytesField(GRAPH.initializer, concat([...tensor.filter((t) => t !== raw).map((t: Field) => t.raw), entry("location", EMBEDDED_WEIGHTS), entry("offset", String(offset)), entry("length", String(raw.body.length)), varintField(TENSOR.dataLocation, EXTERNAL)]));
  });
  return moved === 0 ? { graph: model, moved } : { graph: withGraphBody(top, graphField, parts), moved };
}

function entry(key: string, value: string): Uint8Array {
  return bytesField(TENSOR.externalData, concat([stringField(ENTRY.key, key), stringField(ENTRY.value, value)]));
}
