"""The lstm_accel Python package: every verb on ONNX graphs built with the
onnx package, against onnxruntime and against itself; errors arrive as
lstm_accel.LstmAccelError with the tool's message; and the notebook-style
example in docs/ runs from ONNX to a bitstream."""

import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

import lstm_accel

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "onnx", "tests"))
import onnx_models  # noqa: E402  (the ONNX importer's graph builder)


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """Graphs of onnx_models.py: cases 0-1 float, 2 ternary, 3 pow2, 4 codebook."""
    d = tmp_path_factory.mktemp("onnx")
    rng = np.random.default_rng(31)
    quants = [None, None, "ternary", "pow2", "codebook"]
    cases = []
    for k, q in enumerate(quants):
        model, data = onnx_models.build(rng, k, q)
        path = str(d / f"case{k}.onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        cases.append((path, model, data))
    onnx_models.malformed(str(d))
    return d, cases


def onnxruntime_logits(model, x):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x[:, None, :].astype(np.float32)})[0].reshape(len(x), -1)


def test_convert_predict_float_equals_onnxruntime(graphs):
    _, cases = graphs
    for path, proto, data in cases:
        m = lstm_accel.convert(path)
        x = np.array(data["x"])
        assert m.inputs == x.shape[1]
        y = m.predict_float(x)
        assert y.shape == (len(x), m.classes)
        np.testing.assert_allclose(y, onnxruntime_logits(proto, x), atol=1e-5)
        assert repr(m).startswith("lstm_accel.Model(")


def test_predict_is_the_bit_exact_reference_and_batches(graphs):
    _, cases = graphs
    path, _, data = cases[2]
    m = lstm_accel.convert(path)
    x = np.array(data["x"], dtype=np.float32)
    y = m.predict(x)
    assert y.shape == (len(x), m.classes) and y.dtype == np.float64
    # A batch runs each sequence from zero state: the same as one by one.
    rng = np.random.default_rng(5)
    batch = rng.normal(0, 1, (3, 7, m.inputs))
    yb = m.predict(batch)
    assert yb.shape == (3, 7, m.classes)
    for b in range(3):
        np.testing.assert_array_equal(yb[b], m.predict(batch[b]))
    # Lists work as arrays do.
    np.testing.assert_array_equal(m.predict(x.tolist()), y)
    # The trace's logits and classes are predict's.
    t = m.trace(x)
    np.testing.assert_array_equal(t["logits"], y)
    assert t["classes"] == list(y.argmax(axis=1))
    cells = data["layers"][1]
    layer = t["layers"][0]
    assert layer["gates"].shape == (len(x), 4 * cells)
    assert layer["preact"].shape == (len(x), 4 * cells)
    assert layer["c"].shape == (len(x), cells) and layer["h"].shape == (len(x), cells)
    # Gates are activations: sigmoids and tanh within their ranges.
    assert np.all(np.abs(layer["gates"]) <= 1.0)
    # h = o * tanh(c) stays within [-1, 1].
    assert np.all(np.abs(layer["h"]) <= 1.0)


def test_spec_generate_and_simulate_cross_check(graphs, tmp_path):
    _, cases = graphs
    path, _, data = cases[2]
    m = lstm_accel.convert(path)
    spec = m.spec(lanes=4)
    assert spec["cycles_per_frame"] > 0
    assert spec["hw"]["lanes"] == 4
    auto = m.spec(lanes="auto", target="ice40-up5k")
    assert auto["hw"]["lanes"] >= 1
    gen = m.generate(str(tmp_path / "gen"), lanes=4)
    names = {os.path.basename(f) for f in gen["files"]}
    assert {"accelerator.v", "spec.json"} <= names
    assert gen["predicted_cycles_per_frame"] == spec["cycles_per_frame"]
    x = np.array(data["x"])
    expected = list(m.predict(x).argmax(axis=1))
    for engine in ["native", "verilator"]:
        sim = m.simulate(x, engine=engine, lanes=4, read_state=True)
        assert sim["mismatches"] == [], engine
        assert sim["classes"] == [expected], engine
        assert sim["measured_cycles_per_frame"] == [spec["cycles_per_frame"]] * 2, engine


def test_quant_spec_as_dict_and_path(graphs, tmp_path):
    _, cases = graphs
    path = cases[0][0]
    spec = {"matrix": {"structure": {"type": "dense", "per_row": True}, "scalar": {"kind": "pow2", "octaves": 4}}}
    m = lstm_accel.convert(path, quant_spec=spec)
    assert all("pow2" in x["encoding"] for x in m.info()["matrices"])
    p = tmp_path / "q.json"
    p.write_text(json.dumps(spec))
    m2 = lstm_accel.convert(path, quant_spec=str(p))
    np.testing.assert_array_equal(m.predict(np.ones((3, m.inputs))), m2.predict(np.ones((3, m.inputs))))
    m.save(str(tmp_path / "m.json"))
    m3 = lstm_accel.convert(str(tmp_path / "m.json"))
    np.testing.assert_array_equal(m3.predict(np.ones((3, m.inputs))), m.predict(np.ones((3, m.inputs))))


def test_errors_are_python_exceptions_with_the_tools_message(graphs, tmp_path):
    d, cases = graphs
    with pytest.raises(lstm_accel.LstmAccelError, match="node 'the_lstm' \\(LSTM\\).*direction"):
        lstm_accel.convert(str(d / "bad_bidirectional.onnx"))
    with pytest.raises(lstm_accel.LstmAccelError, match="missing.onnx"):
        lstm_accel.convert(str(tmp_path / "missing.onnx"))
    with pytest.raises(lstm_accel.LstmAccelError, match=r"\.json model file, a \.safetensors"):
        lstm_accel.convert(str(tmp_path / "model.h5"))
    with pytest.raises(lstm_accel.LstmAccelError, match="not a valid quantization spec"):
        lstm_accel.convert(cases[0][0], quant_spec={"matrix": {"scalar": {"kind": "nonsense"}}})
    m = lstm_accel.convert(cases[2][0])
    with pytest.raises(lstm_accel.LstmAccelError, match=f"the model takes {m.inputs}"):
        m.predict(np.zeros((4, m.inputs + 1)))
    with pytest.raises(lstm_accel.LstmAccelError, match="timesteps"):
        m.predict(np.zeros(5))
    with pytest.raises(lstm_accel.LstmAccelError, match="engine 'spice'"):
        m.simulate(np.zeros((2, m.inputs)), engine="spice")
    with pytest.raises(lstm_accel.LstmAccelError, match="lanes"):
        m.spec(lanes="many")
    assert issubclass(lstm_accel.LstmAccelError, Exception)


def test_the_notebook_example_goes_from_onnx_to_a_bitstream(tmp_path):
    script = os.path.join(ROOT, "docs", "examples", "onnx_to_fpga.py")
    out = subprocess.run([sys.executable, script, str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 mismatches" in out.stdout
    assert "float twin vs onnxruntime: max |difference|" in out.stdout
    assert (tmp_path / "synth" / "top.bin").exists()
