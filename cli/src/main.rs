//! `lstm-accel`: the command line of the compressed-LSTM accelerator
//! generator. Each subcommand prints a human report, or JSON with `--json`;
//! each is a module of the `lstm_accel_cli` library, with its argument
//! struct beside it.

use anyhow::Result;
use clap::{Parser, Subcommand};
use lstm_accel_cli::{
    demo, difftest_cmd, eval, generate, import, listen_cmd, perf_report, report, run_cmd, simulate,
    spec_cmd, synth, train_args, train_cmd, virtual_board_cmd,
};

/// Generator of FPGA accelerators for compressed LSTM networks.
#[derive(Parser)]
#[command(name = "lstm-accel", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the main job on the defaults shipped with the tool.
    Demo(demo::DemoArgs),
    /// Describes a model file: layers, encodings, weight bits, datapath widths.
    Info(report::InfoArgs),
    /// Runs the bit-exact reference model on frames.
    Reference(report::ReferenceArgs),
    /// Maximum error of every sigmoid/tanh approximation, computed over the
    /// whole input domain.
    Activations(report::ActivationArgs),
    /// Derives the accelerator spec: memory map, schedule, predicted cycles.
    Spec(spec_cmd::SpecArgs),
    /// Imports a PyTorch LSTM state dict (safetensors) and quantizes it.
    Import(import::ImportArgs),
    /// Writes the accelerator's Verilog, spec and memory images.
    Generate(generate::GenerateArgs),
    /// Runs the generated design cycle-accurately and cross-checks it
    /// against the reference.
    Simulate(simulate::SimulateArgs),
    /// Differential testing at scale: random models of every encoding with
    /// random inputs in every engine against the reference; a failing case
    /// is shrunk and written to disk.
    Difftest(difftest_cmd::DifftestArgs),
    /// Synthesises, places and routes the accelerator with the open FPGA
    /// flow and writes its bitstream and a resource and timing report.
    Synth(synth::SynthArgs),
    /// Runs the model on a board (or a virtual board) over its serial line
    /// and cross-checks it against the reference.
    Run(run_cmd::RunArgs),
    /// Listens to a long recording (or raw PCM on standard input): finds
    /// each word, runs it through the accelerator with the cross-check, and
    /// prints each digit with its start time.
    Listen(listen_cmd::ListenArgs),
    /// Runs the serial design (the board top less its PLL and pins) in a
    /// simulator behind a pseudo-terminal, as a board to test host software
    /// against.
    VirtualBoard(virtual_board_cmd::VirtualBoardArgs),
    /// Trains the float LSTM classifier on FSDD (spoken digits) and
    /// reports its accuracy per split.
    Train(Box<train_args::TrainArgs>),
    /// Measures model files on FSDD: bit-exact accuracy, confusion, weight
    /// bits, compression; optionally on the simulated accelerator, and a
    /// plot of accuracy against weight bits.
    Eval(eval::EvalArgs),
    /// The performance report: software and simulation speed, cycles per
    /// frame against lanes, resources and Fmax on iCE40 and ECP5, latency
    /// per frame; JSON and SVG plots.
    Report(perf_report::ReportArgs),
}

fn main() {
    let cli = Cli::parse();
    let result: Result<()> = match cli.command {
        Command::Demo(a) => demo::run(&a),
        Command::Info(a) => report::info(&a),
        Command::Reference(a) => report::reference(&a),
        Command::Activations(a) => report::activations(&a),
        Command::Import(a) => import::run(&a),
        Command::Spec(a) => spec_cmd::run(&a),
        Command::Generate(a) => generate::run(&a),
        Command::Simulate(a) => simulate::run(&a),
        Command::Difftest(a) => difftest_cmd::run(&a),
        Command::Synth(a) => synth::run(&a),
        Command::Run(a) => run_cmd::run(&a),
        Command::Listen(a) => listen_cmd::run(&a),
        Command::VirtualBoard(a) => virtual_board_cmd::run(&a),
        Command::Train(a) => train_cmd::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Report(a) => perf_report::run(&a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
