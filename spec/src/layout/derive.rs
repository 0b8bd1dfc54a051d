//! Deriving a layout from a model: banks, regions, phases, per-layer
//! constants, factor passes and tap places.

use super::*;
use crate::error::SpecError;
use crate::target::Target;
use lstm_accel_model::encoding::{Dense, Matrix, ScalarCode};
use lstm_accel_model::fixed::{unsigned_bits, Format};
use lstm_accel_model::model::{Head, Model};

/// Widest exact intermediate `t = V x` of a low-rank matrix.
const MAX_FACTOR_BITS: u32 = 32;

/// Largest row shift a row-shift entry holds.
const ROW_SHIFT_BITS: u32 = 5;

fn align(acc_frac: i32, frac: i32, what: &str) -> Result<u32, SpecError> {
    u32::try_from(acc_frac - frac).map_err(|_| {
        SpecError::Config(format!(
            "{what}: fraction {frac} is finer than its sum's {acc_frac} (the model's datapath is inconsistent)"
        ))
    })
}

/// The dense code matrices of a matrix as the hardware holds them: a dense
/// matrix itself; a low-rank one's `U`, then its `V`.
pub fn code_matrices(m: &Matrix) -> Vec<&Dense> {
    match m {
        Matrix::Dense(d) => vec![d],
        Matrix::LowRank(lr) => vec![&lr.u, &lr.v],
        _ => Vec::new(),
    }
}

/// The tap memory as it is allocated: the modes seen, words and slots.
#[derive(Default)]
struct Taps {
    modes: Vec<ConvMode>,
    words: usize,
    slots: usize,
}

impl Taps {
    /// Places `block_rows` block rows of `block_row_words` tap words, each
    /// of `groups` blocks of `mode`; `data` is the rows' data offset
    /// (stride, period, wrap).
    fn alloc(
        &mut self,
        mode: ConvMode,
        groups: usize,
        block_rows: usize,
        block_row_words: usize,
        words_per_tap: usize,
        data: (usize, usize, usize),
    ) -> ConvLayout {
        let index = match self.modes.iter().position(|&x| x == mode) {
            Some(i) => i,
            None => {
                self.modes.push(mode);
                self.modes.len() - 1
            }
        };
        self.slots = self.slots.max(groups * mode.params());
        let c = ConvLayout {
            mode: index + 1,
            block: mode.block,
            toeplitz: mode.toeplitz,
            taps_base: self.words,
            block_row_words,
            words_per_tap,
            data_stride: data.0,
            data_period: data.1,
            data_wrap: data.2,
        };
        self.words += block_rows * block_row_words;
        c
    }
}

/// The phase numbering of [`Layout::phases`], computed from the model: the
/// phase of every factor pass and projection, in the order they are numbered.
struct PhaseCounter {
    next: usize,
}

impl PhaseCounter {
    fn take(&mut self) -> usize {
        self.next += 1;
        self.next - 1
    }
}

/// A code matrix with its matrix id.
#[derive(Clone, Debug)]
pub struct IdMatrix<'a> {
    /// Matrix id.
    pub id: usize,
    /// Tensor path.
    pub name: String,
    /// Its scalar code.
    pub code: &'a ScalarCode,
    /// The matrix, when it is dense (row scales).
    pub dense: Option<&'a Dense>,
}

impl<'a> IdMatrix<'a> {
    fn dense(id: usize, name: String, d: &'a Dense) -> Self {
        IdMatrix {
            id,
            name,
            code: &d.values.code,
            dense: Some(d),
        }
    }
}

/// The model's dense code matrices with their ids as the sequencer numbers
/// them (see [`Layout::matrix_ids`]) and their tensor paths: a low-rank
/// matrix's `U` (`<tensor>.u`) has the matrix's id, its `V` (`<tensor>.v`)
/// its factor pass's.
pub fn matrices_by_id(model: &Model) -> Vec<IdMatrix<'_>> {
    let nl = model.layers.len();
    let light = matches!(model.head, Head::LightRnn(_));
    let mut ph = PhaseCounter {
        next: nl + 1 + usize::from(light),
    };
    let mut v = Vec::new();
    fn add<'a>(
        v: &mut Vec<IdMatrix<'a>>,
        ph: &mut PhaseCounter,
        id: Option<usize>,
        name: String,
        m: &'a Matrix,
    ) -> Option<usize> {
        match m {
            Matrix::LowRank(lr) => {
                let f = ph.take();
                v.push(IdMatrix::dense(2 * f, format!("{name}.v"), &lr.v));
                if let Some(id) = id {
                    v.push(IdMatrix::dense(id, format!("{name}.u"), &lr.u));
                }
                Some(f)
            }
            Matrix::Dense(d) => {
                if let Some(id) = id {
                    v.push(IdMatrix::dense(id, name, d));
                }
                None
            }
            Matrix::BlockToeplitz(b) | Matrix::BlockCirculant(b) => {
                if let Some(id) = id {
                    v.push(IdMatrix {
                        id,
                        name,
                        code: &b.values.code,
                        dense: None,
                    });
                }
                None
            }
            // The first pass's h codes have its phase's id, the rows' g
            // codes the matrix's.
            Matrix::ToeplitzLike(t) => {
                let f = ph.take();
                v.push(IdMatrix {
                    id: 2 * f,
                    name: format!("{name}.h"),
                    code: &t.h.code,
                    dense: None,
                });
                if let Some(id) = id {
                    v.push(IdMatrix {
                        id,
                        name: format!("{name}.g"),
                        code: &t.g.code,
                        dense: None,
                    });
                }
                Some(f)
            }
        }
    }
    let mut heads = Vec::new();
    for (l, x) in model.layers.iter().enumerate() {
        add(
            &mut v,
            &mut ph,
            Some(2 * l),
            format!("layers[{l}].w_x"),
            &x.w_x,
        );
        add(
            &mut v,
            &mut ph,
            Some(2 * l + 1),
            format!("layers[{l}].w_h"),
            &x.w_h,
        );
        if let Some(p) = &x.projection {
            // The factor pass is numbered before the projection's own phase.
            let name = format!("layers[{l}].projection");
            match &p.w {
                Matrix::LowRank(lr) => {
                    let f = ph.take();
                    let own = ph.take();
                    v.push(IdMatrix::dense(2 * f, format!("{name}.v"), &lr.v));
                    v.push(IdMatrix::dense(2 * own, format!("{name}.u"), &lr.u));
                }
                Matrix::ToeplitzLike(t) => {
                    let f = ph.take();
                    let own = ph.take();
                    for (id, part, code) in [(2 * f, "h", &t.h.code), (2 * own, "g", &t.g.code)] {
                        v.push(IdMatrix {
                            id,
                            name: format!("{name}.{part}"),
                            code,
                            dense: None,
                        });
                    }
                }
                m => {
                    let own = ph.take();
                    add(&mut v, &mut ph, Some(2 * own), name, m);
                }
            }
        }
    }
    let names = match &model.head {
        Head::Dense(_) => vec!["head.w"],
        Head::LightRnn(_) => vec!["head.row_w", "head.col_w"],
    };
    for (i, (m, name)) in model.head.matrices().into_iter().zip(names).enumerate() {
        heads.push((2 * nl + 2 * i, name, m));
    }
    for (id, name, m) in heads {
        add(&mut v, &mut ph, Some(id), name.to_string(), m);
    }
    v
}

/// Banks, regions and per-layer constants of `model`'s design for `target`
/// with `engines` row engines of `lanes` lanes, `code_bits`-bit weight
/// slots and `weight_words` weight words.
pub fn derive_layout(
    model: &Model,
    target: Target,
    lanes: usize,
    engines: usize,
    code_bits: u32,
    weight_words: usize,
) -> Result<Layout, SpecError> {
    let engines = engines.max(1);
    let groups = |rows: usize| rows.div_ceil(engines);
    let dp = model.datapath();
    let lanes_per_bank = (STREAM_BITS / code_bits) as usize;
    let nl = model.layers.len();
    let light = usize::from(matches!(model.head, Head::LightRnn(_)));
    let ids = matrices_by_id(model);
    let mut codebooks = vec![false; ids.iter().map(|x| x.id + 2).max().unwrap_or(0)];
    let mut lane_code_bits = code_bits;
    // With a codebook that is not all powers of two the lanes multiply: every
    // lane input is then a weight value, as wide as the widest weight.
    let mut lane_values = false;
    let mut value_bits = 2u32;
    let mut max_row_shift = 0u32;
    let mut row_shifts = false;
    for m in &ids {
        value_bits = value_bits.max(unsigned_bits(m.code.max_abs_raw()) + 1);
        if let ScalarCode::Codebook { width, pow2, .. } = *m.code {
            codebooks[m.id] = true;
            lane_values |= !pow2;
            lane_code_bits = lane_code_bits.max(codebook_lane_bits(width));
        }
        if let Some(d) = m.dense {
            row_shifts |= d.row_exp.is_some();
            for r in 0..d.rows {
                max_row_shift = max_row_shift.max(d.row_shift(r));
            }
        }
    }
    if lane_values {
        lane_code_bits = value_bits;
    }
    if max_row_shift >= 1 << ROW_SHIFT_BITS {
        return Err(SpecError::Config(format!(
            "a row scale spans {max_row_shift} powers of two, the row-shift memory holds at most {}",
            (1 << ROW_SHIFT_BITS) - 1
        )));
    }
    let input_words = model.input.size.div_ceil(lanes);
    // A Toeplitz-like first pass reads whole k-blocks of its vector: every
    // vector region is padded to whole blocks of every such k, and the
    // padding, never written, reads as zero.
    let quanta: Vec<usize> = model
        .matrices()
        .iter()
        .filter_map(|(_, m)| match m {
            Matrix::ToeplitzLike(t) => Some((t.block / lanes).max(1)),
            _ => None,
        })
        .collect();
    let pad = |words: usize| {
        quanta
            .iter()
            .map(|q| words.div_ceil(*q) * q)
            .max()
            .unwrap_or(words)
    };
    let mut next = pad(input_words);
    let (mut cell_base, mut row) = (0usize, 0usize);
    let mut ph = PhaseCounter {
        next: nl + 1 + light,
    };
    let mut tp = Taps::default();
    // A factor pass of `m` (low-rank, or a Toeplitz-like matrix's first
    // pass) reading a vector of format `v` in `words` words: its phase,
    // scratch buffer and rows.
    let factor = |m: &Matrix,
                  v: Format,
                  words: usize,
                  tensor: &str,
                  (ph, next, row, tp): (&mut PhaseCounter, &mut usize, &mut usize, &mut Taps)|
     -> Result<Option<FactorLayout>, SpecError> {
        let (bound, frac, rank, row_words, conv, read) = match m {
            Matrix::LowRank(lr) => (
                lr.mid_row_bound() * v.max_abs_raw(),
                v.frac + lr.v.frac(),
                lr.rank(),
                words,
                None,
                None,
            ),
            Matrix::ToeplitzLike(t) => {
                let k = t.block;
                if k % lanes != 0 {
                    return Err(SpecError::Unsupported {
                        tensor: tensor.into(),
                        encoding: format!(
                            "{} on {lanes} lanes (the lanes must divide the block size)",
                            m.describe()
                        ),
                    });
                }
                if !matches!(
                    t.h.code,
                    ScalarCode::Ternary { .. } | ScalarCode::Pow2 { .. }
                ) {
                    return Err(SpecError::Unsupported {
                        tensor: format!("{tensor}.h"),
                        encoding: "a Toeplitz-like matrix with a codebook h (its skew-circulant blocks negate codes; h must be ternary or power-of-two)".into(),
                    });
                }
                let (br, bc, r) = (t.rows.div_ceil(k), t.cols.div_ceil(k), t.rank);
                let per = k / lanes;
                // u_{bi,bj,i} = Z-1(h) x_bj: a skew-circulant block row per
                // (bi, bj, i), reading block column bj of v only.
                let c = tp.alloc(
                    ConvMode {
                        block: k,
                        toeplitz: false,
                        skew: true,
                    },
                    1,
                    br * bc * r,
                    1,
                    per,
                    (per, r, bc),
                );
                (
                    k as u128 * t.h.code.max_abs_raw() * v.max_abs_raw(),
                    v.frac + t.h.code.frac(),
                    br * bc * r * k,
                    per,
                    Some(c),
                    Some(bc * r * per),
                )
            }
            _ => return Ok(None),
        };
        let width = 128 - bound.leading_zeros() + 1;
        if width > MAX_FACTOR_BITS {
            return Err(SpecError::Config(format!(
                "{tensor}: the exact intermediate needs {width} bits, the data memory holds at most {MAX_FACTOR_BITS}"
            )));
        }
        let f = FactorLayout {
            phase: ph.take(),
            rank,
            words: row_words,
            scratch: *next,
            row_base: *row,
            format: Format::new(width, frac),
            lanes,
            conv,
            read_words: read.unwrap_or(rank.div_ceil(lanes)),
        };
        *next += f.t_words();
        *row += groups(f.rank);
        Ok(Some(f))
    };
    // The taps of a structured matrix: its place in the tap memory.
    let conv = |m: &Matrix, tensor: &str, tp: &mut Taps| -> Result<Option<ConvLayout>, SpecError> {
        let (b, toeplitz) = match m {
            Matrix::BlockToeplitz(b) => (b, true),
            Matrix::BlockCirculant(b) => (b, false),
            // Its rows: block-circulant over u, a block row's part of u each.
            Matrix::ToeplitzLike(t) => {
                let k = t.block;
                let (br, bc, per) = (t.rows.div_ceil(k), t.cols.div_ceil(k), k / lanes);
                let mode = ConvMode {
                    block: k,
                    toeplitz: false,
                    skew: false,
                };
                let d = bc * t.rank * per;
                return Ok(Some(tp.alloc(mode, 1, br, bc * t.rank, per, (d, 1, 0))));
            }
            _ => return Ok(None),
        };
        let k = b.block;
        if k % lanes != 0 && lanes % k != 0 {
            return Err(SpecError::Unsupported {
                tensor: tensor.into(),
                encoding: format!(
                    "{} with {k}x{k} blocks on {lanes} lanes (the lanes must divide the block size or be a multiple of it)",
                    m.describe()
                ),
            });
        }
        let mode = ConvMode {
            block: k,
            toeplitz,
            skew: false,
        };
        let (groups, block_row_words, words_per_tap) = if k <= lanes {
            (lanes / k, b.cols.div_ceil(lanes), 1)
        } else {
            (1, b.cols.div_ceil(k), k / lanes)
        };
        Ok(Some(tp.alloc(
            mode,
            groups,
            b.rows.div_ceil(k),
            block_row_words,
            words_per_tap,
            (0, 1, 0),
        )))
    };
    let mut layers = Vec::with_capacity(nl);
    let mut x_words = input_words;
    let mut x_fmt = model.input.format;
    for (i, (l, d)) in model.layers.iter().zip(&dp.layers).enumerate() {
        let outputs = l.output_size();
        let h_words = outputs.div_ceil(lanes);
        let at = |what: &str| format!("layers[{i}].{what}");
        let h_buffers = [next, next + pad(h_words)];
        next += 2 * pad(h_words);
        let x_factor = factor(
            &l.w_x,
            x_fmt,
            x_words,
            &at("w_x"),
            (&mut ph, &mut next, &mut row, &mut tp),
        )?;
        let h_factor = factor(
            &l.w_h,
            l.output_format(),
            h_words,
            &at("w_h"),
            (&mut ph, &mut next, &mut row, &mut tp),
        )?;
        let row_base = row;
        row += 4 * groups(l.hidden);
        let projection = match (&l.projection, d.projection) {
            (Some(p), Some(acc)) => {
                let words = l.hidden.div_ceil(lanes);
                let scratch = next;
                next += pad(words);
                let pf = factor(
                    &p.w,
                    l.formats.hidden,
                    words,
                    &at("projection"),
                    (&mut ph, &mut next, &mut row, &mut tp),
                )?;
                let x = ProjectionLayout {
                    conv: conv(&p.w, &at("projection"), &mut tp)?,
                    phase: ph.take(),
                    rows: outputs,
                    words,
                    factor: pf,
                    scratch,
                    row_base: row,
                    align: align(
                        acc.frac,
                        l.formats.hidden.frac + p.w.frac(),
                        &at("projection"),
                    )?,
                    acc_frac: acc.frac,
                    format: p.format,
                };
                row += groups(outputs);
                Some(x)
            }
            _ => None,
        };
        layers.push(LayerLayout {
            hidden: l.hidden,
            x_words,
            h_words,
            outputs,
            h_buffers,
            cell_base,
            row_base,
            align_x: align(d.gate.frac, d.input.frac + l.w_x.frac(), &at("w_x"))?,
            align_h: align(d.gate.frac, d.recurrent.frac + l.w_h.frac(), &at("w_h"))?,
            align_bias: align(d.gate.frac, l.bias.format.frac, &at("bias"))?,
            acc_frac: d.gate.frac,
            preact: l.formats.preact,
            projection,
            x_factor,
            h_factor,
            x_conv: conv(&l.w_x, &at("w_x"), &mut tp)?,
            h_conv: conv(&l.w_h, &at("w_h"), &mut tp)?,
        });
        cell_base += l.hidden;
        x_words = h_words;
        x_fmt = l.output_format();
    }
    let feat = model.feature_format();
    let feat_words = model.feature_size().div_ceil(lanes);
    let head = match &model.head {
        Head::Dense(h) => {
            let acc = dp.head[0];
            let f = factor(
                &h.w,
                feat,
                feat_words,
                "head.w",
                (&mut ph, &mut next, &mut row, &mut tp),
            )?;
            let row_base = row;
            row += groups(h.w.rows());
            HeadLayout {
                rows: h.w.rows(),
                words: feat_words,
                row_base,
                align: align(acc.frac, feat.frac + h.w.frac(), "head.w")?,
                align_bias: align(acc.frac, h.bias.format.frac, "head.bias")?,
                acc_frac: acc.frac,
                logits: h.logits,
                factor: f,
                conv: conv(&h.w, "head.w", &mut tp)?,
                light_rnn: None,
            }
        }
        Head::LightRnn(h) => {
            let (racc, cacc) = (dp.head[0], dp.head[1]);
            let cells = h.table.len();
            let f = factor(
                &h.row_w,
                feat,
                feat_words,
                "head.row_w",
                (&mut ph, &mut next, &mut row, &mut tp),
            )?;
            let row_base = row;
            row += groups(h.rows());
            let cf = factor(
                &h.col_w,
                feat,
                feat_words,
                "head.col_w",
                (&mut ph, &mut next, &mut row, &mut tp),
            )?;
            row += groups(h.cols());
            HeadLayout {
                rows: h.rows() + h.cols(),
                words: feat_words,
                row_base,
                align: align(racc.frac, feat.frac + h.row_w.frac(), "head.row_w")?,
                align_bias: align(racc.frac, h.row_bias.format.frac, "head.row_bias")?,
                acc_frac: racc.frac,
                logits: h.logits,
                factor: f,
                conv: conv(&h.row_w, "head.row_w", &mut tp)?,
                light_rnn: Some(LightRnnLayout {
                    rows: h.rows(),
                    cols: h.cols(),
                    align: align(cacc.frac, feat.frac + h.col_w.frac(), "head.col_w")?,
                    align_bias: align(cacc.frac, h.col_bias.format.frac, "head.col_bias")?,
                    acc_frac: cacc.frac,
                    // Classes 0..cells and -1, signed.
                    class_width: crate::datapath::ram::address_width(cells) as u32,
                    factor: cf,
                    conv: conv(&h.col_w, "head.col_w", &mut tp)?,
                }),
            }
        }
    };
    // One flag per matrix id: two per phase.
    codebooks.resize(2 * ph.next, false);
    let data_width = model
        .layers
        .iter()
        .flat_map(|l| [l.output_format().width, l.formats.hidden.width])
        .chain([model.input.format.width])
        .max()
        .unwrap_or(16);
    let acc_width = dp
        .layers
        .iter()
        .flat_map(|d| [Some(d.gate.bits), d.projection.map(|p| p.bits)])
        .flatten()
        .chain(dp.head.iter().map(|a| a.bits))
        .max()
        .unwrap_or(16);
    let bias_width = model
        .layers
        .iter()
        .map(|l| l.bias.format.width)
        .chain(match &model.head {
            Head::Dense(h) => vec![h.bias.format.width],
            Head::LightRnn(h) => vec![h.row_bias.format.width, h.col_bias.format.width],
        })
        .max()
        .unwrap_or(16);
    let tap_per_bank = tap_slots_per_bank(target, tp.slots, code_bits, tp.words);
    let mut lay = Layout {
        lanes,
        engines,
        code_bits,
        lane_code_bits,
        codebooks,
        lane_values,
        lanes_per_bank,
        weight_banks: engines * lanes.div_ceil(lanes_per_bank),
        tap_slots_per_bank: tap_per_bank,
        tap_banks: tp.slots.div_ceil(tap_per_bank),
        conv_modes: tp.modes,
        tap_words: tp.words,
        tap_slots: tp.slots,
        weight_words,
        data_width,
        data_words: next,
        input_size: model.input.size,
        input_words,
        input: model.input.format,
        cells: cell_base,
        cell_width: model
            .layers
            .iter()
            .map(|l| l.formats.cell.width)
            .max()
            .unwrap_or(16),
        rows: row,
        bias_width,
        row_shifts,
        row_shift_bits: ROW_SHIFT_BITS,
        acc_width,
        layers,
        head,
    };
    check_engines(&lay)?;
    // The data memory and the accumulator also hold every exact factor
    // intermediate t.
    let t_bits = lay.factors().iter().map(|f| f.format.width).max();
    if let Some(t) = t_bits {
        lay.data_width = lay.data_width.max(t);
        lay.acc_width = lay.acc_width.max(t);
    }
    Ok(lay)
}

/// Slots per tap bank word: of the bank widths up to one stream word, the
/// one whose banks take the fewest of `target`'s block RAMs at `depth`
/// words, then the fewest banks. A tap word is rarely a multiple of a block
/// RAM's width (31 two-bit codes for k = 16); split into full stream words
/// its banks round up separately (32 + 30 bits take 4 + 4 ECP5 blocks at
/// 2K x 9), while banks of a multiple of the block width lose at most the
/// last one's rounding (18 + 18 + 18 + 8 bits: 2 + 2 + 2 + 1).
fn tap_slots_per_bank(target: Target, slots: usize, code_bits: u32, depth: usize) -> usize {
    let most = (STREAM_BITS / code_bits) as usize;
    if slots == 0 {
        return most;
    }
    let blocks = |per: usize| -> (u32, usize) {
        let banks = slots.div_ceil(per);
        let total = (0..banks)
            .map(|b| {
                let bits = ((slots - b * per).min(per) as u32) * code_bits;
                target.bram_blocks_for(depth.max(1), bits)
            })
            .sum();
        (total, banks)
    };
    (1..=most.min(slots))
        .rev()
        .min_by_key(|&per| blocks(per))
        .unwrap_or(most)
}

/// With several row engines, a row group must lie in one block row of every
/// structured matrix (the engines share its tap word): the engines divide
/// the block size, and a layer's cells (each gate's rows start at a
/// multiple of the cells).
fn check_engines(lay: &Layout) -> Result<(), SpecError> {
    let e = lay.engines;
    if e <= 1 {
        return Ok(());
    }
    let refuse = |what: String| Err(SpecError::Config(what));
    for (i, l) in lay.layers.iter().enumerate() {
        if (l.x_conv.is_some() || l.h_conv.is_some()) && l.hidden % e != 0 {
            return refuse(format!(
                "layers[{i}] has a structured matrix and {} cells, which {e} row engines do not divide (a row group must lie in one block row)",
                l.hidden
            ));
        }
    }
    let convs = lay
        .layers
        .iter()
        .flat_map(|l| {
            [
                l.x_conv.as_ref(),
                l.h_conv.as_ref(),
                l.projection.as_ref().and_then(|p| p.conv.as_ref()),
            ]
        })
        .chain([
            lay.head.conv.as_ref(),
            lay.head.light_rnn.as_ref().and_then(|c| c.conv.as_ref()),
        ])
        .chain(lay.factors().into_iter().map(|f| f.conv.as_ref()))
        .flatten();
    for c in convs {
        if c.block % e != 0 {
            return refuse(format!(
                "{e} row engines with {k}x{k} structured blocks: the engines must divide the block size (a row group shares one tap word)",
                k = c.block
            ));
        }
    }
    Ok(())
}
