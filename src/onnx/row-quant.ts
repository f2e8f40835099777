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
import { concat, parseFields, text, withGraphBody } from "./protobuf.ts";
import { defaultOpset, DTYPE, GRAPH, initializerField, intAttr, intsAttr, MODEL, NODE, nodeField } from "./schema.ts";

export interface RowQuantResult {
  bytes: Uint8Array;
  /** DynamicQuantizeLinear nodes rewritten. */
  rewritten: number;
}

const f32 = (v: number) => new Uint8Array(Float32Array.of(v).buffer);

export function rowwiseActivationQuant(bytes: Uint8Array): RowQuantResult {
  const model = parseFields(bytes);
  const graphField = model.find((f) => f.no === MODEL.graph);
  if (!graphField) return { bytes, rewritten: 0 };
  const graph = parseFields(graphField.body);
  const opset = defaultOpset(model);
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
    const reduce = opset >= 18 ? nodeField("ReduceMax", [`${k}_abs`, `${P}_axes`], [`${k}_max`], `${k}_reduce`, [intAttr("keepdims", 1)]) : nodeField("ReduceMax", [`${k}_abs`], [`${k}_max`], `${k}_reduce`, [intsAttr("axes", [-1]), intAttr("keepdims", 1)]);
    return concat([
      nodeField("Abs", [x!], [`${k}_abs`], `${k}_absn`),
      reduce,
      nodeField("Div", [`${k}_max`, `${P}_127`], [`${k}_s0`], `${k}_s0n`),
      nodeField("Max", [`${k}_s0`, `${P}_tiny`], [scale!], `${k}_scale`), // all-zero rows: any scale works
      nodeField("Div", [x!, scale!], [`${k}_q`], `${k}_qn`),
      nodeField("Round", [`${k}_q`], [`${k}_r`], `${k}_round`),
      nodeField("Add", [`${k}_r`, `${P}_128`], [`${k}_o`], `${k}_offset`),
      nodeField("Clip", [`${k}_o`, `${P}_0`, `${P}_255`], [`${k}_c`], `${k}_clip`),
      nodeField("Cast", [`${k}_c`], [y!], `${k}_cast`, [intAttr("to", DTYPE.uint8)]),
      ...(zp ? [nodeField("Identity", [`${P}_zp`], [zp], `${k}_zp`)] : []),
    ]);
  });
  if (count === 0) return { bytes, rewritten: 0 };
  const inits = [
    initializerField(`${P}_127`, DTYPE.float, f32(127)),
    initializerField(`${P}_tiny`, DTYPE.float, f32(1e-30)),
    initializerField(`${P}_128`, DTYPE.float, f32(128)),
    initializerField(`${P}_0`, DTYPE.float, f32(0)),
    initializerField(`${P}_255`, DTYPE.float, f32(255)),
    initializerField(`${P}_zp`, DTYPE.uint8, Uint8Array.of(128)),
  ];
  if (opset >= 18) {
    // int64 [-1] for ReduceMax's axes input.
    inits.push(initializerField(`${P}_axes`, DTYPE.int64, new Uint8Array(BigInt64Array.of(-1n).buffer), [1]));
  }
  const out = withGraphBody(model, graphField, [...parts, ...inits]);
  return { bytes: out, rewritten: count };
}
