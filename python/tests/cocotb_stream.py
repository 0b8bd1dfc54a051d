"""The cocotb bench of the generated accelerator's stream ports: the
host's packets go in through cocotbext-axi's AXI4-Stream source and the
replies come out through its sink, both with random tvalid/tready pauses,
and every reply word must equal the reference's. The job (the packets and
the expected replies, from `lstm_accel.Model.stream`) is the JSON file
named by LSTM_ACCEL_STREAM."""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


def pauses(rng, probability):
    """A pause generator: each cycle paused with `probability`."""
    while True:
        yield rng.random() < probability


@cocotb.test()
async def every_reply_word_equals_the_reference(dut):
    with open(os.environ["LSTM_ACCEL_STREAM"]) as f:
        job = json.load(f)
    rng = random.Random(job["seed"])
    cocotb.start_soon(Clock(dut.clock, 10, unit="ns").start())
    dut.reset.value = 0
    # One 32-bit word per beat: a byte is the whole word.
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s"), dut.clock, dut.reset, byte_size=32)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m"), dut.clock, dut.reset, byte_size=32)
    source.set_pause_generator(pauses(rng, job["pause"]))
    sink.set_pause_generator(pauses(rng, job["pause"]))
    for packet in job["input"]:
        await source.send(AxiStreamFrame(packet))
    words = 0
    for k, want in enumerate(job["expected"]):
        frame = await with_timeout(sink.recv(), job["timeout_us"], "us")
        got = [int(w) for w in frame.tdata]
        assert got == want, f"reply packet {k}: {[hex(w) for w in got]} where the reference has {[hex(w) for w in want]}"
        words += len(got)
    # Nothing more comes out.
    await ClockCycles(dut.clock, 200)
    assert sink.empty(), "the design sent more packets than the reference"
    assert source.empty(), "the design did not take every input word"
    dut._log.info("%d reply packets, %d words, equal to the reference", len(job["expected"]), words)
