/**
 * What a model's graph declares at its edges, read from the protobuf without decoding weights:
 * inputs and outputs (name, element type, dims) and the external data files its initializers
 * name (`external_data` entries with key "location"). Exporters name those files differently
 * (Optimum `model.onnx_data`, onnxruntime-genai `model.onnx.data`, transformers.js
 * `model_q4f16.onnx_data`, chunked `…_data_1`): the graph says which, so nothing is guessed.
 */
import { EdgespecError } from "../errors.ts";
import { MS_DOMAIN, viewNode } from "./graph-nodes.ts";
import { type Field, parseFields, text } from "./protobuf.ts";
import { DIM, ENTRY, GRAPH, MODEL, TENSOR, TENSOR_TYPE, TYPE, VALUE_INFO } from "./schema.ts";

export interface GraphValue {
  name: string;
  /** TensorProto.DataType (schema.ts DTYPE; 0 when the graph does not say). */
  elemType: number;
  /** Each dimension: a fixed size, a symbolic name, or undefined when the graph leaves it open. */
  dims?: (number | string | undefined)[];
}

/** An attention op fused by the exporter (com.microsoft GroupQueryAttention, MultiHeadAttention, ...). */
export interface FusedAttention {
  op: string;
  /** GroupQueryAttention applies rotary itself (positions from seqlens_k, i.e. from the mask). */
  doRotary: boolean;
  /** Sliding window (GroupQueryAttention local_window_size), when the node has one. */
  localWindow?: number;
}

export interface GraphIo {
  inputs: GraphValue[];
  outputs: GraphValue[];
  /** External data files named by initializers, in first-use order. */
  externalFiles: string[];
  /** Fused attention nodes, in graph order (empty for decomposed MatMul/Softmax attention). */
  fusedAttention: FusedAttention[];
  /** com.microsoft.RotaryEmbedding nodes (rotary applied outside the attention op). */
  rotaryEmbeddings: number;
  /** Distinct op types in the graph (what it is quantized with, e.g. MatMulNBits). */
  ops: string[];
}

/** A ValueInfoProto field's name, element type and dims. */
export function readValueInfo(field: Field): GraphValue {
  const v: GraphValue = { name: "", elemType: 0 };
  for (const f of parseFields(field.body)) {
    if (f.no === VALUE_INFO.name) v.name = text(f.body);
    else if (f.no === VALUE_INFO.type) {
      const tensor = parseFields(f.body).find((t) => t.no === TYPE.tensor);
      if (!tensor) continue;
      for (const t of parseFields(tensor.body)) {
        if (t.no === TENSOR_TYPE.elemType) v.elemType = t.value;
        else if (t.no === TENSOR_TYPE.shape) {
          v.dims = parseFields(t.body).map((d) => {
            const dim = parseFields(d.body);
            const fixed = dim.find((x) => x.no === DIM.value);
            const param = dim.find((x) => x.no === DIM.param);
            return fixed ? fixed.value : param ? text(param.body) : undefined;
          });
        }
      }
    }
  }
  return v;
}

function externalLocation(initializer: Field): string | undefined {
  const tensor = parseFields(initializer.body);
  if (!tensor.some((t) => t.no === TENSOR.dataLocation && t.value === 1)) return undefined;
  for (const e of tensor.filter((t) => t.no === TENSOR.externalData)) {
    const kv = parseFields(e.body);
    const key = kv.find((x) => x.no === ENTRY.key);
    const val = kv.find((x) => x.no === ENTRY.value);
    if (key && val && text(key.body) === "location") return text(val.body);
  }
  const name = tensor.find((t) => t.no === TENSOR.name);
  throw new EdgespecError("model_invalid", `initializer ${name ? text(name.body) : "?"} is stored externally but names no location`);
}

export function readGraphIo(bytes: Uint8Array): GraphIo {
  const graphField = parseFields(bytes).find((f) => f.no === MODEL.graph);
  if (!graphField) throw new EdgespecError("model_invalid", "no graph in the ONNX model");
  const io: GraphIo = { inputs: [], outputs: [], externalFiles: [], fusedAttention: [], rotaryEmbeddings: 0, ops: [] };
  const ops = new Set<string>();
  const files = new Set<string>();
  for (const f of parseFields(graphField.body)) {
    if (f.no === GRAPH.input) io.inputs.push(readValueInfo(f));
    else if (f.no === GRAPH.output) io.outputs.push(readValueInfo(f));
    else if (f.no === GRAPH.node) {
      const n = viewNode(f);
      ops.add(n.op);
      if (n.domain !== MS_DOMAIN) continue;
      if (n.op === "RotaryEmbedding") io.rotaryEmbeddings++;
      else if (n.op.endsWith("Attention")) {
        const window = n.ints.get("local_window_size") ?? -1;
        io.fusedAttention.push({ op: n.op, doRotary: n.ints.get("do_rotary") === 1, ...(window > 0 ? { localWindow: window } : {}) });
      }
    } else if (f.no === GRAPH.initializer) {
      const loc = externalLocation(f);
      if (loc !== undefined) files.add(loc);
    }
  }
  io.externalFiles = [...files];
  io.ops = [...ops];
  return io;
}
