"""From an ONNX file to an FPGA, in Python: the steps of a notebook.

1. Build a small quantized LSTM as ONNX, the way Brevitas exports one:
   ternary weights as int8 behind DequantizeLinear with power-of-two
   scales, a standard LSTM node and a MatMul + Add head.
2. `lstm_accel.convert` reads it; the weights keep their exact codes.
3. `predict` runs the bit-exact reference, compared with onnxruntime.
4. `simulate` runs the generated accelerator cycle-accurately and
   cross-checks it against the reference.
5. `spec` and `synth` give the predicted cycles and the FPGA report
   (Yosys and nextpnr on the iCE40 UP5K of the iCEBreaker).

Run it with the project's virtual environment, after `scripts/test` (or
`maturin develop --release -m python/Cargo.toml`) installed the package:

    .venv/bin/python docs/examples/onnx_to_fpga.py [OUT_DIR]
"""

import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import lstm_accel

INPUTS, CELLS, CLASSES, STEPS = 8, 16, 4, 20
rng = np.random.default_rng(0)
out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="onnx_to_fpga")
os.makedirs(out, exist_ok=True)


def ternary(name, shape, scale):
    """Initializers and the DequantizeLinear node of a ternary weight."""
    q = rng.choice([-1, 0, 1], size=shape).astype(np.int8)
    inits = [
        numpy_helper.from_array(q, name + "_q"),
        numpy_helper.from_array(np.array(scale, np.float32), name + "_s"),
        numpy_helper.from_array(np.array(0, np.int8), name + "_z"),
    ]
    node = helper.make_node("DequantizeLinear", [name + "_q", name + "_s", name + "_z"], [name], name=name + "_dq")
    return inits, node


# 1. The ONNX graph.
inits, nodes = [], []
for name, shape, scale in [
    ("W", (1, 4 * CELLS, INPUTS), 0.25),
    ("R", (1, 4 * CELLS, CELLS), 0.125),
    ("Wo", (CELLS, CLASSES), 0.25),
]:
    i, n = ternary(name, shape, scale)
    inits += i
    nodes.append(n)
inits.append(numpy_helper.from_array(rng.normal(0, 0.2, (1, 8 * CELLS)).astype(np.float32), "B"))
inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis"))
inits.append(numpy_helper.from_array(rng.normal(0, 0.2, CLASSES).astype(np.float32), "bo"))
nodes += [
    helper.make_node("LSTM", ["x", "W", "R", "B"], ["Y"], name="lstm", hidden_size=CELLS),
    helper.make_node("Squeeze", ["Y", "axis"], ["H"], name="squeeze"),
    helper.make_node("MatMul", ["H", "Wo"], ["M"], name="head"),
    helper.make_node("Add", ["M", "bo"], ["logits"], name="head_bias"),
]
graph = helper.make_graph(
    nodes,
    "kws",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [STEPS, 1, INPUTS])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [STEPS, 1, CLASSES])],
    initializer=inits,
)
model_proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model_proto.ir_version = 8
onnx.checker.check_model(model_proto)
path = f"{out}/kws.onnx"
onnx.save(model_proto, path)

# 2. Convert.
model = lstm_accel.convert(path)
print(model)
for m in model.info()["matrices"]:
    print(f"  {m['name']}: {m['encoding']}")

# 3. Predict: the bit-exact reference and the float twin, against onnxruntime.
x = rng.normal(0, 1, (STEPS, INPUTS)).astype(np.float32)
opts = ort.SessionOptions()
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
expected = ort.InferenceSession(model_proto.SerializeToString(), opts).run(None, {"x": x[:, None, :]})[0][:, 0, :]
float_logits = model.predict_float(x)
logits = model.predict(x)
print(f"float twin vs onnxruntime: max |difference| {np.abs(float_logits - expected).max():.2e}")
agree = (logits.argmax(axis=1) == expected.argmax(axis=1)).mean()
print(f"bit-exact reference vs onnxruntime: the same class in {100 * agree:.0f} % of steps")

# 4. Simulate the generated accelerator, cross-checked against the reference.
sim = model.simulate(x, engine="native", lanes=8)
classes = sim["classes"][0]
assert classes == list(logits.argmax(axis=1)), (classes, logits.argmax(axis=1))
print(
    f"simulated {sim['frames']} frames: {sim['predicted_cycles_per_frame']} cycles per frame "
    f"(measured {sim['measured_cycles_per_frame']}), {len(sim['mismatches'])} mismatches"
)

# 5. The spec and the FPGA.
spec = model.spec(lanes=8, clock_mhz=24)
assert spec["cycles_per_frame"] == sim["predicted_cycles_per_frame"]
print(f"spec: {spec['cycles_per_frame']} cycles per frame, {spec['estimate']['frame_latency_us']:.1f} us at 24 MHz")
# The iCEBreaker's design: the accelerator behind its UART bridge.
report = model.synth(target="ice40-up5k", board="icebreaker", out=f"{out}/synth", lanes=8, clock_mhz=24)
print(
    f"iCEBreaker (iCE40 UP5K): {report['luts']} LUTs, {report['block_rams']['used']} block RAMs, "
    f"Fmax {report['fmax_mhz']:.1f} MHz ({report['clock_mhz']:.1f} MHz asked: "
    f"{'met' if report['clock_met'] else 'NOT met'}), bitstream {report['bitstream']}"
)
assert report["clock_met"]
