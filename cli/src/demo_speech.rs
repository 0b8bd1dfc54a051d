//! The default demo: the trained spoken-digit model that ships with the
//! tool, on the tool's own synthetic speech (one recording per digit), from
//! wav bytes to classes in the reference, the float twin and the
//! cycle-accurate design. See `demo` for the chain.

use crate::engines::{print_report, simulate, EngineSetup, SimulationReport};
use crate::report::{print_summary, summarize, ModelSummary};
use crate::spec_cmd::print_spec;
use anyhow::{bail, Context, Result};
use lstm_accel_audio::{wav, AudioInput};
use lstm_accel_model::float::{FloatModel, FloatRunner};
use lstm_accel_model::readout::Answer;
use lstm_accel_model::reference::Reference;
use lstm_accel_model::trace::{Deviation, StepTrace};
use lstm_accel_model::Model;
use lstm_accel_spec::spec::{AcceleratorSpec, HwConfig};
use serde::Serialize;

/// The shipped model: 2 x 64 LSTM on 13 MFCC, power-of-two ternary weights,
/// trained on FSDD (see `assets/README.md` for the commands).
const MODEL: &str = include_str!("../../assets/models/fsdd-digits.json");

/// The shipped spoken-digit model (built into the binary).
pub(crate) fn shipped_model() -> Result<Model> {
    Model::from_json(MODEL).context("the shipped model")
}

/// The digits spoken by espeak-ng (`scripts/make-demo-speech`).
const SPEECH: [(&str, &[u8]); 10] = [
    (
        "0-zero.wav",
        include_bytes!("../../assets/speech/0-zero.wav"),
    ),
    ("1-one.wav", include_bytes!("../../assets/speech/1-one.wav")),
    ("2-two.wav", include_bytes!("../../assets/speech/2-two.wav")),
    (
        "3-three.wav",
        include_bytes!("../../assets/speech/3-three.wav"),
    ),
    (
        "4-four.wav",
        include_bytes!("../../assets/speech/4-four.wav"),
    ),
    (
        "5-five.wav",
        include_bytes!("../../assets/speech/5-five.wav"),
    ),
    ("6-six.wav", include_bytes!("../../assets/speech/6-six.wav")),
    (
        "7-seven.wav",
        include_bytes!("../../assets/speech/7-seven.wav"),
    ),
    (
        "8-eight.wav",
        include_bytes!("../../assets/speech/8-eight.wav"),
    ),
    (
        "9-nine.wav",
        include_bytes!("../../assets/speech/9-nine.wav"),
    ),
];

const ORIGIN: &str = "trained: the spoken-digit model that ships with the tool (FSDD, power-of-two ternary weights, quantization-aware)";

/// One recording's outcome.
#[derive(Serialize)]
struct Heard {
    recording: String,
    spoken: usize,
    frames: usize,
    reference_class: usize,
    float_class: usize,
    /// The design's class, for the recordings it ran.
    design_class: Option<u32>,
}

#[derive(Serialize)]
struct SpeechDemoReport {
    model_origin: &'static str,
    model: ModelSummary,
    accelerator_cycles_per_frame: u64,
    accelerator_frame_latency_us: f64,
    recordings: Vec<Heard>,
    /// Recordings the reference classifies as the digit spoken.
    reference_right: usize,
    /// Recordings on which the reference and the float twin agree.
    class_agreement: usize,
    max_deviation: Deviation,
    simulation: SimulationReport,
}

/// The demo's design: four row engines of 16 lanes on the ECP5-85F, so
/// that the native engine runs all ten recordings in about half a minute
/// on two cores (929 cycles per frame against 3,440 at 1 x 16).
fn demo_config() -> HwConfig {
    HwConfig {
        rows: 4,
        ..HwConfig::default()
    }
}

/// What the speech demo is asked to do (the demo command's flags).
pub struct SpeechDemo<'a> {
    /// Write the shipped model here too.
    pub save_model: Option<&'a std::path::Path>,
    /// Recordings run through the generated design.
    pub sim_recordings: usize,
    /// Machine-readable output.
    pub json: bool,
}

/// Runs the speech demo.
pub fn run(a: &SpeechDemo) -> Result<()> {
    let model = shipped_model()?;
    if let Some(p) = a.save_model {
        model.save(p)?;
    }
    let accel = AcceleratorSpec::new(&model, &demo_config())?;
    let input = AudioInput::new(&model)?;
    let mut sequences = Vec::with_capacity(SPEECH.len());
    for (name, bytes) in SPEECH {
        sequences.push(input.frames(&wav::read_bytes(bytes, name)?));
    }
    let float = FloatModel::from_model(&model);
    let mut reference = Reference::new(&model)?;
    let mut twin = FloatRunner::new(&float);
    let fmt = model.input.format;
    let mut dev = Deviation::default();
    let mut heard = Vec::with_capacity(SPEECH.len());
    for (d, ((name, _), seq)) in SPEECH.iter().zip(&sequences).enumerate() {
        reference.reset();
        twin.reset();
        let mut float_answer = Answer::new(model.readout);
        for f in seq {
            let mut t = StepTrace::default();
            reference.step_traced(f, &mut t)?;
            let x: Vec<f32> = f.iter().map(|&v| fmt.to_f64(i64::from(v)) as f32).collect();
            let mut ft = StepTrace::default();
            twin.step_traced(&x, &mut ft);
            float_answer.push(twin.logits(), twin.class());
            dev = dev.max(Deviation::of_step(&model, &t, &ft));
        }
        heard.push(Heard {
            recording: (*name).to_string(),
            spoken: d,
            frames: seq.len(),
            reference_class: reference.answer(),
            float_class: float_answer.class().unwrap_or(twin.class()),
            design_class: None,
        });
    }
    let n_sim = a.sim_recordings.min(sequences.len());
    let simulation = simulate(
        &model,
        &accel,
        &sequences[..n_sim],
        &EngineSetup::native(!a.json),
    )?;
    for (h, &c) in heard.iter_mut().zip(&simulation.check.answers) {
        h.design_class = c;
    }
    let rep = SpeechDemoReport {
        model_origin: ORIGIN,
        model: summarize(&model),
        accelerator_cycles_per_frame: accel.cycles_per_frame(),
        accelerator_frame_latency_us: accel.estimate.frame_latency_us,
        reference_right: heard
            .iter()
            .filter(|h| h.reference_class == h.spoken)
            .count(),
        class_agreement: heard
            .iter()
            .filter(|h| h.reference_class == h.float_class)
            .count(),
        recordings: heard,
        max_deviation: dev,
        simulation,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        print_human(&rep, &accel, n_sim);
    }
    if !rep.simulation.check.mismatches.is_empty() {
        bail!("the simulated design differs from the reference");
    }
    Ok(())
}

fn print_human(rep: &SpeechDemoReport, accel: &AcceleratorSpec, n_sim: usize) {
    println!("lstm-accel demo: spoken digits through a compressed LSTM, bit-exact");
    println!("model {ORIGIN}");
    print_summary(&rep.model);
    print_spec(accel);
    println!("speech: the ten digits spoken by espeak-ng (synthetic, not the training voices)");
    for h in &rep.recordings {
        let design = h
            .design_class
            .map_or_else(|| "-".to_string(), |c| c.to_string());
        let mark = if h.reference_class == h.spoken {
            ""
        } else {
            "  (wrong)"
        };
        println!(
            "  {:12} {:3} frames: reference {}, float twin {}, design {design}{mark}",
            h.recording, h.frames, h.reference_class, h.float_class
        );
    }
    println!(
        "reference right on {}/10; float twin agrees on {}/10; max |dev| cell {:.4}, hidden {:.4}, logits {:.4}",
        rep.reference_right,
        rep.class_agreement,
        rep.max_deviation.cell,
        rep.max_deviation.hidden,
        rep.max_deviation.logits
    );
    println!(
        "generated design, cycle-accurate (native engine), {} recording{} streamed through the host driver (right: {}/{n_sim}):",
        if n_sim == 10 { "all ten".to_string() } else { n_sim.to_string() },
        if n_sim == 1 { "" } else { "s" },
        rep.recordings
            .iter()
            .filter(|h| h.design_class == Some(h.spoken as u32))
            .count(),
    );
    print_report(&rep.simulation);
}
