/**
 * The one table of input/output names for causal LMs exported the Optimum way. A model's KV
 * inputs and outputs are discovered from its session metadata with these patterns, so no
 * architecture-specific string handling lives anywhere else.
 */
import { EdgespecError } from "../errors.ts";

export const IO = {
  inputIds: "input_ids",
  attentionMask: "attention_mask",
  positionIds: "position_ids",
  logits: "logits",
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
} as const;

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;

/** Checks that the session has the inputs/outputs a KV-cached causal LM needs; returns its layer count. */
export function checkCausalLmIo(inputNames: readonly string[], outputNames: readonly string[]): number {
  for (const name of [IO.inputIds, IO.attentionMask]) {
    if (!inputNames.includes(name)) {
      throw new EdgespecError("model_invalid", `ONNX model has no "${name}" input (inputs: ${inputNames.join(", ")})`);
    }
  }
  if (!outputNames.includes(IO.logits)) {
    throw new EdgespecError("model_invalid", `ONNX model has no "logits" output`);
  }
  const layers = new Set(inputNames.map((n) => PAST.exec(n)?.[1]).filter((x) => x !== undefined));
  if (layers.size === 0) {
    throw new EdgespecError("model_invalid", "ONNX model has no past_key_values inputs: export it with a KV cache (Optimum's text-generation-with-past)");
  }
  for (let l = 0; l < layers.size; l++) {
    for (const name of [IO.pastKey(l), IO.pastValue(l)]) {
      if (!inputNames.includes(name)) throw new EdgespecError("model_invalid", `ONNX model lacks input ${name}`);
    }
    for (const name of [IO.presentKey(l), IO.presentValue(l)]) {
      if (!outputNames.includes(name)) throw new EdgespecError("model_invalid", `ONNX model lacks output ${name}`);
    }
  }
  return layers.size;
}
