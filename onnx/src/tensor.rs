//! Constant tensors of an ONNX graph: initializers and `Constant` nodes
//! decoded into f64, and the weight-side quantization nodes evaluated
//! (`QuantizeLinear` of a float constant, `DequantizeLinear` of an integer
//! one), so that a weight behind a quantize/dequantize pair (as Brevitas
//! and ONNX Runtime's quantizer export it) arrives with its integer levels
//! and scales, from which the importer picks exact codes.

use crate::error::{node_label, Located};
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::{GraphProto, NodeProto, TensorProto};
use protobuf::Enum;
use std::collections::{BTreeSet, HashMap};

/// Where a weight came from when it was quantized in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantOrigin {
    /// The `DequantizeLinear` node.
    pub node: String,
    /// Its scales (one per tensor, or one per slice along its axis).
    pub scales: Vec<f64>,
    /// The distinct integer levels `q - zero_point`.
    pub levels: BTreeSet<i64>,
    /// The distinct non-zero values `(q - zero_point) * scale`, ascending.
    pub values: Vec<f64>,
}

/// A constant tensor, decoded.
#[derive(Clone, Debug)]
pub(crate) struct Value {
    pub dims: Vec<usize>,
    pub data: Vec<f64>,
    /// The ONNX element type.
    pub dtype: DataType,
    pub quant: Option<QuantOrigin>,
}

impl Value {
    fn is_integer(&self) -> bool {
        int_range(self.dtype).is_some()
    }
}

/// The range of an integer element type.
fn int_range(t: DataType) -> Option<(f64, f64)> {
    Some(match t {
        DataType::INT8 => (-128.0, 127.0),
        DataType::UINT8 => (0.0, 255.0),
        DataType::INT16 => (-32768.0, 32767.0),
        DataType::UINT16 => (0.0, 65535.0),
        DataType::INT32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
        DataType::INT64 => (-9.007_199_254_740_992e15, 9.007_199_254_740_992e15),
        _ => return None,
    })
}

/// Decodes an initializer or a `Constant`'s tensor.
pub(crate) fn decode(t: &TensorProto, at: &str) -> Result<Value, Located> {
    let err = |m: String| Located::at(at, m);
    if !t.external_data.is_empty() || t.data_location.value() == 1 {
        return Err(err(
            "its data is stored outside the file; save the model with all tensors inside (onnx.save(..., save_as_external_data=False))".into(),
        ));
    }
    let mut dims = Vec::with_capacity(t.dims.len());
    for &d in &t.dims {
        dims.push(usize::try_from(d).map_err(|_| err(format!("dimension {d} is negative")))?);
    }
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| err("its element count overflows".into()))?;
    let dtype = DataType::from_i32(t.data_type)
        .ok_or_else(|| err(format!("element type {} is unknown", t.data_type)))?;
    let raw = &t.raw_data;
    let from_raw = |size: usize, f: &dyn Fn(&[u8]) -> f64| -> Result<Vec<f64>, Located> {
        if raw.len() != count * size {
            return Err(err(format!(
                "raw data has {} bytes; {count} elements of {size} bytes need {}",
                raw.len(),
                count * size
            )));
        }
        Ok(raw.chunks_exact(size).map(f).collect())
    };
    let data: Vec<f64> = match dtype {
        DataType::FLOAT if raw.is_empty() => t.float_data.iter().map(|&x| f64::from(x)).collect(),
        DataType::FLOAT => from_raw(4, &|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))?,
        DataType::DOUBLE if raw.is_empty() => t.double_data.clone(),
        DataType::DOUBLE => from_raw(8, &|c| {
            f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
        })?,
        DataType::INT8 | DataType::UINT8 | DataType::INT16 | DataType::UINT16 | DataType::INT32
            if raw.is_empty() =>
        {
            t.int32_data.iter().map(|&x| f64::from(x)).collect()
        }
        DataType::INT8 => from_raw(1, &|c| f64::from(c[0] as i8))?,
        DataType::UINT8 => from_raw(1, &|c| f64::from(c[0]))?,
        DataType::INT16 => from_raw(2, &|c| f64::from(i16::from_le_bytes([c[0], c[1]])))?,
        DataType::UINT16 => from_raw(2, &|c| f64::from(u16::from_le_bytes([c[0], c[1]])))?,
        DataType::INT32 => from_raw(4, &|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))?,
        DataType::INT64 if raw.is_empty() => t.int64_data.iter().map(|&x| x as f64).collect(),
        DataType::INT64 => from_raw(8, &|c| {
            i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64
        })?,
        other => {
            return Err(err(format!(
                "element type {other:?} is not supported; weights are FLOAT or DOUBLE, quantized weights INT8, UINT8, INT16, UINT16 or INT32"
            )))
        }
    };
    if data.len() != count {
        return Err(err(format!(
            "holds {} values but its shape {dims:?} needs {count}",
            data.len()
        )));
    }
    if let Some(index) = data.iter().position(|x| !x.is_finite()) {
        return Err(err(format!(
            "element {index} is {}, not finite",
            data[index]
        )));
    }
    Ok(Value {
        dims,
        data,
        dtype,
        quant: None,
    })
}

/// A quantization node's parameters.
struct Params {
    /// The scale of each element.
    scale: Vec<f64>,
    /// The zero point of each element.
    zero: Vec<f64>,
    /// The scales as the file gives them.
    scales: Vec<f64>,
    /// The zero point's type, which is the quantized type.
    zero_type: Option<DataType>,
}

/// Input `k` of `n` when present (ONNX marks an omitted optional input
/// with an empty name).
pub(crate) fn opt_input(n: &NodeProto, k: usize) -> Option<&str> {
    n.input.get(k).map(String::as_str).filter(|s| !s.is_empty())
}

/// Input `k` of `n`, named `role` in the error when it is missing.
pub(crate) fn node_input<'n>(
    n: &'n NodeProto,
    k: usize,
    role: &str,
    label: &str,
) -> Result<&'n str, Located> {
    opt_input(n, k).ok_or_else(|| Located::at(label, format!("has no {role}")))
}

/// Ops a constant may pass through unchanged on its way to a use.
const PASS: &[&str] = &["Identity"];

/// The graph's constants, by the names nodes use for them.
pub(crate) struct Constants<'g> {
    initializers: HashMap<&'g str, &'g TensorProto>,
    producers: HashMap<&'g str, (usize, &'g NodeProto)>,
    inputs: BTreeSet<&'g str>,
}

impl<'g> Constants<'g> {
    pub fn new(g: &'g GraphProto) -> Self {
        let mut producers = HashMap::new();
        for (i, n) in g.node.iter().enumerate() {
            for o in &n.output {
                producers.insert(o.as_str(), (i, n));
            }
        }
        let initializers: HashMap<&str, &TensorProto> =
            g.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
        let inputs = g
            .input
            .iter()
            .map(|v| v.name.as_str())
            .filter(|n| !initializers.contains_key(n))
            .collect();
        Constants {
            initializers,
            producers,
            inputs,
        }
    }

    /// The node that computes `name`, if one does.
    pub fn producer(&self, name: &str) -> Option<(usize, &'g NodeProto)> {
        self.producers.get(name).copied()
    }

    /// Whether `name` is a graph input that is not an initializer.
    pub fn is_input(&self, name: &str) -> bool {
        self.inputs.contains(name)
    }

    /// The constant `name`, which `user` (a node label and input role)
    /// reads.
    pub fn value(&self, name: &str, user: &str) -> Result<Value, Located> {
        if let Some(t) = self.initializers.get(name) {
            return decode(t, &format!("initializer '{name}'"));
        }
        let Some((i, n)) = self.producer(name) else {
            let what = if self.is_input(name) {
                "is a graph input, not a constant: weights must be initializers (or constants behind QuantizeLinear/DequantizeLinear)"
            } else {
                "is neither an initializer nor the output of any node"
            };
            return Err(Located::at(user, format!("'{name}' {what}")));
        };
        let label = node_label(i, n);
        match n.op_type.as_str() {
            "Constant" => {
                let a = n
                    .attribute
                    .iter()
                    .find(|a| a.name == "value")
                    .and_then(|a| a.t.as_ref())
                    .ok_or_else(|| {
                        Located::at(&label, "has no tensor 'value' attribute (value_float and the others are not supported for weights)")
                    })?;
                decode(a, &label)
            }
            op if PASS.contains(&op) => self.value(node_input(n, 0, "data input", &label)?, &label),
            "QuantizeLinear" => self.quantize(n, &label),
            "DequantizeLinear" => self.dequantize(n, &label),
            op => Err(Located::at(
                &label,
                format!(
                    "computes '{name}', which {user} reads as a constant; the importer evaluates only initializers, Constant, Identity, QuantizeLinear and DequantizeLinear there, not {op}"
                ),
            )),
        }
    }

    /// `axis` of a quantization node (default 1), as an index into `dims`.
    fn axis(n: &NodeProto, label: &str, dims: &[usize]) -> Result<usize, Located> {
        if let Some(b) = n.attribute.iter().find(|a| a.name == "block_size") {
            if b.i != 0 {
                return Err(Located::at(
                    label,
                    format!("block_size {} (blocked quantization) is not supported", b.i),
                ));
            }
        }
        let axis = n
            .attribute
            .iter()
            .find(|a| a.name == "axis")
            .map_or(1, |a| a.i);
        let rank = dims.len() as i64;
        let a = if axis < 0 { axis + rank } else { axis };
        if !(0..rank.max(1)).contains(&a) {
            return Err(Located::at(
                label,
                format!("axis {axis} is outside a tensor of rank {rank}"),
            ));
        }
        Ok(a as usize)
    }

    /// Scale and zero point of a quantization node, broadcast to each
    /// element of `x`.
    fn params(&self, n: &NodeProto, label: &str, x: &Value) -> Result<Params, Located> {
        let scale_name = node_input(n, 1, "scale input", label)?;
        let scale = self.value(scale_name, &format!("{label}, scale"))?;
        let zp = match opt_input(n, 2) {
            Some(z) => Some(self.value(z, &format!("{label}, zero point"))?),
            None => None,
        };
        if let Some(i) = scale.data.iter().position(|&s| s <= 0.0) {
            return Err(Located::at(
                label,
                format!("scale element {i} is {}, not positive", scale.data[i]),
            ));
        }
        let per = |v: &Value, what: &str| -> Result<Vec<f64>, Located> {
            if v.data.len() == 1 {
                return Ok(vec![v.data[0]; x.data.len()]);
            }
            let axis = Self::axis(n, label, &x.dims)?;
            if v.dims.len() != 1 || v.data.len() != x.dims[axis] {
                return Err(Located::at(
                    label,
                    format!("its {what} has shape {:?}; per-axis quantization along axis {axis} of {:?} needs [{}]", v.dims, x.dims, x.dims[axis]),
                ));
            }
            let inner: usize = x.dims[axis + 1..].iter().product();
            Ok((0..x.data.len())
                .map(|i| v.data[i / inner % v.data.len()])
                .collect())
        };
        let s = per(&scale, "scale")?;
        let z = match &zp {
            Some(z) => per(z, "zero point")?,
            None => vec![0.0; x.data.len()],
        };
        Ok(Params {
            scale: s,
            zero: z,
            scales: scale.data,
            zero_type: zp.map(|z| z.dtype),
        })
    }

    fn quantize(&self, n: &NodeProto, label: &str) -> Result<Value, Located> {
        let name = node_input(n, 0, "input", label)?;
        let x = self.value(name, label)?;
        if x.is_integer() {
            return Err(Located::at(label, "quantizes an integer tensor"));
        }
        let Params {
            scale: s,
            zero: z,
            zero_type: zt,
            ..
        } = self.params(n, label, &x)?;
        // Without a zero point the output is UINT8 (the operator's default).
        let dtype = zt.unwrap_or(DataType::UINT8);
        let (lo, hi) = int_range(dtype).ok_or_else(|| {
            Located::at(
                label,
                format!("output type {dtype:?} is not an integer type the importer reads"),
            )
        })?;
        let data = x
            .data
            .iter()
            .zip(s.iter().zip(&z))
            .map(|(&v, (&s, &z))| ((v / s).round_ties_even() + z).clamp(lo, hi))
            .collect();
        Ok(Value {
            dims: x.dims,
            data,
            dtype,
            quant: None,
        })
    }

    fn dequantize(&self, n: &NodeProto, label: &str) -> Result<Value, Located> {
        let name = node_input(n, 0, "input", label)?;
        let x = self.value(name, label)?;
        if !x.is_integer() {
            return Err(Located::at(
                label,
                format!(
                    "dequantizes a {:?} tensor; it takes an integer one",
                    x.dtype
                ),
            ));
        }
        let Params {
            scale: s,
            zero: z,
            scales,
            ..
        } = self.params(n, label, &x)?;
        let levels: Vec<f64> = x.data.iter().zip(&z).map(|(&q, &z)| q - z).collect();
        let data: Vec<f64> = levels.iter().zip(&s).map(|(&l, &s)| l * s).collect();
        let mut values: Vec<f64> = data.iter().copied().filter(|&v| v != 0.0).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        Ok(Value {
            dims: x.dims,
            data,
            dtype: DataType::FLOAT,
            quant: Some(QuantOrigin {
                node: label.to_string(),
                scales,
                levels: levels.iter().map(|&l| l as i64).collect(),
                values,
            }),
        })
    }
}
