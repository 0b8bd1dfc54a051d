//! Packs a model's weights into the memory images of its accelerator spec.
//!
//! The spec's memory map is the only authority on layout: weight words in the
//! order the MAC array reads them (per layer, cell-major, gates i, f, g, o;
//! each row's input words then recurrent words; then projection rows; then
//! head rows), lane `k` of a word holding column `word * lanes + k` in bits
//! `[k * code_bits, (k + 1) * code_bits)`, as [`ScalarCode::stored_in`] encodes
//! it in the slot's width; columns past a row's end are zero codes. Row shifts (per-row scales)
//! and biases follow the same row order. [`unpack_weights`] inverts the weight
//! image, so a test can prove the layout round-trips.

use bitvec::prelude::*;
use lstm_accel_model::encoding::{Dense, Matrix, ScalarCode};
use lstm_accel_model::fixed::{sext, Format};
use lstm_accel_model::model::{Head, Model};
use lstm_accel_spec::layout::{
    matrices_by_id, ConvLayout, FactorOf, Layout, Phase, CODEBOOK_ENTRIES,
};
use lstm_accel_spec::spec::{AcceleratorSpec, MatrixMap};

/// One memory's contents, word by word (bit 0 = LSB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryImage {
    /// The spec memory it fills.
    pub name: String,
    /// Bits per word.
    pub width: u32,
    /// Words.
    pub words: Vec<BitVec<u64, Lsb0>>,
}

impl MemoryImage {
    fn new(name: &str, width: u32) -> Self {
        MemoryImage {
            name: name.into(),
            width,
            words: Vec::new(),
        }
    }

    /// The image as `$readmemh` text: one word per line, most significant
    /// digit first.
    pub fn to_readmemh(&self) -> String {
        let digits = self.width.div_ceil(4) as usize;
        let mut out = String::with_capacity(self.words.len() * (digits + 1));
        for w in &self.words {
            for d in (0..digits).rev() {
                let lo = d * 4;
                let hi = (lo + 4).min(w.len());
                let nibble: u8 = w[lo..hi].load_le();
                out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
            }
            out.push('\n');
        }
        out
    }
}

/// Why a model cannot be packed into a spec.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The spec was derived from a different model.
    #[error("the spec does not describe this model: {0}")]
    Mismatch(String),
    /// A value does not fit its memory word.
    #[error("{tensor}: {what}")]
    DoesNotFit {
        /// Tensor path.
        tensor: String,
        /// What.
        what: String,
    },
}

/// The dense code matrices a matrix's rows use in the hardware: a dense
/// matrix's own, a low-rank one's `U` (its `V` runs in the factor pass);
/// none for a structured matrix (its codes are in the tap memory).
fn row_codes<'a>(m: &'a Matrix, map: &MatrixMap) -> Result<Option<&'a Dense>, PackError> {
    match m {
        Matrix::Dense(d) if d.rows == map.rows && d.cols == map.cols => Ok(Some(d)),
        Matrix::LowRank(lr) if lr.u.rows == map.rows && lr.v.cols == map.cols => Ok(Some(&lr.u)),
        Matrix::BlockToeplitz(b) | Matrix::BlockCirculant(b)
            if b.rows == map.rows && b.cols == map.cols =>
        {
            Ok(None)
        }
        Matrix::ToeplitzLike(t) if t.rows == map.rows && t.cols == map.cols => Ok(None),
        other => Err(PackError::Mismatch(format!(
            "{} is {} in the model, a {}x{} matrix in the spec",
            map.tensor,
            other.describe(),
            map.rows,
            map.cols
        ))),
    }
}

/// The `V` factor of a low-rank matrix.
/// The `V` factor of a low-rank matrix; none for a Toeplitz-like one (its
/// first pass's codes are in the tap memory).
fn factor_codes<'a>(m: &'a Matrix, tensor: &str) -> Result<Option<&'a Dense>, PackError> {
    match m {
        Matrix::LowRank(lr) => Ok(Some(&lr.v)),
        Matrix::ToeplitzLike(_) => Ok(None),
        other => Err(PackError::Mismatch(format!(
            "{tensor} is {} in the model, low-rank or Toeplitz-like in the spec",
            other.describe()
        ))),
    }
}

/// The words of row `r` of `d`, `lanes` codes of `code_bits` each (none
/// for a structured part).
fn row_words(
    d: Option<&Dense>,
    r: usize,
    lanes: usize,
    code_bits: usize,
) -> Vec<BitVec<u64, Lsb0>> {
    let Some(d) = d else {
        return Vec::new();
    };
    let code: &ScalarCode = &d.values.code;
    let row = &d.values.codes[r * d.cols..(r + 1) * d.cols];
    row.chunks(lanes)
        .map(|chunk| {
            let mut w = bitvec![u64, Lsb0; 0; lanes * code_bits];
            for (k, &c) in chunk.iter().enumerate() {
                w[k * code_bits..(k + 1) * code_bits].store_le(code.stored_in(c, code_bits as u32));
            }
            w
        })
        .collect()
}

fn push_int(img: &mut MemoryImage, v: i64) {
    let mut w = bitvec![u64, Lsb0; 0; img.width as usize];
    let width = img.width as usize;
    w[..width.min(64)].store_le(v as u64);
    img.words.push(w);
}

/// One row as the memories hold it.
struct RowItem {
    /// Its weight words (none for structured parts).
    words: Vec<BitVec<u64, Lsb0>>,
    /// Its row-shift entry.
    shift: i64,
    /// Its bias.
    bias: i64,
}

/// The weight, row-shift and bias images as they are filled, a row group at
/// a time: a weight word holds every row engine's codes (engine 0 in the
/// low bits), and the bias and row-shift images hold each address's entries
/// bank-minor, engine by engine, as they are streamed.
struct Packer {
    engines: usize,
    lanes: usize,
    code_bits: usize,
    has_shifts: bool,
    weights: MemoryImage,
    shifts: MemoryImage,
    biases: MemoryImage,
}

impl Packer {
    /// Appends a row group: one row (or padding) per engine.
    fn group(&mut self, items: &[Option<RowItem>]) {
        let slice = self.lanes * self.code_bits;
        let words = items
            .iter()
            .flatten()
            .map(|i| i.words.len())
            .max()
            .unwrap_or(0);
        for w in 0..words {
            let mut word = bitvec![u64, Lsb0; 0; self.weights.width as usize];
            for (e, item) in items.iter().enumerate() {
                if let Some(src) = item.as_ref().and_then(|i| i.words.get(w)) {
                    word[e * slice..(e + 1) * slice].copy_from_bitslice(src);
                }
            }
            self.weights.words.push(word);
        }
        for item in items {
            if self.has_shifts {
                push_int(&mut self.shifts, item.as_ref().map_or(0, |i| i.shift));
            }
            push_int(&mut self.biases, item.as_ref().map_or(0, |i| i.bias));
        }
    }

    /// Appends a pass of `rows` rows in row groups.
    fn pass(
        &mut self,
        rows: usize,
        mut item: impl FnMut(usize) -> Result<RowItem, PackError>,
    ) -> Result<(), PackError> {
        let e = self.engines;
        for g in 0..rows.div_ceil(e) {
            let items = (0..e)
                .map(|k| {
                    let r = g * e + k;
                    (r < rows).then(|| item(r)).transpose()
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.group(&items);
        }
        Ok(())
    }
}

/// The weight, row-shift and bias images of `model` laid out as `spec` says.
pub fn pack(model: &Model, spec: &AcceleratorSpec) -> Result<Vec<MemoryImage>, PackError> {
    if model.layers.len() != spec.layers.len() {
        return Err(PackError::Mismatch(format!(
            "{} layers in the model, {} in the spec",
            model.layers.len(),
            spec.layers.len()
        )));
    }
    let lanes = spec.hw.lanes;
    let cb = spec.code_bits as usize;
    let engines = spec.layout.engines.max(1);
    let has_shifts = spec.memories.iter().any(|m| m.name == "row_shifts");
    let bias_width = spec
        .memories
        .iter()
        .find(|m| m.name == "biases")
        .map_or(32, |m| m.width / engines as u32);
    let mut pk = Packer {
        engines,
        lanes,
        code_bits: cb,
        has_shifts,
        weights: MemoryImage::new("weights", spec.word_bits),
        shifts: MemoryImage::new("row_shifts", 10),
        biases: MemoryImage::new("biases", bias_width),
    };
    let bias = |tensor: &str, b: i32| {
        if Format::new(bias_width, 0).contains(i64::from(b)) {
            Ok(i64::from(b))
        } else {
            Err(PackError::DoesNotFit {
                tensor: tensor.to_string(),
                what: format!("bias {b} does not fit the {bias_width}-bit bias memory"),
            })
        }
    };
    let head_maps = &spec.head.matrices;
    let head = model.head.matrices();
    let head_biases: Vec<(&str, &[i32])> = match &model.head {
        Head::Dense(h) => vec![("head.bias", &h.bias.values)],
        Head::LightRnn(h) => vec![
            ("head.row_bias", &h.row_bias.values),
            ("head.col_bias", &h.col_bias.values),
        ],
    };
    if head.len() != head_maps.len() {
        return Err(PackError::Mismatch(format!(
            "{} head matrices in the model, {} in the spec",
            head.len(),
            head_maps.len()
        )));
    }
    // A row of `d` with a zero bias (a factor pass's, a projection's).
    let bias_free = |d: Option<&Dense>, r: usize| RowItem {
        words: row_words(d, r, lanes, cb),
        shift: i64::from(d.map_or(0, |d| d.row_shift(r))),
        bias: 0,
    };
    // Row groups in program order (the layout's), as the sequencer reads them.
    for ph in spec.layout.program() {
        match spec.layout.phase(ph) {
            Phase::Factor(of) => {
                let (m, tensor) = match of {
                    FactorOf::LayerX(l) => (&model.layers[l].w_x, &spec.layers[l].w_x.tensor),
                    FactorOf::LayerH(l) => (&model.layers[l].w_h, &spec.layers[l].w_h.tensor),
                    FactorOf::Projection(l) => {
                        match (&model.layers[l].projection, &spec.layers[l].projection) {
                            (Some(p), Some((pm, _))) => (&p.w, &pm.tensor),
                            _ => {
                                return Err(PackError::Mismatch(format!(
                                    "layers[{l}] has no projection"
                                )))
                            }
                        }
                    }
                    FactorOf::Head => (head[0], &head_maps[0].tensor),
                    FactorOf::Columns => match (head.get(1), head_maps.get(1)) {
                        (Some(m), Some(map)) => (*m, &map.tensor),
                        _ => return Err(PackError::Mismatch("the head has no columns".into())),
                    },
                };
                let v = factor_codes(m, tensor)?;
                let rows = spec.layout.factor(of).map_or(0, |f| f.rank);
                pk.pass(rows, |r| Ok(bias_free(v, r)))?;
            }
            Phase::Layer(li) => {
                let (l, ls) = (&model.layers[li], &spec.layers[li]);
                let (wx, wh) = (row_codes(&l.w_x, &ls.w_x)?, row_codes(&l.w_h, &ls.w_h)?);
                if pk.weights.words.len() != ls.weight_base {
                    return Err(PackError::Mismatch(format!(
                        "{} starts at word {} in the spec, {} when packed",
                        ls.w_x.tensor,
                        ls.weight_base,
                        pk.weights.words.len()
                    )));
                }
                let n = l.hidden;
                let tensor = ls.w_x.tensor.replace("w_x", "bias");
                // Cell groups; each gate's rows of the group's cells.
                for g in 0..n.div_ceil(engines) {
                    for q in 0..4 {
                        let items = (0..engines)
                            .map(|k| {
                                let j = g * engines + k;
                                if j >= n {
                                    return Ok(None);
                                }
                                let r = q * n + j;
                                let rs = |d: Option<&Dense>| d.map_or(0, |d| d.row_shift(r));
                                let mut words = row_words(wx, r, lanes, cb);
                                words.extend(row_words(wh, r, lanes, cb));
                                Ok(Some(RowItem {
                                    words,
                                    shift: i64::from(rs(wx) | (rs(wh) << 5)),
                                    bias: bias(&tensor, l.bias.values[r])?,
                                }))
                            })
                            .collect::<Result<Vec<_>, PackError>>()?;
                        pk.group(&items);
                    }
                }
            }
            Phase::Projection(l) => {
                if let (Some(p), Some((pm, _))) =
                    (&model.layers[l].projection, &spec.layers[l].projection)
                {
                    // Projection rows have no bias: zero entries keep the
                    // bias and row-shift memories in program order.
                    let d = row_codes(&p.w, pm)?;
                    pk.pass(pm.rows, |r| Ok(bias_free(d, r)))?;
                }
            }
            Phase::Head | Phase::Columns => {
                let i = usize::from(spec.layout.phase(ph) == Phase::Columns);
                let (m, map, (tensor, b)) =
                    match (head.get(i), head_maps.get(i), head_biases.get(i)) {
                        (Some(m), Some(map), Some(b)) => (*m, map, *b),
                        _ => return Err(PackError::Mismatch("the head has no columns".into())),
                    };
                let d = row_codes(m, map)?;
                let rows = map.rows.min(b.len());
                pk.pass(rows, |r| {
                    Ok(RowItem {
                        bias: bias(tensor, b[r])?,
                        ..bias_free(d, r)
                    })
                })?;
            }
        }
    }
    // A model whose matrices are all structured has one zero weight word.
    while pk.weights.words.len() < spec.layout.weight_words {
        push_int(&mut pk.weights, 0);
    }
    let mut out = vec![pk.weights];
    if has_shifts {
        out.push(pk.shifts);
    }
    out.push(pk.biases);
    if spec.layout.tap_words > 0 {
        out.push(tap_image(model, &spec.layout)?);
    }
    if spec.layout.has_codebooks() {
        out.push(codebook_tables(model, &spec.layout)?);
    }
    if let (Head::LightRnn(h), Some(l)) = (&model.head, &spec.layout.head.light_rnn) {
        // Classes and -1 (empty), sign-extended into the entry width.
        let mut table = MemoryImage::new("class_table", l.class_width);
        for &c in &h.table {
            push_int(&mut table, i64::from(c));
        }
        out.push(table);
    }
    Ok(out)
}

/// The tap image: every structured matrix's block codes at its
/// `taps_base`, a tap word per block row and MAC word (`L / k` blocks of
/// `P` codes side by side when k divides the lanes, else one block), as the
/// layout describes (`layout::ConvLayout`).
fn tap_image(model: &Model, lay: &Layout) -> Result<MemoryImage, PackError> {
    let cb = lay.code_bits as usize;
    let width = lay.tap_slots as u32 * lay.code_bits;
    let mut img = MemoryImage::new("taps", width);
    img.words = vec![bitvec![u64, Lsb0; 0; width as usize]; lay.tap_words];
    let head = model.head.matrices();
    // (matrix, its rows' taps, a Toeplitz-like matrix's first-pass taps)
    let mut parts: Vec<(&Matrix, &ConvLayout, Option<&ConvLayout>)> = Vec::new();
    fn first(f: &Option<lstm_accel_spec::layout::FactorLayout>) -> Option<&ConvLayout> {
        f.as_ref().and_then(|f| f.conv.as_ref())
    }
    for (l, x) in model.layers.iter().zip(&lay.layers) {
        parts.extend(x.x_conv.as_ref().map(|c| (&l.w_x, c, first(&x.x_factor))));
        parts.extend(x.h_conv.as_ref().map(|c| (&l.w_h, c, first(&x.h_factor))));
        if let (Some(p), Some(j)) = (&l.projection, &x.projection) {
            parts.extend(j.conv.as_ref().map(|c| (&p.w, c, first(&j.factor))));
        }
    }
    parts.extend(
        lay.head
            .conv
            .as_ref()
            .map(|c| (head[0], c, first(&lay.head.factor))),
    );
    if let (Some(m), Some(cl)) = (head.get(1), lay.head.light_rnn.as_ref()) {
        if let Some(c) = cl.conv.as_ref() {
            parts.push((*m, c, first(&cl.factor)));
        }
    }
    // k codes per tap word, block after block (a Toeplitz-like matrix's g
    // rows and h first pass: k <= lanes is refused for them).
    let blocks =
        |img: &mut MemoryImage, base: usize, v: &lstm_accel_model::encoding::Values, k: usize| {
            for (j, codes) in v.codes.chunks(k).enumerate() {
                let w = &mut img.words[base + j];
                for (i, &code) in codes.iter().enumerate() {
                    w[i * cb..(i + 1) * cb].store_le(v.code.stored_in(code, cb as u32));
                }
            }
        };
    for (m, c, pass1) in parts {
        if let Matrix::ToeplitzLike(t) = m {
            blocks(&mut img, c.taps_base, &t.g, t.block);
            match pass1 {
                Some(p1) => blocks(&mut img, p1.taps_base, &t.h, t.block),
                None => {
                    return Err(PackError::Mismatch(
                        "a Toeplitz-like matrix without its first pass in the spec".into(),
                    ))
                }
            }
            continue;
        }
        let b = match m {
            Matrix::BlockToeplitz(b) | Matrix::BlockCirculant(b) if b.block == c.block => b,
            other => {
                return Err(PackError::Mismatch(format!(
                    "a {}x{} block matrix in the spec is {} in the model",
                    c.block,
                    c.block,
                    other.describe()
                )))
            }
        };
        let k = b.block;
        let params = if c.toeplitz { 2 * k - 1 } else { k };
        let bc = b.cols.div_ceil(k);
        let groups = if k <= lay.lanes { lay.lanes / k } else { 1 };
        for bi in 0..b.rows.div_ceil(k) {
            for tw in 0..c.block_row_words {
                let w = &mut img.words[c.taps_base + bi * c.block_row_words + tw];
                for g in 0..groups {
                    let bj = tw * groups + g;
                    if bj >= bc {
                        break;
                    }
                    let codes =
                        &b.values.codes[(bi * bc + bj) * params..(bi * bc + bj + 1) * params];
                    for (i, &code) in codes.iter().enumerate() {
                        let slot = g * params + i;
                        w[slot * cb..(slot + 1) * cb]
                            .store_le(b.values.code.stored_in(code, cb as u32));
                    }
                }
            }
        }
    }
    Ok(img)
}

/// The codebook tables: for every matrix id (`Layout::matrix_ids`),
/// `CODEBOOK_ENTRIES` entries, zero past the codebook's end and for matrices
/// that are not codebooks. For shift-add lanes entry `i` is the lane code of
/// codebook value `i` (`±2^e` is the power-of-two code `±(e + 1)`); for
/// multiplier lanes (`Layout::lane_values`) it is the value itself.
fn codebook_tables(model: &Model, lay: &Layout) -> Result<MemoryImage, PackError> {
    let lane_bits = lay.lane_code_bits;
    let mut img = MemoryImage::new("codebooks", lane_bits);
    let mut by_id: Vec<Option<(String, &ScalarCode)>> = vec![None; lay.matrix_ids()];
    for m in matrices_by_id(model) {
        if let Some(slot) = by_id.get_mut(m.id) {
            *slot = Some((m.name, m.code));
        }
    }
    // The lanes' sign-magnitude codes, as power-of-two codes of shift e + 1.
    let lane = ScalarCode::Pow2 {
        emin: 0,
        emax: (1 << (lane_bits - 1)) - 2,
    };
    for (id, entry) in by_id.iter().enumerate() {
        let values: &[i32] = match entry {
            Some((_, ScalarCode::Codebook { values, .. })) if lay.codebooks[id] => values,
            _ => &[],
        };
        for e in 0..CODEBOOK_ENTRIES {
            let v = values.get(e).copied().unwrap_or(0);
            if lay.lane_values {
                push_int(&mut img, i64::from(v));
                continue;
            }
            let code = if v == 0 {
                0
            } else {
                let shift = v.unsigned_abs().trailing_zeros() as i8 + 1;
                if v.unsigned_abs() != 1 << (shift - 1)
                    || u32::from(shift.unsigned_abs()) >= 1 << (lane_bits - 1)
                {
                    let name = entry.as_ref().map_or(String::new(), |(n, _)| n.clone());
                    return Err(PackError::DoesNotFit {
                        tensor: name,
                        what: format!(
                            "codebook entry {e} = {v} is not a power of two the lanes can shift by"
                        ),
                    });
                }
                if v < 0 {
                    -shift
                } else {
                    shift
                }
            };
            push_int(&mut img, i64::from(lane.stored_in(code, lane_bits)));
        }
    }
    Ok(img)
}

/// Reads the codes of a row back from a weight image (the inverse of
/// packing), given the word where the row starts and the row engine that
/// computes it.
pub fn unpack_row(
    img: &MemoryImage,
    first_word: usize,
    engine: usize,
    cols: usize,
    lanes: usize,
    code_bits: usize,
    code: &ScalarCode,
) -> Vec<i8> {
    (0..cols)
        .map(|c| {
            let w = &img.words[first_word + c / lanes];
            let k = engine * lanes + c % lanes;
            code.from_stored_in(
                w[k * code_bits..(k + 1) * code_bits].load_le::<u32>(),
                code_bits as u32,
            )
        })
        .collect()
}

/// Every matrix's codes read back from the weight image, in the model's own
/// row-major order: (tensor, codes).
pub fn unpack_weights(
    model: &Model,
    spec: &AcceleratorSpec,
    img: &MemoryImage,
) -> Vec<(String, Vec<i8>)> {
    let lanes = spec.hw.lanes;
    let cb = spec.code_bits as usize;
    let e = spec.layout.engines.max(1);
    // Row `r` of a pass of `words`-word rows starting at `base`: its group's
    // first word and its engine.
    let place = |base: usize, r: usize, words: usize| (base + (r / e) * words, r % e);
    let code_of = |m: &Matrix| match m {
        Matrix::Dense(d) => d.values.code.clone(),
        _ => ScalarCode::Ternary { exp: 0 },
    };
    let mut out = Vec::new();
    for (l, ls) in model.layers.iter().zip(&spec.layers) {
        let n = l.hidden;
        let (xw, hw) = (ls.w_x.words_per_row, ls.w_h.words_per_row);
        let mut wx = vec![0i8; 4 * n * ls.w_x.cols];
        let mut wh = vec![0i8; 4 * n * ls.w_h.cols];
        for j in 0..n {
            for q in 0..4 {
                let r = q * n + j;
                let at = ls.weight_base + ((j / e) * 4 + q) * ls.row_words;
                let k = j % e;
                let cx = unpack_row(img, at, k, ls.w_x.cols, lanes, cb, &code_of(&l.w_x));
                let ch = unpack_row(img, at + xw, k, ls.w_h.cols, lanes, cb, &code_of(&l.w_h));
                wx[r * ls.w_x.cols..(r + 1) * ls.w_x.cols].copy_from_slice(&cx);
                wh[r * ls.w_h.cols..(r + 1) * ls.w_h.cols].copy_from_slice(&ch);
                debug_assert_eq!(ls.row_words, xw + hw);
            }
        }
        out.push((ls.w_x.tensor.clone(), wx));
        out.push((ls.w_h.tensor.clone(), wh));
        if let (Some(p), Some((pm, base))) = (&l.projection, &ls.projection) {
            let codes = (0..pm.rows)
                .flat_map(|r| {
                    let (at, k) = place(*base, r, pm.words_per_row);
                    unpack_row(img, at, k, pm.cols, lanes, cb, &code_of(&p.w))
                })
                .collect();
            out.push((pm.tensor.clone(), codes));
        }
    }
    let head = model.head.matrices();
    let mut at = spec.head.weight_base;
    for (m, map) in head.into_iter().zip(&spec.head.matrices) {
        let codes = (0..map.rows)
            .flat_map(|r| {
                let (first, k) = place(at, r, map.words_per_row);
                unpack_row(img, first, k, map.cols, lanes, cb, &code_of(m))
            })
            .collect();
        at += map.rows.div_ceil(e) * map.words_per_row;
        out.push((map.tensor.clone(), codes));
    }
    out
}

/// The 32-bit stream words that load `img` (see [`lstm_accel_spec::protocol`]):
/// a weight word as one word per bank, lowest lanes first, row engine by
/// row engine; any other word sign-extended from its width.
pub fn stream_words(img: &MemoryImage, lay: &Layout) -> Vec<u32> {
    if img.name == "weights" || img.name == "taps" {
        let cb = lay.code_bits as usize;
        let (per, slice) = if img.name == "taps" {
            (lay.tap_slots_per_bank, img.width as usize)
        } else {
            (lay.lanes_per_bank, lay.lanes * cb)
        };
        let chunk = per * cb;
        img.words
            .iter()
            .flat_map(|w| {
                w.chunks(slice.max(1))
                    .flat_map(|e| e.chunks(chunk).map(|c| c.load_le::<u32>()))
                    .collect::<Vec<_>>()
            })
            .collect()
    } else {
        let width = (img.width as usize).min(64);
        img.words
            .iter()
            .map(|w| sext(w[..width].load_le::<u64>() as i64, width) as u32)
            .collect()
    }
}
