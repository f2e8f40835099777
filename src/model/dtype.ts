/**
 * The one table from dtype names to ONNX file names, as transformers.js and Optimum lay them out
 * under `onnx/`: `model.onnx`, `model_quantized.onnx`, `model_q4.onnx`, ...
 */
import { EdgespecError } from "../errors.ts";

export const DTYPE_SUFFIX = {
  fp32: "",
  fp16: "_fp16",
  q8: "_quantized",
  q4: "_q4",
  q4f16: "_q4f16",
} as const;

export type Dtype = keyof typeof DTYPE_SUFFIX;

/**
 * fp32 by default: exact, and for the reference model on WASM also the fastest. int8
 * activation rounding turns the batch-size-dependent float noise of a tree forward into flipped
 * values and, at near ties, a different argmax, so only fp32 and q4 (fp32 activations) keep
 * speculative output exactly equal to plain output. See README, "Exactness".
 */
export const DEFAULT_DTYPE: Dtype = "fp32";
export const DTYPES = Object.keys(DTYPE_SUFFIX) as Dtype[];

export function parseDtype(value: string): Dtype {
  if (value in DTYPE_SUFFIX) return value as Dtype;
  throw new EdgespecError("invalid_dtype", `unknown dtype "${value}"`, { validOptions: DTYPES });
}

export function onnxFileName(dtype: Dtype): string {
  return `model${DTYPE_SUFFIX[dtype]}.onnx`;
}

/**
 * What a graph's weights are, read from its ops and KV type (for folders that hold one graph,
 * like onnxruntime-genai's): 4-bit MatMulNBits, 8-bit dynamic quantization, or plain floats.
 */
export function dtypeOfGraph(ops: readonly string[], kvFloat16: boolean): Dtype {
  if (ops.includes("MatMulNBits")) return kvFloat16 ? "q4f16" : "q4";
  if (ops.includes("DynamicQuantizeLinear") || ops.includes("MatMulInteger") || ops.includes("DynamicQuantizeMatMul")) return "q8";
  return kvFloat16 ? "fp16" : "fp32";
}
