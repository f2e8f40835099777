#!/usr/bin/env python3
"""Export a trained checkpoint to the Hugging Face / Optimum layout edgespec (and transformers.js) load.

  python3 tools/export_model.py --ckpt /tmp/edgespec-train/ckpt.pt --out models/edgespec-tiny \
      --fixture test/fixtures/reference-logits.json

Writes config.json, generation_config.json, tokenizer_config.json, onnx/model.onnx (fp32),
onnx/model_quantized.onnx (int8: DynamicQuantizeLinear + MatMulInteger, per-column weight scales)
and onnx/model_q4.onnx (com.microsoft MatMulNBits, 4-bit, block 32, symmetric), and a fixture of
PyTorch logits for a fixed input so tests can hold the ONNX runtime to the training framework.
"""
import argparse, json, os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch

sys.path.insert(0, os.path.dirname(__file__))
from llama import Llama


class Exportable(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *past):
        logits, presents = self.model(input_ids, attention_mask, position_ids, list(past) if past else None)
        return (logits, *presents)


def export_fp32(model, cfg, path):
    L, kvh, hd = cfg["num_hidden_layers"], cfg["num_key_value_heads"], cfg["head_dim"]
    past_len, s = 2, 3
    ids = torch.tensor([[5, 6, 7]])
    mask = torch.ones(1, past_len + s, dtype=torch.long)
    pos = torch.arange(past_len, past_len + s)[None]
    past = [torch.zeros(1, kvh, past_len, hd) for _ in range(2 * L)]
    past_names = [f"past_key_values.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    present_names = [f"present.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for n in past_names:
        dyn[n] = {0: "batch_size", 2: "past_sequence_length"}
    for n in present_names:
        dyn[n] = {0: "batch_size", 2: "total_sequence_length"}
    torch.onnx.export(Exportable(model), (ids, mask, pos, *past), path, opset_version=14,
                      input_names=["input_ids", "attention_mask", "position_ids", *past_names],
                      output_names=["logits", *present_names], dynamic_axes=dyn, do_constant_folding=True)
    m = onnx.load(path)
    untie_fold(m, model.embed_tokens.weight.detach().numpy())
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return m


def untie_fold(m, embed):
    """Constant folding turns the tied lm_head (embed.T) into a second 4 MB initializer; put a
    Transpose of the embedding back so the file holds the table once, as tied weights should."""
    g = m.graph
    for init in list(g.initializer):
        arr = numpy_helper.to_array(init)
        if arr.shape == embed.T.shape and np.array_equal(arr, embed.T):
            src = next(i.name for i in g.initializer if numpy_helper.to_array(i).shape == embed.shape
                       and np.array_equal(numpy_helper.to_array(i), embed))
            g.initializer.remove(init)
            g.node.insert(0, helper.make_node("Transpose", [src], [init.name], perm=[1, 0], name="lm_head_tied_transpose"))
            return


def weight_matmuls(m):
    """MatMul nodes whose B is a 2D weight: an initializer, or the tied lm_head Transpose."""
    inits = {i.name: i for i in m.graph.initializer}
    transposes = {n.output[0]: n for n in m.graph.node if n.op_type == "Transpose" and n.input[0] in inits}
    for node in m.graph.node:
        if node.op_type != "MatMul":
            continue
        b = node.input[1]
        if b in inits and len(inits[b].dims) == 2:
            yield node, numpy_helper.to_array(inits[b])
        elif b in transposes:
            yield node, numpy_helper.to_array(inits[transposes[b].input[0]]).T


def rebuild(m, replace):
    """Swap MatMul nodes for the node lists `replace` gives, then drop initializers nobody reads."""
    g = m.graph
    nodes = []
    for node in g.node:
        nodes.extend(replace.get(node.name, [node]))
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    # Drop Transposes nobody reads (the tied lm_head once its MatMul is quantized).
    for _ in range(2):
        used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
        live = [n for n in g.node if any(o in used for o in n.output)]
        del g.node[:]
        g.node.extend(live)


def quantize_int8(src, path):
    m = onnx.ModelProto(); m.CopyFrom(src)
    replace, inits = {}, []
    for node, w in list(weight_matmuls(m)):
        name = node.name.replace("/", "_").strip("_")
        scale = np.maximum(np.abs(w).max(axis=0), 1e-8) / 127.0          # per output column
        q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        inits += [numpy_helper.from_array(q, f"{name}_Wq"), numpy_helper.from_array(scale.astype(np.float32), f"{name}_Ws"),
                  numpy_helper.from_array(np.zeros(w.shape[1], np.int8), f"{name}_Wzp")]
        a, y = node.input[0], node.output[0]
        replace[node.name] = [
            helper.make_node("DynamicQuantizeLinear", [a], [f"{name}_Aq", f"{name}_As", f"{name}_Azp"], name=f"{name}_dql"),
            helper.make_node("MatMulInteger", [f"{name}_Aq", f"{name}_Wq", f"{name}_Azp", f"{name}_Wzp"], [f"{name}_Yi"], name=f"{name}_mmi"),
            helper.make_node("Cast", [f"{name}_Yi"], [f"{name}_Yf"], to=TensorProto.FLOAT, name=f"{name}_cast"),
            helper.make_node("Mul", [f"{name}_As", f"{name}_Ws"], [f"{name}_S"], name=f"{name}_scale"),
            helper.make_node("Mul", [f"{name}_Yf", f"{name}_S"], [y], name=f"{name}_out"),
        ]
    m.graph.initializer.extend(inits)
    rebuild(m, replace)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def pack_q4(w, block):
    """w [K, N] -> (B uint8 [N, K/block, block/2], scales float32 [N * K/block]) for MatMulNBits:
    value = (q - 8) * scale, element 2j in the low nibble of byte j."""
    k, n = w.shape
    wt = w.T.reshape(n, k // block, block)
    scale = np.maximum(np.abs(wt).max(axis=2, keepdims=True), 1e-8) / 7.0
    q = (np.clip(np.round(wt / scale), -8, 7) + 8).astype(np.uint8)
    packed = q[..., 0::2] | (q[..., 1::2] << 4)
    return packed, scale.reshape(-1).astype(np.float32)


def quantize_q4(src, path, block=32):
    m = onnx.ModelProto(); m.CopyFrom(src)
    replace, inits = {}, []
    for node, w in list(weight_matmuls(m)):
        k, n = w.shape
        if k % block:
            continue
        name = node.name.replace("/", "_").strip("_")
        packed, scales = pack_q4(w, block)
        inits += [numpy_helper.from_array(packed, f"{name}_q4"), numpy_helper.from_array(scales, f"{name}_q4s")]
        replace[node.name] = [helper.make_node("MatMulNBits", [node.input[0], f"{name}_q4", f"{name}_q4s"], [node.output[0]],
                                               name=f"{name}_nbits", domain="com.microsoft", K=k, N=n, bits=4, block_size=block)]
    m.graph.initializer.extend(inits)
    rebuild(m, replace)
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(m, path)


def write_configs(cfg, out, step):
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
              "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "tie_word_embeddings": True,
              "attention_bias": False, "mlp_bias": False, "initializer_range": 0.02, "torch_dtype": "float32",
              "use_cache": True, "transformers_version": "4.46.0", **cfg,
              "rope_scaling": None, "edgespec": {"trained_steps": step}}
    gen = {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "do_sample": False, "max_length": cfg["max_position_embeddings"]}
    tok_cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
               "pad_token": "<unk>", "add_bos_token": True, "add_eos_token": False, "clean_up_tokenization_spaces": False,
               "model_max_length": cfg["max_position_embeddings"],
               # Plain role-tagged turns: the model saw no chat data, but clients need a template.
               "chat_template": "{{ bos_token }}{% for m in messages %}### {{ m['role'] }}\n{{ m['content'] }}\n\n{% endfor %}{% if add_generation_prompt %}### assistant\n{% endif %}"}
    for name, obj in [("config.json", config), ("generation_config.json", gen), ("tokenizer_config.json", tok_cfg)]:
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, indent=2); f.write("\n")


@torch.no_grad()
def write_fixture(model, path):
    ids = [1, 100, 200, 300, 400, 500, 600, 700, 42, 7]
    x = torch.tensor([ids])
    logits, _ = model(x, torch.ones_like(x), torch.arange(len(ids))[None])
    rows = [0, 4, len(ids) - 1]
    fixture = {"input_ids": ids, "positions": rows,
               "logits": [[round(float(v), 6) for v in logits[0, r]] for r in rows],
               "argmax": [int(logits[0, r].argmax()) for r in rows]}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(fixture, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--fixture", default="test/fixtures/reference-logits.json")
    args = ap.parse_args()
    state = torch.load(args.ckpt)
    cfg = state["config"]
    model = Llama(cfg); model.load_state_dict(state["model"]); model.eval()
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    fp32 = export_fp32(model, cfg, os.path.join(args.out, "onnx", "model.onnx"))
    quantize_int8(fp32, os.path.join(args.out, "onnx", "model_quantized.onnx"))
    quantize_q4(fp32, os.path.join(args.out, "onnx", "model_q4.onnx"))
    write_configs(cfg, args.out, state["step"])
    write_fixture(model, args.fixture)
    for f in sorted(os.listdir(os.path.join(args.out, "onnx"))):
        print(f"{f}: {os.path.getsize(os.path.join(args.out, 'onnx', f))/1e6:.2f} MB")

if __name__ == "__main__":
    main()
