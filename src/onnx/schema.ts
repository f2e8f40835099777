/**
 * The pieces of onnx.proto3 the graph rewrites use: field numbers, and builders for the messages
 * they add (nodes, attributes, scalar initializers), plus the model's default-domain opset.
 */
import { bytesField, concat, type Field, int64Field, parseFields, stringField, text, varintField } from "./protobuf.ts";

export const MODEL = { irVersion: 1, graph: 7, opsetImport: 8 } as const;
export const GRAPH = { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;
export const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
export const ATTR = { name: 1, i: 3, ints: 8, type: 20 } as const;
export const ATTR_TYPE = { int: 2, ints: 7 } as const;
export const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9, externalData: 13, dataLocation: 14 } as const;
/** StringStringEntryProto (TensorProto.external_data entries). */
export const ENTRY = { key: 1, value: 2 } as const;
export const VALUE_INFO = { name: 1, type: 2 } as const;
export const TYPE = { tensor: 1 } as const;
export const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
export const SHAPE = { dim: 1 } as const;
export const DIM = { value: 1, param: 2 } as const;
export const DTYPE = { float: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float16: 10 } as const;

/** A GraphProto `node` field. */
export function nodeField(op: string, inputs: string[], outputs: string[], name: string, attrs: Uint8Array[] = []): Uint8Array {
  return bytesField(
    GRAPH.node,
    concat([...inputs.map((i) => stringField(NODE.input, i)), ...outputs.map((o) => stringField(NODE.output, o)), stringField(NODE.name, name), stringField(NODE.opType, op), ...attrs.map((a) => bytesField(NODE.attribute, a))]),
  );
}

export function intAttr(name: string, v: number): Uint8Array {
  return concat([stringField(ATTR.name, name), int64Field(ATTR.i, v), varintField(ATTR.type, ATTR_TYPE.int)]);
}

export function intsAttr(name: string, vs: number[]): Uint8Array {
  return concat([stringField(ATTR.name, name), ...vs.map((v) => int64Field(ATTR.ints, v)), varintField(ATTR.type, ATTR_TYPE.ints)]);
}

/** Little-endian int64 bytes (an initializer's raw_data). */
export function int64Raw(values: readonly number[]): Uint8Array {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return raw;
}

/** A GraphProto `initializer` field holding raw little-endian data with the given dims. */
export function initializerField(name: string, dataType: number, raw: Uint8Array, dims: number[] = []): Uint8Array {
  return bytesField(GRAPH.initializer, concat([...dims.map((d) => int64Field(TENSOR.dims, d)), varintField(TENSOR.dataType, dataType), stringField(TENSOR.name, name), bytesField(TENSOR.rawData, raw)]));
}

/**
 * A ModelProto of one graph named `name` made of `parts` (nodes, inputs, outputs) at IR version 8
 * and the default domain's opset 13: the small models edgespec builds itself.
 */
export function standaloneModel(name: string, parts: readonly Uint8Array[]): Uint8Array {
  const graph = concat([...parts, stringField(GRAPH.name, name)]);
  // OperatorSetIdProto: domain (1) "" (the default), version (2).
  const opset = concat([stringField(1, ""), varintField(2, 13)]);
  return concat([varintField(MODEL.irVersion, 8), bytesField(MODEL.graph, graph), bytesField(MODEL.opsetImport, opset)]);
}

/** The model's opset for the default ONNX domain (1 if it names none). */
export function defaultOpset(model: Field[]): number {
  for (const f of model) {
    if (f.no !== MODEL.opsetImport) continue;
    const sub = parseFields(f.body);
    const domain = sub.find((x) => x.no === 1);
    const version = sub.find((x) => x.no === 2);
    if ((!domain || text(domain.body) === "" || text(domain.body) === "ai.onnx") && version) return version.value;
  }
  return 1;
}
