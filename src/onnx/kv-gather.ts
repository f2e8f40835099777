/**
 * A tiny ONNX model that compacts a KV cache on the device it lives on: for each of `count`
 * tensors [batch, heads, positions, headDim], Gather(axis 2) of the positions in `keep`. On
 * WebGPU the cache stays in GPU buffers; rolling back to an accepted tree path runs this graph on
 * the same device, so no position crosses to the CPU and back.
 */
import { bytesField } from "./protobuf.ts";
import { graphInput, valueInfo } from "./graph-nodes.ts";
import { DTYPE, GRAPH, intAttr, nodeField, standaloneModel } from "./schema.ts";

export const KV_GATHER_KEEP = "keep";
export const kvGatherInput = (i: number) => `kv_${i}`;
export const kvGatherOutput = (i: number) => `kept_${i}`;

/** `elemType`: the cache's ONNX element type (float or float16). */
export function kvGatherModel(count: number, elemType: number): Uint8Array {
  const dims = ["batch", "heads", "positions", "head_dim"];
  const kept = ["batch", "heads", "kept", "head_dim"];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) parts.push(nodeField("Gather", [kvGatherInput(i), KV_GATHER_KEEP], [kvGatherOutput(i)], `gather_${i}`, [intAttr("axis", 2)]));
  for (let i = 0; i < count; i++) parts.push(graphInput(kvGatherInput(i), elemType, dims));
  parts.push(graphInput(KV_GATHER_KEEP, DTYPE.int64, ["kept"]));
  for (let i = 0; i < count; i++) parts.push(bytesField(GRAPH.output, valueInfo(kvGatherOutput(i), elemType, kept)));
  return standaloneModel("edgespec_kv_gather", parts);
}
