/**
 * What the replica builders (genai-replica.ts, family-replica.ts) share: the reference model's
 * weights found by shape and wiring, and small protobuf and matrix helpers.
 */
import { valueInfo } from "../../src/onnx/graph-nodes.ts";
import { bytesField, concat, type Field, parseFields, stringField, text, varintField } from "../../src/onnx/protobuf.ts";
import { DTYPE, GRAPH, initializerField, MODEL, NODE, nodeField, TENSOR } from "../../src/onnx/schema.ts";

export interface Tensor {
  dims: number[];
  raw: Uint8Array;
}

export const f32 = (t: Tensor) => new Float32Array(t.raw.slice().buffer);
export const raw = (a: Float32Array | BigInt64Array) => new Uint8Array(a.buffer.slice(0));

export function floatAttr(name: string, v: number): Uint8Array {
  const b = new Uint8Array(5);
  b[0] = (2 << 3) | 5; // AttributeProto.f, fixed32
  new DataView(b.buffer).setFloat32(1, v, true);
  return concat([stringField(1, name), b, varintField(20, 1)]);
}

/** [rows, cols] -> [cols, rows]. */
export function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** Concatenates [rows, c_i] matrices along columns. */
export function concatColumns(rows: number, parts: { data: Float32Array; cols: number }[]): Float32Array {
  const total = parts.reduce((s, p) => s + p.cols, 0);
  const out = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let off = 0;
    for (const p of parts) {
      out.set(p.data.subarray(r * p.cols, (r + 1) * p.cols), r * total + off);
      off += p.cols;
    }
  }
  return out;
}

export interface ReferenceWeights {
  embed: Tensor;
  norms: Map<string, Tensor>;
  /** Per layer: q, k, v, o, gate, up, down ([in, out] MatMul weights). */
  layers: Tensor[][];
}

export function readReference(model: Uint8Array): ReferenceWeights {
  const graph = parseFields(parseFields(model).find((f) => f.no === MODEL.graph)!.body);
  const inits = new Map<string, Tensor>();
  for (const f of graph.filter((g) => g.no === GRAPH.initializer)) {
    const t = parseFields(f.body);
    inits.set(text(t.find((x) => x.no === TENSOR.name)!.body), { dims: t.filter((x) => x.no === TENSOR.dims).map((x) => x.value), raw: t.find((x) => x.no === TENSOR.rawData)!.body });
  }
  const nodes = graph.filter((g) => g.no === GRAPH.node).map((g: Field) => {
    const f = parseFields(g.body);
    return { op: text(f.find((x) => x.no === NODE.opType)!.body), inputs: f.filter((x) => x.no === NODE.input).map((x) => text(x.body)), outputs: f.filter((x) => x.no === NODE.output).map((x) => text(x.body)) };
  });
  const feedsSigmoid = new Set(nodes.filter((n) => n.op === "Sigmoid").map((n) => n.inputs[0]));
  const weights = nodes.filter((n) => n.op === "MatMul" && inits.has(n.inputs[1]!)).map((n) => ({ w: inits.get(n.inputs[1]!)!, gate: feedsSigmoid.has(n.outputs[0]) }));
  if (weights.length % 7 !== 0) throw new Error(`genai replica: expected 7 MatMul weights per layer, found ${weights.length}`);
  const layers: Tensor[][] = [];
  for (let l = 0; l < weights.length / 7; l++) {
    const [q, k, v, o, a, b, down] = weights.slice(7 * l, 7 * l + 7);
    // gate feeds the SiLU's Sigmoid; up is the other [hidden, intermediate] projection.
    const [gate, up] = a!.gate ? [a!, b!] : [b!, a!];
    layers.push([q!.w, k!.w, v!.w, o!.w, gate.w, up.w, down!.w]);
  }
  const norms = new Map([...inits].filter(([n]) => n.endsWith("norm.weight")));
  return { embed: inits.get("model.embed_tokens.weight")!, norms, layers };
}


/** K or V projection [hidden, KV * D] with each head repeated `rep` times: [hidden, KV * rep * D]. */
export function repeatHeads(w: Float32Array, hidden: number, kv: number, d: number, rep: number): Float32Array {
  const out = new Float32Array(hidden * kv * rep * d);
  for (let r = 0; r < hidden; r++) {
    for (let h = 0; h < kv * rep; h++) out.set(w.subarray(r * kv * d + Math.floor(h / rep) * d, r * kv * d + (Math.floor(h / rep) + 1) * d), r * kv * rep * d + h * d);
  }
  return out;
}


/** Collects a graph's nodes and initializers and writes the ModelProto. */
export class GraphBuilder {
  readonly init: Uint8Array[] = [];
  readonly nodes: Uint8Array[] = [];

  weight(name: string, data: Float32Array, dims: number[]): string {
    this.init.push(initializerField(name, DTYPE.float, raw(data), dims));
    return name;
  }

  int64(name: string, values: number[], dims: number[] = [values.length]): string {
    this.init.push(initializerField(name, DTYPE.int64, raw(BigInt64Array.from(values.map(BigInt))), dims));
    return name;
  }

  float(name: string, value: number): string {
    this.init.push(initializerField(name, DTYPE.float, raw(Float32Array.of(value)), []));
    return name;
  }

  node(op: string, inputs: string[], outputs: string[], attrs: Uint8Array[] = [], domain = ""): string {
    const n = nodeField(op, inputs, outputs, `${op}_${this.nodes.length}`, attrs);
    this.nodes.push(domain ? bytesField(GRAPH.node, concat([parseFields(n)[0]!.body, stringField(NODE.domain, domain)])) : n);
    return outputs[0]!;
  }

  /** The causal LM's I/O (Optimum names), `layers` KV pairs of [batch, kvHeads, *, headDim]. */
  model(extraInputs: Uint8Array[], vocab: number, layers: number, kvHeads: number, headDim: number, opsets: [string, number][]): Uint8Array {
    const kvDims = (len: string) => ["batch_size", kvHeads, len, headDim];
    const inputs = [
      valueInfo("input_ids", DTYPE.int64, ["batch_size", "sequence_length"]),
      valueInfo("attention_mask", DTYPE.int64, ["batch_size", "total_sequence_length"]),
      ...extraInputs,
      ...Array.from({ length: layers }, (_, l) => [valueInfo(`past_key_values.${l}.key`, DTYPE.float, kvDims("past_sequence_length")), valueInfo(`past_key_values.${l}.value`, DTYPE.float, kvDims("past_sequence_length"))]).flat(),
    ];
    const outputs = [
      valueInfo("logits", DTYPE.float, ["batch_size", "sequence_length", vocab]),
      ...Array.from({ length: layers }, (_, l) => [valueInfo(`present.${l}.key`, DTYPE.float, kvDims("total_sequence_length")), valueInfo(`present.${l}.value`, DTYPE.float, kvDims("total_sequence_length"))]).flat(),
    ];
    const graph = concat([...this.nodes, stringField(2, "replica"), ...this.init, ...inputs.map((i) => bytesField(GRAPH.input, i)), ...outputs.map((o) => bytesField(GRAPH.output, o))]);
    const opset = (domain: string, version: number) => bytesField(MODEL.opsetImport, concat([stringField(1, domain), varintField(2, version)]));
    return concat([varintField(1, 8), stringField(2, "edgespec-test"), bytesField(MODEL.graph, graph), ...opsets.map(([d, v]) => opset(d, v))]);
  }
}

/** RoPE tables [positions, D / 2] (rotate-half, theta), as exporters precompute them. */
export function ropeTables(positions: number, d: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const cos = new Float32Array(positions * (d / 2));
  const sin = new Float32Array(positions * (d / 2));
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < d / 2; i++) {
      const angle = Math.fround(p * Math.fround(1 / theta ** ((2 * i) / d)));
      cos[p * (d / 2) + i] = Math.cos(angle);
      sin[p * (d / 2) + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
