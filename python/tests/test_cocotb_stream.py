"""An independent check of the stream ports: random models (float and
quantized ONNX graphs of one or two LSTMs, 1 to 33 cells, random lane
counts) are generated as Verilog, driven in Icarus by cocotb with
cocotbext-axi's AXI4-Stream source and sink (random pauses on both sides),
and every reply word is compared with the reference's."""

import json
import os
import sys

import numpy as np
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

import lstm_accel

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "onnx", "tests"))
import onnx_models  # noqa: E402

MODELS = 20


def test_cocotb_axi_stream_bench_matches_the_reference_with_back_pressure(tmp_path):
    rng = np.random.default_rng(2027)
    quants = [None, "ternary", "pow2", "codebook"]
    runner = get_runner("icarus")
    words = 0
    for k in range(MODELS):
        d = tmp_path / f"model{k}"
        d.mkdir()
        proto, data = onnx_models.build(rng, k, quants[k % 4], cells=[1, 2, 3, 8, 16, 33], max_layers=2, max_inputs=12, max_steps=4)
        path = d / "m.onnx"
        path.write_bytes(proto.SerializeToString())
        model = lstm_accel.convert(str(path))
        lanes = int(rng.choice([1, 2, 4, 8]))
        model.generate(str(d), lanes=lanes)
        x = np.array(data["x"])
        # Two sequences: the second starts after the first's state reads.
        batch = np.stack([x, x[::-1]])
        job = model.stream(batch, lanes=lanes, read_state=bool(k % 2))
        job.update(seed=k, pause=[0.0, 0.3, 0.6][k % 3], timeout_us=20_000)
        stream = d / "stream.json"
        stream.write_text(json.dumps(job))
        runner.build(sources=[d / "accelerator.v"], hdl_toplevel="top", build_dir=d / "build", timescale=("1ns", "1ps"))
        xml = runner.test(
            hdl_toplevel="top",
            test_module="cocotb_stream",
            build_dir=d / "build",
            test_dir=d,
            extra_env={"LSTM_ACCEL_STREAM": str(stream)},
        )
        tests, failed = get_results(xml)
        assert (tests, failed) == (1, 0), f"model {k} ({data['layers']}, {quants[k % 4]}, {lanes} lanes): see {d}"
        words += sum(len(p) for p in job["expected"])
    print(f"cocotb: {MODELS} models, {words} reply words, 0 mismatches")
