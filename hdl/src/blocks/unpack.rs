//! Splits words into fields: the weight banks' words into the MAC array's
//! per-lane code slots. Bank `b` holds lanes `b * per_word ..` in fields of
//! `field_bits` bits from bit 0 up (the layout's packing), combinational.

use crate::dynamic::{sext, DynSig, DynVal};
use rust_hdl::prelude::*;
use std::fmt::Write;

/// The splitter.
#[derive(LogicBlock)]
pub struct Unpack {
    /// Bank words.
    pub words: Vec<DynSig<In>>,
    /// Fields, lane order.
    pub fields: Vec<DynSig<Out>>,
    _per_word: usize,
    _bits: usize,
}

impl Unpack {
    /// `fields` fields of `field_bits` bits, `per_word` to a word.
    pub fn new(fields: usize, field_bits: usize, per_word: usize) -> Self {
        let words = fields.div_ceil(per_word);
        Unpack {
            words: (0..words)
                .map(|b| DynSig::new((fields - b * per_word).min(per_word) * field_bits))
                .collect(),
            fields: (0..fields).map(|_| DynSig::new(field_bits)).collect(),
            _per_word: per_word,
            _bits: field_bits,
        }
    }
}

impl Logic for Unpack {
    fn update(&mut self) {
        let (pw, fb) = (self._per_word, self._bits);
        for (i, f) in self.fields.iter_mut().enumerate() {
            let w = self.words[i / pw].val().0;
            f.next = DynVal(sext(w >> ((i % pw) * fb), fb));
        }
    }
    fn connect(&mut self) {
        for f in &mut self.fields {
            f.connect();
        }
    }
    fn hdl(&self) -> Verilog {
        let (pw, fb) = (self._per_word, self._bits);
        let mut v = String::from("always @(*) begin\n");
        for i in 0..self.fields.len() {
            let lo = (i % pw) * fb;
            let _ = writeln!(
                v,
                "    fields${i} = words${}[{}:{lo}];",
                i / pw,
                lo + fb - 1
            );
        }
        v.push_str("end\n");
        Verilog::Custom(v)
    }
}
