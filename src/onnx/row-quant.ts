/**
 * Batch-invariant int8 activations for dynamically quantized graphs.
 *
 * `DynamicQuantizeLinear` (what Optimum / onnxruntime's quantize_dynamic put before every
 * MatMulInteger) picks ONE scale for the whole activation tensor, so a token's logits depend on
 * the other tokens in the same forward. Plain decoding feeds one token, tree verification feeds
 * eighty: their outputs differ, and speculative output with them. This rewrite gives every row its
 * own scale instead, with the same outputs' meaning, so a row's scale no longer depends on its
 * batch. What remains is int8 rounding of float noise (summation order differs with batch size):
 * on the reference model the mean logit difference drops ~5x and argmax flips ~7x, not to zero —
 * which is why int8-activation models report `exact: false`.
 *
 *     s = max(|x| over the last axis) / 127        (per row; the old scalar scale's output)
 *     y = uint8(clip(round(x / s) + 128, 0, 255))   (the old quantized output)
 *     zero point = 128                               (scalar, as MatMulInteger requires)
 *
 * Downstream nodes are untouched: the scale output only changes shape from [] to [..., M, 1],
 * which the `Mul(Cast(MatMulInteger), Mul(a_scale, b_scale))` that follows broadcasts as intended.
 */
import { bytesField, concat, type Field, int64Field, parseFields, stringField, text, varintField } from "./protobuf.ts";

const MODEL = { graph: 7, opsetImport: 8 } as const;
const GRAPH = { node: 1, initializer: 5 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTR = { name: 1, i: 3, ints: 8, type: 20 } as const;
const ATTR_TYPE = { int: 2, ints: 7 } as const;
const TENSOR = { dataType: 2, name: 8, rawData: 9 } as const;
const DTYPE = { float: 1, uint8: 2 } as const;

export interface RowQuantResult {
  bytes: Uint8Array;
  /** DynamicQuantizeLinear nodes rewritten. */
  rewritten: number;
}

function node(op: string, inputs: string[], outputs: string[], name: string, attrs: Uint8Array[] = []): Uint8Array {
  return bytesField(
    GRAPH.node,
    concat([...inputs.map((i) => stringField(NODE.input, i)), ...outputs.map((o) => stringField(NODE.output, o)), stringField(NODE.name, name), stringField(NODE.opType, op), ...attrs.map((a) => bytesField(NODE.attribute, a))]),
  );
}

function intAttr(name: string, v: number): Uint8Array {
  return concat([stringField(ATTR.name, name), int64Field(ATTR.i, v), varintField(ATTR.type, ATTR_TYPE.int)]);
}

function intsAttr(name: string, vs: number[]): Uint8Array {
  return concat([stringField(ATTR.name, name), ...vs.map((v) => int64Field(ATTR.ints, v)), varintField(ATTR.type, ATTR_TYPE.ints)]);
}

function scalar(name: string, dataType: number, raw: Uint8Array): Uint8Array {
  return bytesField(GRAPH.initializer, concat([varintField(TENSOR.dataType, dataType), stringField(TENSOR.name, name), bytesField(TENSOR.rawData, raw)]));
}

const f32 = (v: number) => new Uint8Array(Float32Array.of(v).buffer);

function opsetOf(model: Field[]): number {
  for (const f of model.filter((x) => x.no === MODEL.opsetImport)) {
    const sub = parseFields(f.body);
    const domain = sub.find((x) => x.no === 1);
    const version = sub.find((x) => x.no === 2);
    if ((!domain || text(domain.body) === "" || text(domain.body) === "ai.onnx") && version) return version.value;
  }
  return 1;
}

export function rowwiseActivationQuant(bytes: Uint8Array): RowQuantResult {
  const model = parseFields(bytes);
  const graphField = model.find((f) => f.no === MODEL.graph);
  if (!graphField) return { bytes, rewritten: 0 };
  const graph = parseFields(graphField.body);
  const opset = opsetOf(model);
  const P = "edgespec_rowq";
  let count = 0;
  const parts = graph.map((f) => {
    if (f.no !== GRAPH.node) return f.raw;
    const fields = parseFields(f.body);
    const op = fields.find((x) => x.no === NODE.opType);
    const domain = fields.find((x) => x.no === NODE.domain);
    if (!op || text(op.body) !== "DynamicQuantizeLinear" || (domain && text(domain.body) !== "")) return f.raw;
    const [x] = fields.filter((x) => x.no === NODE.input).map((x) => text(x.body));
    const [y, scale, zp] = fields.filter((x) => x.no === NODE.output).map((x) => text(x.body));
    const k = `${P}_${count++}`;
    // ReduceMax takes its axes as an attribute before opset 18 and as an input from 18 on.
    const reduce = opset >= 18 ? node("ReduceMax", [`${k}_abs`, `${P}_axes`], [`${k}_max`], `${k}_reduce`, [intAttr("keepdims", 1)]) : node("ReduceMax", [`${k}_abs`], [`${k}_max`], `${k}_reduce`, [intsAttr("axes", [-1]), intAttr("keepdims", 1)]);
    return concat([
      node("Abs", [x!], [`${k}_abs`], `${k}_absn`),
      reduce,
      node("Div", [`${k}_max`, `${P}_127`], [`${k}_s0`], `${k}_s0n`),
      node("Max", [`${k}_s0`, `${P}_tiny`], [scale!], `${k}_scale`), // all-zero rows: any scale works
      node("Div", [x!, scale!], [`${k}_q`], `${k}_qn`),
      node("Round", [`${k}_q`], [`${k}_r`], `${k}_round`),
      node("Add", [`${k}_r`, `${P}_128`], [`${k}_o`], `${k}_offset`),
      node("Clip", [`${k}_o`, `${P}_0`, `${P}_255`], [`${k}_c`], `${k}_clip`),
      node("Cast", [`${k}_c`], [y!], `${k}_cast`, [intAttr("to", DTYPE.uint8)]),
      ...(zp ? [node("Identity", [`${P}_zp`], [zp], `${k}_zp`)] : []),
    ]);
  });
  if (count === 0) return { bytes, rewritten: 0 };
  const inits = [
    scalar(`${P}_127`, DTYPE.float, f32(127)),
    scalar(`${P}_tiny`, DTYPE.float, f32(1e-30)),
    scalar(`${P}_128`, DTYPE.float, f32(128)),
    scalar(`${P}_0`, DTYPE.float, f32(0)),
    scalar(`${P}_255`, DTYPE.float, f32(255)),
    scalar(`${P}_zp`, DTYPE.uint8, Uint8Array.of(128)),
  ];
  if (opset >= 18) {
    // int64 [-1] (dims [1], field 1; INT64 = 7) for ReduceMax's axes input.
    inits.push(bytesField(GRAPH.initializer, concat([varintField(1, 1), varintField(TENSOR.dataType, 7), stringField(TENSOR.name, `${P}_axes`), bytesField(TENSOR.rawData, new Uint8Array(BigInt64Array.of(-1n).buffer))])));
  }
  const newGraph = concat([...parts, ...inits]);
  const out = concat(model.map((f) => (f === graphField ? bytesField(MODEL.graph, newGraph) : f.raw)));
  return { bytes: out, rewritten: count };
}
