//! The reset conditioner: `reset` rises `LATENCY` cycles after a request
//! and falls `hold + 1` cycles after the synchronised request does, for
//! requests of every length and spacing (native engine, against a model
//! written from the definition); Icarus runs the generated Verilog cycle
//! for cycle like the native engine; Verilator lints it and Yosys
//! synthesises it without latches.

use lstm_accel_hdl::blocks::reset_hold::ResetHold;
use lstm_accel_hdl::dynamic::{clock_cycle, settle};
use lstm_accel_hdl::tools::{icarus_values, verilator_lint, yosys_synth};
use lstm_accel_model::random;
use lstm_accel_spec::target::Family;
use rand::Rng;
use rust_hdl::prelude::*;
use std::fmt::Write;

fn block(hold: u64) -> ResetHold {
    let mut b = ResetHold::new(hold);
    b.clock.connect();
    b.request.connect();
    b.connect_all();
    b
}

/// `reset` per cycle (before the edge) for `requests`, in the native engine.
fn run_native(hold: u64, requests: &[bool]) -> Vec<bool> {
    let mut b = block(hold);
    requests
        .iter()
        .map(|&q| {
            b.request.next = q;
            settle(&mut b, 100);
            let seen = b.reset.val();
            // The controller's own copy is the complement, every cycle.
            assert_eq!(b.running.val(), !seen, "running is not reset's complement");
            clock_cycle(&mut b, |b| &mut b.clock);
            seen
        })
        .collect()
}

/// What the definition says: high in cycle t when the request was high in
/// some cycle t - 3 - j, 0 <= j <= hold.
fn expected(hold: u64, requests: &[bool]) -> Vec<bool> {
    let lat = ResetHold::LATENCY as usize;
    (0..requests.len())
        .map(|t| (0..=hold as usize).any(|j| t >= lat + j && requests[t - lat - j]))
        .collect()
}

/// Requests: mostly low, in bursts of 1 to 12 cycles.
fn random_requests(r: &mut impl Rng, n: usize) -> Vec<bool> {
    let mut v = vec![false; n];
    let mut t = 0;
    while t < n {
        t += r.random_range(1..60);
        let len = r.random_range(1..=12);
        for x in v.iter_mut().skip(t).take(len) {
            *x = true;
        }
        t += len;
    }
    v
}

#[test]
fn reset_follows_the_request_and_outlasts_it_by_the_hold() {
    let mut r = random::rng(71);
    for hold in [1, 2, 5, 37, 64] {
        let requests = random_requests(&mut r, 2_000);
        let got = run_native(hold, &requests);
        assert_eq!(got, expected(hold, &requests), "hold {hold}");
        assert!(!got[..3].iter().any(|&x| x), "out of reset at power-up");
    }
    // One cycle of request: reset for exactly hold + 1 cycles.
    let mut one = vec![false; 100];
    one[10] = true;
    let got = run_native(20, &one);
    assert_eq!(got.iter().filter(|&&x| x).count(), 21);
    assert!(got[13] && !got[12] && got[33] && !got[34]);
}

#[test]
fn icarus_runs_it_like_the_native_engine_and_it_lints_and_synthesises() {
    let mut r = random::rng(72);
    let hold = 45;
    let requests = random_requests(&mut r, 800);
    let seen = run_native(hold, &requests);
    let verilog = generate_verilog(&block(hold));
    let mut tb = String::from(
        "module tb;\nreg clock = 0;\nreg q = 0;\nwire rst, run;\ntop uut(.clock(clock), .request(q), .reset(rst), .running(run));\ninitial begin\n",
    );
    for &q in &requests {
        let _ = writeln!(
            tb,
            "    q = {};\n    #1 $display(\"%0d %0d\", rst, run);\n    #4 clock = 1; #5 clock = 0;",
            u8::from(q)
        );
    }
    tb.push_str("    $finish;\nend\nendmodule\n");
    let got = icarus_values(&format!("{verilog}\n{tb}"), "tb").expect("icarus runs");
    // Each cycle: reset, and its complement.
    let want: Vec<Vec<i64>> = seen
        .iter()
        .map(|&x| vec![i64::from(x), i64::from(!x)])
        .collect();
    assert_eq!(got.len(), want.len());
    let first = got.iter().zip(&want).position(|(a, b)| a != b);
    assert_eq!(first, None, "first differing cycle");
    let lint = verilator_lint(&verilog, "top").expect("lint is clean");
    assert!(!lint.contains("%Warning"), "{lint}");
    for family in [Family::Ice40, Family::Ecp5] {
        let s = yosys_synth(&verilog, "top", family).expect("yosys");
        assert!(s.latches.is_empty(), "{:?}", s.latches);
        // Two synchronising registers, the held reset, its complement
        // kept apart for the input handshake, a 6-bit counter.
        assert!(s.flip_flops() >= 10, "{family:?}: {}", s.flip_flops());
    }
}
