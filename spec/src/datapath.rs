//! The datapath's timing and shapes as the spec counts them: the latency of
//! each pipelined block, the interval of the gate unit, the widths a MAC
//! lane's product needs and the forms a memory takes. The schedule's cycle
//! prediction, the layout's address widths and the resource estimate are
//! built from these numbers, and the blocks in `lstm-accel-hdl` are built to
//! them (each block's own tests measure its latency against the figure
//! here), so the spec needs no HDL to say how long a frame takes.

/// Cycles from input to output of the pipelined requantizer (the rounding
/// point between an accumulator and a narrower format).
pub const REQUANTIZER_LATENCY: usize = 2;

/// Cycles from input to output of an activation block (sigmoid or tanh).
pub const ACTIVATION_LATENCY: usize = 3;

/// Cycles from the last column logit of a LightRNN head to the class.
pub const LIGHTRNN_DECODER_LATENCY: usize = 3;

/// The adder tree that sums a MAC array's lanes.
pub mod adder_tree {
    /// Levels (= latency in cycles) of a tree over `n` inputs.
    pub fn depth(n: usize) -> usize {
        n.next_power_of_two().trailing_zeros() as usize
    }
}

/// One MAC array: `lanes` products summed by the adder tree into the
/// accumulator.
pub mod mac_array {
    /// Cycles from a word's input to the accumulator holding it.
    pub fn latency(lanes: usize) -> usize {
        super::adder_tree::depth(lanes) + 3
    }

    /// Largest shift a `code_bits`-bit power-of-two slot encodes.
    pub fn max_shift(code_bits: usize) -> usize {
        (1 << (code_bits - 1)) - 2
    }

    /// Width of a shift-add lane's product of `x_width`-bit data and
    /// `code_bits`-bit codes.
    pub fn shift_add_product_width(x_width: usize, code_bits: usize) -> usize {
        x_width + max_shift(code_bits) + 1
    }

    /// Width of a lane's product: `x * value` for multiplier lanes, a
    /// shift-add lane's otherwise.
    pub fn product_width(multiply: bool, x_width: usize, code_bits: usize) -> usize {
        if multiply {
            x_width + code_bits
        } else {
            shift_add_product_width(x_width, code_bits)
        }
    }
}

/// The row engines: MAC arrays side by side on the same broadcast words.
pub mod row_engines {
    /// Engines per group of the fan-out tree: the shared inputs' source
    /// drives one register per group, and each group's register one per
    /// engine of the group.
    pub const FANOUT: usize = 4;

    /// Groups of the fan-out tree: none up to [`FANOUT`] engines (the
    /// source drives every engine's register), else one per [`FANOUT`]
    /// engines.
    pub fn groups(engines: usize) -> usize {
        if engines > FANOUT {
            engines.div_ceil(FANOUT)
        } else {
            0
        }
    }

    /// Cycles the engines' input registers add to every path through the
    /// engines: none with one engine, one with a few, two with a fan-out
    /// tree.
    pub fn boundary_latency(engines: usize) -> usize {
        usize::from(engines > 1) + usize::from(groups(engines) > 0)
    }

    /// Cycles the result queue of several row engines adds to a row's path
    /// (its register), none with one engine.
    pub fn queue_latency(engines: usize) -> usize {
        usize::from(engines > 1)
    }
}

/// The gate unit: a cell's four gates, its new c and its h.
pub mod gate_unit {
    use super::{ACTIVATION_LATENCY, REQUANTIZER_LATENCY};

    /// Sigmoid requests per cell (i, f and o).
    pub const SIGMOID_REQUESTS: usize = 3;

    /// The gates (of i, f, g, o, c' = 0..5) whose sigmoid block `e` is
    /// named after: a shared block takes its first gate's name.
    pub const SIGMOID_GATES: [usize; 3] = [0, 1, 3];

    /// The blocks the sigmoids share: tanh(g) and tanh(c') have one each.
    pub const fn sigmoid_units(activation_units: usize) -> usize {
        match activation_units {
            0..=3 => 1,
            4 => 2,
            _ => 3,
        }
    }

    /// Cycles between two cells that `units` sigmoid evaluators allow.
    pub const fn sigmoid_interval(units: usize) -> usize {
        SIGMOID_REQUESTS.div_ceil(units)
    }

    /// Cycles from the first sigmoid slot's result to the later of i and f
    /// (f's slot), with `units` sigmoid evaluators.
    pub const fn sigmoid_cell_shift(units: usize) -> usize {
        1 / units
    }

    /// Cycles from the inputs to `c_next`, with activations of a `second`
    /// output register or not, and `activation_units` of them.
    pub const fn cell_latency(second: bool, activation_units: usize) -> usize {
        let shift = sigmoid_cell_shift(sigmoid_units(activation_units));
        ACTIVATION_LATENCY + second as usize + shift + 2 + REQUANTIZER_LATENCY
    }

    /// Cycles from the inputs to `h`, with activations of a `second`
    /// output register or not, and `activation_units` of them.
    pub const fn latency(second: bool, activation_units: usize) -> usize {
        cell_latency(second, activation_units)
            + ACTIVATION_LATENCY
            + second as usize
            + 1
            + REQUANTIZER_LATENCY
    }

    /// Cycles between two cells entering a unit of `activation_units`
    /// activation blocks (3 to 5).
    pub const fn interval(activation_units: usize) -> usize {
        sigmoid_interval(sigmoid_units(activation_units))
    }

    /// The gates that name the unit's activation blocks, in order: the
    /// sigmoids' (shared ones by their first gate) and the two tanh blocks.
    pub fn block_gates(activation_units: usize) -> Vec<usize> {
        let mut gates = SIGMOID_GATES[..sigmoid_units(activation_units)].to_vec();
        gates.extend([2, 4]);
        gates.sort_unstable();
        gates
    }
}

/// The memories: their addresses and their forms on the parts.
pub mod ram {
    /// Cycles from a read address to its word in a banked memory (address
    /// register, the bank's read, its output register, the bank select and
    /// the output register).
    pub const BANKED_READ_LATENCY: usize = 5;

    /// Address bits of a memory of `depth` words: one more than the largest
    /// address needs, so that addresses stay non-negative as signed values.
    pub fn address_width(depth: usize) -> usize {
        (usize::BITS - depth.saturating_sub(1).leading_zeros()) as usize + 1
    }

    /// The ECP5 `DP16KD` port shapes a memory is instantiated in (depth,
    /// data width): the true dual-port ones. The word address sits in the
    /// top bits of `AD*`; the 18-bit shape's two low bits are its byte
    /// enables.
    pub const DP16KD_SHAPES: [(usize, usize); 5] =
        [(1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)];

    /// The `DP16KD` shape (depth of one block, data width) that holds a
    /// `depth x width` memory in one row of blocks, in the fewest blocks
    /// (the wider of two that tie).
    pub fn dp16kd_shape(depth: usize, width: usize) -> Option<(usize, usize)> {
        DP16KD_SHAPES
            .into_iter()
            .filter(|&(d, _)| depth <= d)
            .min_by_key(|&(_, w)| width.div_ceil(w))
    }

    /// `DP16KD` blocks of a `depth x width` memory in that shape.
    pub fn dp16kd_blocks_for(depth: usize, width: usize) -> Option<u32> {
        dp16kd_shape(depth, width).map(|(_, w)| width.div_ceil(w) as u32)
    }
}
