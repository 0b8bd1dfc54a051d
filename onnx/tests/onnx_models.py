"""Builds random LSTM graphs with the `onnx` package and runs them in
onnxruntime, the independent float reference of the importer's tests.

usage: onnx_models.py OUT_DIR CASES SEED

Writes, for case k, `case{k}.onnx` and `case{k}.json` holding the input
sequence `x` ([timesteps][inputs]), onnxruntime's logits `y` ([timesteps]
[classes]) and what the graph is (`layers`, `quantized`). Also writes the
malformed graphs `bad_*.onnx` with `bad.json`, the node each error must
name and a piece of its message.
"""

import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def ternary_levels(rng, shape):
    return rng.choice([-1, 0, 1], size=shape).astype(np.int8)


def pow2_levels(rng, shape):
    mag = rng.choice([0, 1, 2, 4, 8, 16], size=shape)
    sign = rng.choice([-1, 1], size=shape)
    return (mag * sign).astype(np.int8)


def codebook_levels(rng, shape):
    book = np.array([0, -7, -3, 2, 5, 11, -12], dtype=np.int8)
    return rng.choice(book, size=shape).astype(np.int8)


class Graph:
    """A graph under construction: nodes and initializers."""

    def __init__(self):
        self.nodes = []
        self.inits = []

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def weight(self, name, w, quant, rng, axis_rows, scale=None):
        """A float weight, or (quant) integer levels behind DequantizeLinear
        with power-of-two scales (per tensor, or per row along axis_rows)."""
        if quant is None:
            return self.const(name, w.astype(np.float32))
        levels = {"ternary": ternary_levels, "pow2": pow2_levels, "codebook": codebook_levels}[quant](rng, w.shape)
        # Power-of-two scales that give the weights a trained network's
        # magnitudes (about 2 / sqrt(fan-in) at the largest level).
        top = np.log2(2.0 / (np.sqrt(max(w.shape[-1], w.shape[-2])) * max(1, np.abs(levels).max())))
        # A codebook is one table per matrix: one scale.
        per_row = quant != "codebook" and rng.random() < 0.5
        if scale is not None:
            scale = np.array(scale, dtype=np.float32)
        elif per_row:
            exps = np.round(top) - rng.integers(0, 3, size=w.shape[axis_rows])
            scale = (2.0**exps).astype(np.float32)
        else:
            scale = np.array(2.0 ** np.round(top), dtype=np.float32)
        self.const(name + "_q", levels)
        self.const(name + "_s", scale)
        self.const(name + "_z", np.zeros_like(scale, dtype=np.int8))
        self.nodes.append(
            helper.make_node(
                "DequantizeLinear", [name + "_q", name + "_s", name + "_z"], [name], name=name + "_dq", axis=axis_rows
            )
        )
        return name


CELLS = [1, 2, 3, 8, 16, 33, 64, 100, 128]


def build(rng, k, quant=None, cells=CELLS, max_layers=3, max_inputs=40, max_steps=20):
    """Graph `k`: 1 to `max_layers` LSTMs of `cells` cells, with `quant`
    weights (None: float), and its input and onnxruntime's logits."""
    g = Graph()
    layers = int(rng.integers(1, max_layers + 1))
    sizes = [int(rng.integers(1, max_inputs + 1))] + [int(rng.choice(cells)) for _ in range(layers)]
    classes = int(rng.integers(2, 13))
    steps = int(rng.integers(3, max_steps + 1))
    # onnxruntime's CPU LSTM runs layout 0 only (time first).
    layout = 0
    x_shape = [1, steps, sizes[0]] if layout else [steps, 1, sizes[0]]
    cur = "x"
    for l in range(layers):
        i, h = sizes[l], sizes[l + 1]
        scale = 1.0 / np.sqrt(max(i, h))
        w = g.weight(f"W{l}", rng.normal(0, 2 * scale, size=(1, 4 * h, i)), quant, rng, 1)
        r = g.weight(f"R{l}", rng.normal(0, 2 * scale, size=(1, 4 * h, h)), quant, rng, 1)
        inputs = [cur, w, r]
        if rng.random() < 0.8:
            inputs.append(g.const(f"B{l}", rng.normal(0, 0.5, size=(1, 8 * h)).astype(np.float32)))
        if rng.random() < 0.3:
            # Explicit zero initial state is accepted.
            while len(inputs) < 5:
                inputs.append("")
            zeros = np.zeros((1, 1, h), dtype=np.float32)
            inputs += [g.const(f"h0_{l}", zeros), g.const(f"c0_{l}", zeros)]
        g.nodes.append(
            helper.make_node(
                "LSTM", inputs, [f"Y{l}"], name=f"lstm{l}", hidden_size=h, layout=layout
            )
        )
        # Y is [seq, 1, batch, h] (layout 0) or [batch, seq, 1, h] (layout 1).
        axes = g.const(f"ax{l}", np.array([2 if layout else 1], dtype=np.int64))
        g.nodes.append(helper.make_node("Squeeze", [f"Y{l}", axes], [f"S{l}"], name=f"squeeze{l}"))
        cur = f"S{l}"
    h = sizes[-1]
    wh = rng.normal(0, 1 / np.sqrt(h), size=(classes, h))
    bias = rng.normal(0, 0.3, size=(classes,)).astype(np.float32)
    if rng.random() < 0.5:
        shape = g.const("flat", np.array([-1, h], dtype=np.int64))
        g.nodes.append(helper.make_node("Reshape", [cur, shape], ["F"], name="flatten"))
        trans = int(rng.integers(0, 2))
        b = g.weight("Wo", wh if trans else wh.T, quant, rng, 0 if trans else 1)
        g.nodes.append(helper.make_node("Gemm", ["F", b, g.const("bo", bias)], ["logits"], name="head", transB=trans))
        out_shape = [steps, classes]
    else:
        b = g.weight("Wo", wh.T, quant, rng, 1)
        g.nodes.append(helper.make_node("MatMul", [cur, b], ["M"], name="head"))
        g.nodes.append(helper.make_node("Add", ["M", g.const("bo", bias)], ["logits"], name="head_bias"))
        out_shape = [1, steps, classes] if layout else [steps, 1, classes]
    graph = helper.make_graph(
        g.nodes,
        f"case{k}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_shape)],
        initializer=g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    x = rng.normal(0, 1, size=x_shape).astype(np.float32)
    # Without graph optimizations: onnxruntime fuses DequantizeLinear into
    # integer kernels otherwise, which changes the logits by about 1e-3;
    # the graph's float semantics are the unfused run.
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": x})[0].reshape(steps, classes)
    xs = x.reshape(steps, sizes[0])
    return model, {"x": xs.tolist(), "y": y.tolist(), "layers": sizes, "quantized": quant, "layout": layout}


def malformed(out):
    """Graphs the importer must refuse, each with the node its error names."""
    rng = np.random.default_rng(1)
    cases = {}

    def lstm_graph(name, attrs=None, extra_inputs=None, head=True, op="LSTM", graph_inputs=None):
        g = Graph()
        w = g.const("W", rng.normal(0, 0.3, size=(1, 8, 3)).astype(np.float32))
        r = g.const("R", rng.normal(0, 0.3, size=(1, 8, 2)).astype(np.float32))
        inputs = ["x", w, r] + (extra_inputs or [])
        g.nodes.append(helper.make_node(op, inputs, ["Y"], name="the_lstm", hidden_size=2, **(attrs or {})))
        axes = g.const("ax", np.array([1], dtype=np.int64))
        g.nodes.append(helper.make_node("Squeeze", ["Y", axes], ["S"], name="sq"))
        if head:
            g.nodes.append(helper.make_node("MatMul", ["S", g.const("Wo", np.ones((2, 3), np.float32))], ["logits"], name="the_head"))
        ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 1, 3])] + (graph_inputs or [])
        graph = helper.make_graph(g.nodes, name, ins, [helper.make_tensor_value_info("logits" if head else "S", TensorProto.FLOAT, None)], initializer=g.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.save(model, f"{out}/bad_{name}.onnx")

    lstm_graph("bidirectional", {"direction": "bidirectional"})
    cases["bidirectional"] = ["the_lstm", "direction"]
    lstm_graph("activations", {"activations": ["Sigmoid", "Relu", "Tanh"]})
    cases["activations"] = ["the_lstm", "activations"]
    lstm_graph("clip", {"clip": 3.0})
    cases["clip"] = ["the_lstm", "clip"]
    lstm_graph("state_input", extra_inputs=["", "", "h0"], graph_inputs=[helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, 1, 2])])
    cases["state_input"] = ["the_lstm", "initial_h"]
    lstm_graph("no_head", head=False)
    cases["no_head"] = ["the_lstm", "no Gemm or MatMul head"]
    lstm_graph("gru", op="GRU")
    cases["gru"] = ["the_lstm", "not supported"]
    # Nonzero initial cell state.
    g_c = np.full((1, 1, 2), 0.5, np.float32)
    lstm_graph("cell_state", extra_inputs=["", "", "", "c0"])
    m = onnx.load(f"{out}/bad_cell_state.onnx")
    m.graph.initializer.append(numpy_helper.from_array(g_c, "c0"))
    onnx.save(m, f"{out}/bad_cell_state.onnx")
    cases["cell_state"] = ["the_lstm", "initial_c"]
    # R of the wrong shape.
    lstm_graph("r_shape")
    m = onnx.load(f"{out}/bad_r_shape.onnx")
    for t in m.graph.initializer:
        if t.name == "R":
            t.CopyFrom(numpy_helper.from_array(np.zeros((1, 8, 3), np.float32), "R"))
    onnx.save(m, f"{out}/bad_r_shape.onnx")
    cases["r_shape"] = ["the_lstm", "R has shape"]
    with open(f"{out}/truncated.onnx", "wb") as f:
        f.write(b"\x08\x07\x12\x05ab")
    cases["truncated"] = ["", "not an ONNX model"]
    with open(f"{out}/bad.json", "w") as f:
        json.dump(cases, f)


def snapped(out):
    """A ternary graph whose scale (0.3) is not a power of two: imported,
    but its weights are snapped, and the report says so."""
    rng = np.random.default_rng(2)
    g = Graph()
    w = g.weight("W", np.zeros((1, 8, 3)), "ternary", rng, 1, scale=0.3)
    r = g.weight("R", np.zeros((1, 8, 2)), "ternary", rng, 1)
    g.nodes.append(helper.make_node("LSTM", ["x", w, r], ["Y"], name="lstm", hidden_size=2))
    axes = g.const("ax", np.array([1], dtype=np.int64))
    g.nodes.append(helper.make_node("Squeeze", ["Y", axes], ["S"], name="sq"))
    g.nodes.append(helper.make_node("MatMul", ["S", g.const("Wo", np.ones((2, 3), np.float32))], ["logits"], name="head"))
    graph = helper.make_graph(
        g.nodes,
        "snapped",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 1, 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)],
        initializer=g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, f"{out}/snapped.onnx")


def main():
    out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(seed)
    quants = [None, None, "ternary", "pow2", "codebook"]
    for k in range(n):
        model, data = build(rng, k, quants[k % len(quants)])
        onnx.save(model, f"{out}/case{k}.onnx")
        with open(f"{out}/case{k}.json", "w") as f:
            json.dump(data, f)
    malformed(out)
    snapped(out)


if __name__ == "__main__":
    main()
