//! The fuzz targets (`fuzz/`, run for minutes by `scripts/fuzz`) in the
//! test suite: their seeds are accepted as valid input, and the seeds and
//! a few thousand seeded mutations of them (bit flips, boundary bytes,
//! numbers swapped for extreme ones, cut, repeated and deleted ranges) end
//! in an error with a message or a result, never in a panic.

use lstm_accel_host::driver::Driver;
use lstm_accel_model::import::{import_safetensors_bytes, ImportNames};
use lstm_accel_model::Model;
use lstm_accel_verify::fuzzing::{decoder_spec, run, seeds, TARGETS};
use rand::{Rng, RngCore};

const EXTREMES: [&str; 8] = [
    "0",
    "-1",
    "255",
    "65536",
    "2147483648",
    "-9223372036854775808",
    "18446744073709551616",
    "1e300",
];

fn mutate(r: &mut impl RngCore, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..r.random_range(1..=4) {
        if v.is_empty() {
            v.push(r.random());
            continue;
        }
        let i = r.random_range(0..v.len());
        match r.random_range(0..7) {
            0 => v[i] ^= 1 << r.random_range(0..8),
            1 => v[i] = [0u8, 0xff, 0x7f, 0x80, b'"', b'{', b']'][r.random_range(0..7)],
            2 => {
                // A number (text) swapped for an extreme one.
                let Some(start) = (i..v.len()).find(|&k| v[k].is_ascii_digit()) else {
                    continue;
                };
                let end = (start..v.len())
                    .find(|&k| !v[k].is_ascii_digit())
                    .unwrap_or(v.len());
                let x = EXTREMES[r.random_range(0..EXTREMES.len())].as_bytes();
                v.splice(start..end, x.iter().copied());
            }
            3 => v.truncate(i),
            4 => {
                let end = (i + r.random_range(1..64)).min(v.len());
                v.drain(i..end);
            }
            5 => {
                let end = (i + r.random_range(1..64)).min(v.len());
                let chunk = v[i..end].to_vec();
                v.splice(i..i, chunk);
            }
            _ => {
                let n = r.random_range(1..16);
                let bytes: Vec<u8> = (0..n).map(|_| r.random()).collect();
                v.splice(i..i, bytes);
            }
        }
    }
    v
}

/// One to three numbers of a text swapped for small or extreme ones.
fn swap_numbers(r: &mut impl RngCore, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..r.random_range(1..=3) {
        let i = r.random_range(0..v.len());
        let Some(start) = (i..v.len()).find(|&k| v[k].is_ascii_digit()) else {
            continue;
        };
        let end = (start..v.len())
            .find(|&k| !v[k].is_ascii_digit())
            .unwrap_or(v.len());
        let x = if r.random_bool(0.5) {
            EXTREMES[r.random_range(0..EXTREMES.len())].to_string()
        } else {
            r.random_range(0..40).to_string()
        };
        v.splice(start..end, x.into_bytes());
    }
    v
}

#[test]
fn the_seeds_are_valid_inputs() {
    for s in seeds("model_file") {
        Model::from_json(std::str::from_utf8(&s).expect("utf-8")).expect("a model");
    }
    let st = seeds("safetensors_import");
    assert!(!st.is_empty());
    for s in st {
        import_safetensors_bytes(std::path::Path::new("seed"), &s, &ImportNames::default())
            .expect("imports");
    }
    // The raw-packet seed: a result, a status and a state, read in order.
    let raw = seeds("packet_decoder").pop().expect("raw seed");
    let mut rest = &raw[1..];
    let mut packets = Vec::new();
    while let Some((&n, tail)) = rest.split_first() {
        let (p, t) = tail.split_at(4 * usize::from(n));
        packets.push(
            p.chunks(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect::<Vec<_>>(),
        );
        rest = t;
    }
    assert_eq!(packets.len(), 3);
    let spec = decoder_spec().clone();
    let mut drv = Driver::new(lstm_accel_sim::link::ScriptedLink::new(packets), spec);
    drv.receive_result().expect("a result");
    drv.status().expect("a status");
    drv.read_state().expect("a state");
}

#[test]
fn every_target_survives_mutations_of_its_seeds() {
    let mut r = lstm_accel_model::random::rng(2026);
    for target in TARGETS {
        let seeds = seeds(target);
        assert!(!seeds.is_empty(), "{target} has seeds");
        for s in &seeds {
            assert!(run(target, s));
        }
        let mut parsed = 0;
        for _ in 0..1500 {
            let s = &seeds[r.random_range(0..seeds.len())];
            // Model files: most mutants only swap numbers, so that they
            // stay JSON and reach the checks past the parser.
            let input = if target == "model_file" && r.random_bool(0.6) {
                swap_numbers(&mut r, s)
            } else {
                mutate(&mut r, s)
            };
            run(target, &input);
            if target == "model_file" {
                let text = String::from_utf8_lossy(&input);
                parsed += usize::from(Model::from_json(&text).is_ok());
            }
        }
        if target == "model_file" {
            // Enough mutants parse to reach the reference, spec and packer.
            assert!(parsed >= 50, "{parsed} of 1500 mutated model files parsed");
            println!("{parsed} of 1500 mutated model files parsed");
        }
    }
    assert!(!run("no-such-target", b""));
}
