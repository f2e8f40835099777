#!/usr/bin/env python3
"""Store an fp32 graph's weights as float16 where that loses nothing; the graph still computes in fp32.

  python3 tools/fp16_storage.py /tmp/small-export/onnx/model.onnx models/edgespec-small/onnx/model.onnx

Every float32 initializer whose values are all exactly representable in float16 (checked:
float32 -> float16 -> float32 gives back the same array) is replaced by a float16 initializer
`<name>_fp16` plus a `Cast(to=FLOAT)` node that produces the original name, so every node that read
the weight (the embedding Gather, the MatMuls, the tied lm_head Transpose) reads the same fp32
values as before. Any other initializer stays fp32. Inputs, outputs and all other nodes are left
as they are, so the graph's interface is the export's. For weights trained or saved in fp16 this
halves the file and the logits are bit-for-bit those of the fp32 export (onnxruntime folds the
Casts into fp32 constants when it loads the session).
"""
import argparse, os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def fp16_storage(m, min_elements=1):
    """Rewrites `m` in place; returns (initializers converted, kept fp32, bytes saved)."""
    g = m.graph
    taken = {i.name for i in g.initializer} | {o for n in g.node for o in n.output} | {i.name for i in g.input}
    inits, casts, converted, kept, saved = [], [], 0, 0, 0
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT:
            inits.append(init)
            continue
        w = numpy_helper.to_array(init)
        h = w.astype(np.float16)
        if w.size < min_elements or not np.array_equal(h.astype(np.float32), w):
            inits.append(init)
            kept += 1
            continue
        name = f"{init.name}_fp16"
        while name in taken:
            name += "_"
        taken.add(name)
        inits.append(numpy_helper.from_array(h, name))
        casts.append(helper.make_node("Cast", [name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}_fp16_cast"))
        converted += 1
        saved += w.nbytes - h.nbytes
    del g.initializer[:]
    g.initializer.extend(inits)
    # The Casts go first, so the graph stays topologically sorted (the tied lm_head Transpose
    # reads the embedding's Cast output).
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    return converted, kept, saved


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", help="an fp32 ONNX graph (e.g. export_model.py's onnx/model.onnx)")
    ap.add_argument("out", help="where to write the fp16-storage graph")
    ap.add_argument("--min-elements", type=int, default=1, help="leave initializers smaller than this in fp32")
    args = ap.parse_args()
    m = onnx.load(args.src)
    converted, kept, saved = fp16_storage(m, args.min_elements)
    onnx.checker.check_model(m)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    onnx.save(m, args.out)
    print(f"{args.out}: {converted} initializers stored as float16, {kept} kept float32, "
          f"{saved / 1e6:.2f} MB saved, {os.path.getsize(args.out) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
