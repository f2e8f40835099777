/**
 * A light view of a graph's nodes for the rewrites: op, domain, inputs, outputs and integer
 * attributes, with each node's raw field kept so untouched nodes are copied byte for byte.
 */
import { bytesField, concat, type Field, packedVarints, parseFields, stringField, text, varintField, WIRE } from "./protobuf.ts";
import { ATTR, DIM, GRAPH, NODE, SHAPE, TENSOR_TYPE, TYPE, VALUE_INFO } from "./schema.ts";

export const MS_DOMAIN = "com.microsoft";

export interface NodeView {
  field: Field;
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes by name (Softmax `axis`, Cast `to`, GroupQueryAttention `do_rotary`). */
  ints: Map<string, number>;
}

export function viewNode(field: Field): NodeView {
  const v: NodeView = { field, op: "", domain: "", inputs: [], outputs: [], ints: new Map() };
  for (const f of parseFields(field.body)) {
    if (f.no === NODE.opType) v.op = text(f.body);
    else if (f.no === NODE.domain) v.domain = text(f.body);
    else if (f.no === NODE.input) v.inputs.push(text(f.body));
    else if (f.no === NODE.output) v.outputs.push(text(f.body));
    else if (f.no === NODE.attribute) {
      const a = parseFields(f.body);
      const name = a.find((x) => x.no === ATTR.name);
      const i = a.find((x) => x.no === ATTR.i);
      if (name && i) v.ints.set(text(name.body), i.value); // int64: the reader returns negative values signed
    }
  }
  return v;
}

/** A node's `perm` attribute (Transpose), [] when absent. */
export function permOf(node: NodeView): number[] {
  for (const f of parseFields(node.field.body)) {
    if (f.no !== NODE.attribute) continue;
    const a = parseFields(f.body);
    const name = a.find((x) => x.no === ATTR.name);
    if (!name || text(name.body) !== "perm") continue;
    const out: number[] = [];
    for (const x of a.filter((x) => x.no === ATTR.ints)) {
      if (x.wire === WIRE.varint) out.push(x.value);
      else out.push(...packedVarints(x.body));
    }
    return out;
  }
  return [];
}

/** The graph's node fields, viewed. */
export function graphNodes(graph: readonly Field[]): NodeView[] {
  return graph.filter((f) => f.no === GRAPH.node).map(viewNode);
}

/** The node's GraphProto field with its inputs replaced by `inputs` (everything else verbatim). */
export function withInputs(node: NodeView, inputs: readonly string[]): Uint8Array {
  const rest = parseFields(node.field.body).filter((f) => f.no !== NODE.input).map((f) => f.raw);
  return bytesField(GRAPH.node, concat([...inputs.map((i) => stringField(NODE.input, i)), ...rest]));
}

/** The node's GraphProto field with its inputs and outputs replaced (everything else verbatim). */
export function renamed(node: NodeView, inputs: readonly string[], outputs: readonly string[]): Uint8Array {
  const rest = parseFields(node.field.body).filter((f) => f.no !== NODE.input && f.no !== NODE.output).map((f) => f.raw);
  return bytesField(GRAPH.node, concat([...inputs.map((i) => stringField(NODE.input, i)), ...outputs.map((o) => stringField(NODE.output, o)), ...rest]));
}

/** A ValueInfoProto: a tensor of `elemType` with fixed or symbolic dims. */
export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): Uint8Array {
  const shape = concat(dims.map((d) => bytesField(SHAPE.dim, typeof d === "number" ? varintField(DIM.value, d) : stringField(DIM.param, d))));
  const tensor = concat([varintField(TENSOR_TYPE.elemType, elemType), bytesField(TENSOR_TYPE.shape, shape)]);
  return concat([stringField(VALUE_INFO.name, name), bytesField(VALUE_INFO.type, bytesField(TYPE.tensor, tensor))]);
}

/** A GraphProto `input` field holding valueInfo(name, elemType, dims). */
export function graphInput(name: string, elemType: number, dims: readonly (number | string)[]): Uint8Array {
  return bytesField(GRAPH.input, valueInfo(name, elemType, dims));
}

/** Names of the graph's declared inputs. */
export function inputNames(graph: readonly Field[]): string[] {
  return graph.filter((f) => f.no === GRAPH.input).map((f) => text(parseFields(f.body).find((x) => x.no === VALUE_INFO.name)?.body ?? new Uint8Array()));
}
