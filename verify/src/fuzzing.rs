//! The bodies of the fuzz targets, shared by the cargo-fuzz crate (`fuzz/`,
//! run by `scripts/fuzz`) and the test suite's mutation run, with the seed
//! inputs they start from. Each takes arbitrary bytes and must end in an
//! error with a message, never a panic:
//!
//! - [`model_file`]: the model-file parser, and what a model that parses
//!   goes through next: the bit-exact reference on a frame, the spec, the
//!   packer;
//! - [`safetensors_import`]: the PyTorch (safetensors) import, and the
//!   quantization of what it reads;
//! - [`packet_decoder`]: the host's decoding of what a device sends: serial
//!   frames hunted out of line noise, checked and reassembled, then the
//!   driver's parsing of result, status and state packets; and the same
//!   packets arriving without the serial layer.

use lstm_accel_compress::quantize::{quantize_model, QuantSpec};
use lstm_accel_host::driver::Driver;
use lstm_accel_host::link::LinkError;
use lstm_accel_host::pack::pack;
use lstm_accel_host::serial::{BytePort, SerialLink};
use lstm_accel_model::float::FloatModel;
use lstm_accel_model::import::{export_safetensors, import_safetensors_bytes, ImportNames};
use lstm_accel_model::random::{self, ModelShape, ScalarKind};
use lstm_accel_model::reference::Reference;
use lstm_accel_model::Model;
use lstm_accel_sim::link::ScriptedLink;
use lstm_accel_spec::link::{packet_frames, D_DATA, D_DATA_END};
use lstm_accel_spec::protocol::{
    header, RESULT, RESULT_FIXED_WORDS, STATE_REPLY, STATUS_REPLY, STATUS_WORDS,
};
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use lstm_accel_spec::Target;
use std::path::Path;
use std::sync::OnceLock;

/// The fuzz targets' names.
pub const TARGETS: [&str; 3] = ["model_file", "safetensors_import", "packet_decoder"];

/// Runs target `name` on `data`; `false` if there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "model_file" => model_file(data),
        "safetensors_import" => safetensors_import(data),
        "packet_decoder" => packet_decoder(data),
        _ => return false,
    }
    true
}

/// An error must say what was wrong.
fn said(e: impl std::fmt::Display) {
    let msg = e.to_string();
    assert!(!msg.trim().is_empty(), "an error without a message");
}

/// The model-file parser and what follows it.
pub fn model_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let m = match Model::from_json(text) {
        Ok(m) => m,
        Err(e) => return said(e),
    };
    match Reference::new(&m) {
        Ok(mut r) => {
            if let Err(e) = r.step(&vec![0; m.input.size]) {
                said(e);
            }
        }
        Err(e) => said(e),
    }
    let hw = HwConfig::on(1 + data.len() % 16, Target::Generic);
    match AcceleratorSpec::new(&m, &hw) {
        Ok(spec) => {
            if let Err(e) = pack(&m, &spec) {
                said(e);
            }
        }
        Err(e) => said(e),
    }
}

/// The safetensors import and quantization of what it reads.
pub fn safetensors_import(data: &[u8]) {
    let names = ImportNames::default();
    match import_safetensors_bytes(Path::new("fuzz.safetensors"), data, &names) {
        Ok(f) => {
            if let Err(e) = quantize_model(&f, &QuantSpec::default()) {
                said(e);
            }
        }
        Err(e) => said(e),
    }
}

/// A device's answer, byte by byte, then silence.
struct Line<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl BytePort for Line<'_> {
    fn write(&mut self, _: &[u8]) -> Result<(), LinkError> {
        Ok(())
    }
    fn read_byte(&mut self) -> Result<Option<u8>, LinkError> {
        let b = self.bytes.get(self.at).copied();
        self.at += 1;
        Ok(b)
    }
}

/// The spec the decoder's driver expects packets of.
pub fn decoder_spec() -> &'static AcceleratorSpec {
    static SPEC: OnceLock<AcceleratorSpec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let (m, hw) = decoder_model();
        AcceleratorSpec::new(&m, &hw).unwrap_or_else(|e| panic!("the fixed decoder spec: {e}"))
    })
}

fn decoder_model() -> (Model, HwConfig) {
    let m = random::model(&mut random::rng(1), &ModelShape::ternary(3, &[4, 2], 3, 8));
    let hw = HwConfig::on(2, Target::Generic);
    (m, hw)
}

/// The driver's three reads, in the order the first byte picks.
fn reads<L: lstm_accel_host::link::Link>(drv: &mut Driver<L>, order: u8) {
    for k in 0..3 {
        let r = match (order as usize + k) % 3 {
            0 => drv.receive_result().map(|_| ()),
            1 => drv.status().map(|_| ()),
            _ => drv.read_state().map(|_| ()),
        };
        if let Err(e) = r {
            said(e);
        }
    }
}

/// The host's packet decoding: the bytes as a serial line, then as raw
/// packets (a length byte, then that many little-endian words, each).
pub fn packet_decoder(data: &[u8]) {
    let Some((&order, line)) = data.split_first() else {
        return;
    };
    let spec = decoder_spec();
    let mut link = SerialLink::new(Line { bytes: line, at: 0 });
    link.tries = 2;
    reads(&mut Driver::new(link, spec.clone()), order);
    let mut packets = Vec::new();
    let mut rest = line;
    while let Some((&n, tail)) = rest.split_first() {
        let take = (usize::from(n) * 4).min(tail.len());
        packets.push(
            tail[..take]
                .chunks(4)
                .map(|c| c.iter().rev().fold(0u32, |w, &b| (w << 8) | u32::from(b)))
                .collect(),
        );
        rest = &tail[take..];
    }
    reads(
        &mut Driver::new(ScriptedLink::new(packets), spec.clone()),
        order,
    );
}

/// Valid inputs for each target to start from: small random model files
/// of several encodings, their float twins as safetensors, and correct
/// replies as serial frames and as raw packets.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let models: Vec<Model> = (0..4u64)
        .map(|s| {
            let mut shape =
                ModelShape::ternary(3 + s as usize, &[4, 3][..1 + s as usize % 2], 3, 8);
            shape.scalar_kinds = match s {
                0 => vec![ScalarKind::Ternary],
                1 => vec![ScalarKind::Pow2],
                2 => vec![ScalarKind::Codebook],
                _ => vec![ScalarKind::CodebookPow2, ScalarKind::Ternary],
            };
            shape.light_rnn = s == 3;
            random::model(&mut random::rng(s), &shape)
        })
        .collect();
    match target {
        "model_file" => models
            .iter()
            .filter_map(|m| m.to_json().ok().map(String::into_bytes))
            .collect(),
        "safetensors_import" => models
            .iter()
            .filter(|m| matches!(m.head, lstm_accel_model::model::Head::Dense(_)))
            .filter_map(|m| {
                let path = std::env::temp_dir().join(format!(
                    "lstm-accel-seed-{}-{}.safetensors",
                    std::process::id(),
                    m.input.size
                ));
                export_safetensors(&FloatModel::from_model(m), &path, &ImportNames::default())
                    .ok()?;
                let bytes = std::fs::read(&path).ok();
                let _ = std::fs::remove_file(&path);
                bytes
            })
            .collect(),
        "packet_decoder" => {
            let lay = &decoder_spec().layout;
            let rows = lay.head.rows;
            let mut result = vec![header(RESULT, RESULT_FIXED_WORDS + rows), 0, 1, 99];
            result.extend((0..rows as u32).map(|v| v.wrapping_sub(1)));
            let status = vec![
                header(STATUS_REPLY, STATUS_WORDS),
                1,
                0,
                0,
                0,
                3,
                0xdead_beef,
            ];
            let n = lstm_accel_spec::protocol::state_words(lay);
            let mut state = vec![header(STATE_REPLY, n)];
            state.extend((0..n as u32).map(|v| v.wrapping_mul(0x0101_0101)));
            let packets = [result, status, state];
            let mut serial = vec![0u8];
            let mut raw = vec![0u8];
            for (seq, p) in packets.iter().enumerate() {
                for f in packet_frames(p, seq as u8, D_DATA, D_DATA_END) {
                    serial.extend(f.encode());
                }
                raw.push(p.len() as u8);
                raw.extend(p.iter().flat_map(|w| w.to_le_bytes()));
            }
            vec![serial, raw]
        }
        _ => Vec::new(),
    }
}
