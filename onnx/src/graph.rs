//! The graph's shape: the chain of standard `LSTM` nodes (forward, zero
//! initial state, default activations) joined by shape-only ops, and the
//! dense head (`Gemm`, or `MatMul` with an optional `Add` of a constant)
//! on the last LSTM's output, read into the float twin.
//!
//! ONNX stores a layer's four gate blocks in the order i, o, f, c and two
//! biases (input and recurrent); the float twin's order is PyTorch's (i, f,
//! g, o) with one summed bias, so blocks are reordered and biases summed in
//! f64 and rounded once.

use crate::error::{node_label, Located};
use crate::tensor::{node_input, opt_input, Constants, QuantOrigin, Value};
use lstm_accel_model::float::{FloatHead, FloatLayer, FloatMatrix, FloatModel};
use onnx_protobuf::{AttributeProto, GraphProto, NodeProto};
use std::collections::{BTreeMap, BTreeSet};

/// Ops between stacked LSTMs and before the head that only move data
/// (drop the direction axis, swap batch and time).
const SHAPE_OPS: &[&str] = &[
    "Squeeze",
    "Unsqueeze",
    "Reshape",
    "Transpose",
    "Identity",
    "Flatten",
];

/// ONNX's gate block of each of the float twin's blocks (i, f, g, o).
const GATE_FROM_ONNX: [usize; 4] = [0, 2, 3, 1];

/// What the graph held.
pub(crate) struct Read {
    pub model: FloatModel,
    pub quantized: BTreeMap<String, QuantOrigin>,
    pub lstm_nodes: Vec<String>,
    pub head_node: String,
}

fn attr<'n>(n: &'n NodeProto, name: &str) -> Option<&'n AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

/// Every node that reads `name`.
fn consumers<'g>(g: &'g GraphProto, name: &str) -> Vec<(usize, &'g NodeProto)> {
    g.node
        .iter()
        .enumerate()
        .filter(|(_, n)| n.input.iter().any(|i| i == name))
        .collect()
}

/// Follows `name` back through shape-only ops to where its data comes
/// from: a node's output (node index, output index) or a graph input.
fn source<'g>(c: &Constants<'g>, mut name: &'g str) -> Option<(usize, usize)> {
    loop {
        let (i, n) = c.producer(name)?;
        if SHAPE_OPS.contains(&n.op_type.as_str()) {
            name = n.input.first()?;
            continue;
        }
        let out = n.output.iter().position(|o| o == name)?;
        return Some((i, out));
    }
}

/// Checks an LSTM node's attributes: what the accelerator's cell computes.
fn check_attributes(n: &NodeProto, label: &str) -> Result<(), Located> {
    let bad = |m: String| Err(Located::at(label, m));
    if let Some(a) = attr(n, "direction") {
        let d = String::from_utf8_lossy(&a.s);
        if d != "forward" {
            return bad(format!(
                "direction '{d}' is not supported; the accelerator runs forward LSTMs"
            ));
        }
    }
    if let Some(a) = attr(n, "activations") {
        let got: Vec<String> = a
            .strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        if got
            .iter()
            .map(String::as_str)
            .ne(["Sigmoid", "Tanh", "Tanh"])
        {
            return bad(format!(
                "activations {got:?} are not supported; the cell uses Sigmoid, Tanh, Tanh"
            ));
        }
    }
    for name in ["activation_alpha", "activation_beta"] {
        if attr(n, name).is_some_and(|a| !a.floats.is_empty()) {
            return bad(format!("{name} is not supported"));
        }
    }
    if let Some(a) = attr(n, "clip") {
        return bad(format!(
            "clip {} (on the activations' inputs) is not supported",
            a.f
        ));
    }
    if attr(n, "input_forget").is_some_and(|a| a.i != 0) {
        return bad("input_forget = 1 (coupled input and forget gates) is not supported".into());
    }
    if let Some(a) = attr(n, "layout") {
        if a.i != 0 && a.i != 1 {
            return bad(format!("layout {} is not 0 or 1", a.i));
        }
    }
    Ok(())
}

/// An optional input that must be all zero (initial state, peepholes).
fn zero_input(
    c: &Constants,
    n: &NodeProto,
    k: usize,
    what: &str,
    label: &str,
) -> Result<(), Located> {
    let Some(name) = opt_input(n, k) else {
        return Ok(());
    };
    if c.is_input(name) {
        return Err(Located::at(
            label,
            format!("{what} '{name}' is a graph input; the accelerator starts every stream from zero state, so it must be omitted or a zero constant"),
        ));
    }
    let v = c.value(name, &format!("{label}, {what}"))?;
    if let Some(i) = v.data.iter().position(|&x| x != 0.0) {
        return Err(Located::at(
            label,
            format!("{what} '{name}' is not zero (element {i} is {}); the accelerator starts from zero state", v.data[i]),
        ));
    }
    Ok(())
}

/// Rows of `w` (`[4h, cols]`, ONNX gate order) in the float twin's order.
fn reorder(w: &[f64], h: usize, cols: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(w.len());
    for &b in &GATE_FROM_ONNX {
        out.extend(
            w[b * h * cols..(b + 1) * h * cols]
                .iter()
                .map(|&x| x as f32),
        );
    }
    out
}

/// A `[1, rows, cols]` weight.
fn weight3(
    v: &Value,
    label: &str,
    what: &str,
    rows: usize,
    cols: Option<usize>,
) -> Result<usize, Located> {
    let ok = v.dims.len() == 3
        && v.dims[0] == 1
        && v.dims[1] == rows
        && cols.is_none_or(|c| v.dims[2] == c);
    if !ok {
        let want = cols.map_or("?".to_string(), |c| c.to_string());
        return Err(Located::at(
            label,
            format!(
                "{what} has shape {:?}; a forward LSTM of {} cells needs [1, {rows}, {want}]",
                v.dims,
                rows / 4
            ),
        ));
    }
    Ok(v.dims[2])
}

/// One LSTM node into a layer. `input` is the size its X must have (the
/// layer below's cells), `None` for the first.
fn read_lstm(
    c: &Constants,
    k: usize,
    idx: usize,
    n: &NodeProto,
    input: Option<usize>,
    quantized: &mut BTreeMap<String, QuantOrigin>,
) -> Result<FloatLayer, Located> {
    let label = node_label(idx, n);
    check_attributes(n, &label)?;
    let w = c.value(node_input(n, 1, "W input", &label)?, &format!("{label}, W"))?;
    let r = c.value(node_input(n, 2, "R input", &label)?, &format!("{label}, R"))?;
    if r.dims.len() != 3 || r.dims[1] % 4 != 0 || r.dims[1] != 4 * r.dims[2] {
        return Err(Located::at(
            &label,
            format!("R has shape {:?}; it must be [1, 4h, h]", r.dims),
        ));
    }
    let h = r.dims[2];
    if let Some(a) = attr(n, "hidden_size") {
        if a.i != h as i64 {
            return Err(Located::at(
                &label,
                format!("hidden_size is {} but R holds {h} cells", a.i),
            ));
        }
    }
    weight3(&r, &label, "R", 4 * h, Some(h))?;
    let i = weight3(&w, &label, "W", 4 * h, input)?;
    let mut bias = vec![0f64; 4 * h];
    if let Some(b) = opt_input(n, 3) {
        let b = c.value(b, &format!("{label}, B"))?;
        if b.data.len() != 8 * h || b.dims.first().is_some_and(|&d| d != 1) {
            return Err(Located::at(
                &label,
                format!("B has shape {:?}; it must be [1, {}]", b.dims, 8 * h),
            ));
        }
        for (j, x) in bias.iter_mut().enumerate() {
            *x = b.data[j] + b.data[4 * h + j];
        }
    }
    if opt_input(n, 4).is_some() {
        return Err(Located::at(
            &label,
            "sequence_lens is not supported: every frame of the stream is a step; omit the input",
        ));
    }
    zero_input(c, n, 5, "initial_h", &label)?;
    zero_input(c, n, 6, "initial_c", &label)?;
    zero_input(c, n, 7, "P (peepholes)", &label)?;
    for (m, v) in [("w_x", &w), ("w_h", &r)] {
        if let Some(q) = &v.quant {
            quantized.insert(format!("layers[{k}].{m}"), q.clone());
        }
    }
    Ok(FloatLayer {
        hidden: h,
        w_x: FloatMatrix::new(4 * h, i, reorder(&w.data, h, i)),
        w_h: FloatMatrix::new(4 * h, h, reorder(&r.data, h, h)),
        bias: reorder(&bias, h, 1),
        projection: None,
        cell_clip: None,
    })
}

/// The dense head on the outputs of the last LSTM, node `li`.
fn read_head(
    g: &GraphProto,
    c: &Constants,
    (li, ln): (usize, &NodeProto),
    features: usize,
    quantized: &mut BTreeMap<String, QuantOrigin>,
) -> Result<(FloatHead, String), Located> {
    // Every Gemm or MatMul fed (through shape-only ops) by Y or Y_h.
    let mut frontier: Vec<String> = ln
        .output
        .iter()
        .take(2)
        .filter(|s| !s.is_empty())
        .cloned()
        .collect();
    let mut heads = Vec::new();
    // A malformed graph may loop; each tensor is visited once.
    let mut seen = BTreeSet::new();
    while let Some(name) = frontier.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        for (i, n) in consumers(g, &name) {
            match n.op_type.as_str() {
                op if SHAPE_OPS.contains(&op) => frontier.extend(n.output.iter().cloned()),
                "Gemm" | "MatMul" if n.input.first() == Some(&name) => heads.push((i, n)),
                _ => {}
            }
        }
    }
    let label0 = node_label(li, ln);
    let (hi, hn) = match heads.as_slice() {
        [one] => *one,
        [] => {
            return Err(Located::at(
                &label0,
                "no Gemm or MatMul head reads its output; the importer needs a dense head (Gemm, or MatMul + Add) on the last LSTM",
            ))
        }
        many => {
            let names: Vec<String> = many.iter().map(|(i, n)| node_label(*i, n)).collect();
            return Err(Located::at(&label0, format!("several heads read its output: {}", names.join(", "))));
        }
    };
    let label = node_label(hi, hn);
    let b_name = node_input(hn, 1, "B input", &label)?;
    let b = c.value(b_name, &format!("{label}, B"))?;
    if b.dims.len() != 2 {
        return Err(Located::at(
            &label,
            format!("B has shape {:?}; the head's weight is 2-D", b.dims),
        ));
    }
    let gemm = hn.op_type == "Gemm";
    let trans_b = gemm && attr(hn, "transB").is_some_and(|a| a.i != 0);
    if gemm && attr(hn, "transA").is_some_and(|a| a.i != 0) {
        return Err(Located::at(
            &label,
            "transA = 1 is not supported: the LSTM's output is A",
        ));
    }
    let alpha = if gemm {
        attr(hn, "alpha").map_or(1.0, |a| f64::from(a.f))
    } else {
        1.0
    };
    let beta = if gemm {
        attr(hn, "beta").map_or(1.0, |a| f64::from(a.f))
    } else {
        1.0
    };
    // The float twin's head is classes x features.
    let (rows, cols) = if trans_b {
        (b.dims[0], b.dims[1])
    } else {
        (b.dims[1], b.dims[0])
    };
    if cols != features {
        return Err(Located::at(
            &label,
            format!(
                "B has shape {:?}: {cols} features, but the last LSTM has {features} cells",
                b.dims
            ),
        ));
    }
    let w: Vec<f32> = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (r, c)))
        .map(|(r, col)| {
            let x = if trans_b {
                b.data[r * cols + col]
            } else {
                b.data[col * rows + r]
            };
            (alpha * x) as f32
        })
        .collect();
    if alpha != 1.0 && b.quant.is_some() {
        return Err(Located::at(
            &label,
            format!("alpha {alpha} scales a quantized B; fold it into the scale"),
        ));
    }
    if let Some(q) = &b.quant {
        quantized.insert("head.w".into(), q.clone());
    }
    // The bias: Gemm's C, or an Add of a constant after MatMul.
    let bias_value = if gemm {
        match opt_input(hn, 2) {
            Some(cn) => Some((c.value(cn, &format!("{label}, C"))?, label.clone())),
            None => None,
        }
    } else {
        let out = hn
            .output
            .first()
            .ok_or_else(|| Located::at(&label, "has no output"))?;
        let adds: Vec<(usize, &NodeProto)> = consumers(g, out)
            .into_iter()
            .filter(|(_, n)| n.op_type == "Add")
            .collect();
        match adds.as_slice() {
            [] => None,
            [(ai, an)] => {
                let alabel = node_label(*ai, an);
                let other = an
                    .input
                    .iter()
                    .find(|i| *i != out)
                    .ok_or_else(|| Located::at(&alabel, "adds the head's output to itself"))?;
                Some((c.value(other, &format!("{alabel}, bias"))?, alabel))
            }
            _ => return Err(Located::at(&label, "several Add nodes read its output")),
        }
    };
    let bias = match bias_value {
        None => vec![0f32; rows],
        Some((v, at)) => {
            let n: usize = v.dims.iter().product();
            if n != rows || v.dims.iter().rev().skip(1).any(|&d| d != 1) {
                return Err(Located::at(
                    &at,
                    format!(
                        "the head's bias has shape {:?}; it must hold {rows} values, one per class",
                        v.dims
                    ),
                ));
            }
            v.data.iter().map(|&x| (beta * x) as f32).collect()
        }
    };
    Ok((
        FloatHead::Dense {
            w: FloatMatrix::new(rows, cols, w),
            bias,
        },
        label,
    ))
}

/// Reads the graph.
pub(crate) fn read(g: &GraphProto) -> Result<Read, Located> {
    for (i, n) in g.node.iter().enumerate() {
        if matches!(n.op_type.as_str(), "GRU" | "RNN" | "Scan" | "Loop" | "If") {
            return Err(Located::at(
                node_label(i, n),
                "is not supported: the importer maps standard LSTM nodes (stacked) and a dense head",
            ));
        }
        if !n.domain.is_empty() && n.domain != "ai.onnx" && n.op_type == "LSTM" {
            return Err(Located::at(
                node_label(i, n),
                format!("is in domain '{}', not the standard one", n.domain),
            ));
        }
    }
    let c = Constants::new(g);
    let lstms: Vec<(usize, &NodeProto)> = g
        .node
        .iter()
        .enumerate()
        .filter(|(_, n)| n.op_type == "LSTM")
        .collect();
    if lstms.is_empty() {
        return Err(Located::file("the graph has no LSTM node"));
    }
    let mut layers: Vec<FloatLayer> = Vec::new();
    let mut quantized = BTreeMap::new();
    for (k, &(idx, n)) in lstms.iter().enumerate() {
        let label = node_label(idx, n);
        let x = node_input(n, 0, "X input", &label)?;
        // The first layer reads the graph's input; each other the Y of the
        // one before it.
        match (k, source(&c, x)) {
            (0, None) => {}
            (0, Some((i, _))) => {
                return Err(Located::at(
                    &label,
                    format!("X comes from {}, not from a graph input", node_label(i, &g.node[i])),
                ))
            }
            (_, Some((i, 0))) if i == lstms[k - 1].0 => {}
            (_, Some((i, out))) => {
                let what = if i == lstms[k - 1].0 { format!("output {out} (Y_h or Y_c)") } else { "an output".into() };
                return Err(Located::at(
                    &label,
                    format!(
                        "X is {what} of {}; a stacked LSTM reads the Y of the LSTM before it, through Squeeze, Reshape or Transpose only",
                        node_label(i, &g.node[i])
                    ),
                ));
            }
            (_, None) => {
                return Err(Located::at(&label, "X is a graph input, but it is not the first LSTM: stacked LSTMs read the Y of the one before"))
            }
        }
        let below = layers.last().map(|l: &FloatLayer| l.hidden);
        layers.push(read_lstm(&c, k, idx, n, below, &mut quantized)?);
    }
    let features = layers[layers.len() - 1].hidden;
    let (head, head_node) = read_head(g, &c, lstms[lstms.len() - 1], features, &mut quantized)?;
    let model = FloatModel {
        input_size: layers[0].w_x.cols,
        layers,
        head,
    };
    model
        .validate()
        .map_err(|e| Located::file(format!("the imported model is not valid: {e}")))?;
    Ok(Read {
        model,
        quantized,
        lstm_nodes: lstms.iter().map(|&(i, n)| node_label(i, n)).collect(),
        head_node,
    })
}
