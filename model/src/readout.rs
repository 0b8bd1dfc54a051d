//! How a recording's answer comes from the head's outputs: the accelerator
//! computes logits and a class after every frame, and the model file says
//! which of them is the recording's answer.
//!
//! [`Readout::Last`] takes the class after the last frame (what a
//! classifier trained on the last frame expects). [`Readout::Mean`] pools
//! over time: the arg-max of the logits summed over every frame, which a
//! network trained on its mean output needs. The sum is exact (the logits
//! are integers in one format), so the arg-max of the sum is the arg-max of
//! the mean, and the host, the training evaluation and every engine agree
//! bit for bit; the hardware is the same either way, since it already
//! reports every frame's logits.

use serde::{Deserialize, Serialize};

/// Index of the first maximum.
pub fn argmax<T: PartialOrd>(values: impl IntoIterator<Item = T>) -> usize {
    let mut best: Option<(usize, T)> = None;
    for (i, v) in values.into_iter().enumerate() {
        match &best {
            Some((_, b)) if v.partial_cmp(b) != Some(std::cmp::Ordering::Greater) => {}
            _ => best = Some((i, v)),
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// Which of the per-frame outputs is a recording's answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readout {
    /// The class after the last frame.
    #[default]
    Last,
    /// The arg-max of the logits summed over every frame (dense heads).
    Mean,
}

impl Readout {
    /// Serde's test for leaving the default out of a model file.
    pub fn is_last(&self) -> bool {
        *self == Readout::Last
    }

    /// The name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Readout::Last => "last",
            Readout::Mean => "mean",
        }
    }
}

impl std::str::FromStr for Readout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "last" => Ok(Readout::Last),
            "mean" => Ok(Readout::Mean),
            other => Err(format!(
                "unknown readout `{other}`: expected `last` or `mean`"
            )),
        }
    }
}

/// A recording's answer as its frames arrive: feed each frame's logits and
/// class, ask for the answer at any point.
#[derive(Clone, Debug)]
pub struct Answer<T> {
    readout: Readout,
    sums: Vec<T>,
    last: Option<usize>,
}

impl<T: Copy + Default + PartialOrd + std::ops::AddAssign> Answer<T> {
    /// An answer with no frame yet.
    pub fn new(readout: Readout) -> Self {
        Answer {
            readout,
            sums: Vec::new(),
            last: None,
        }
    }

    /// One frame's logits and decoded class.
    pub fn push(&mut self, logits: &[T], class: usize) {
        self.last = Some(class);
        if self.readout == Readout::Mean {
            if self.sums.len() != logits.len() {
                self.sums = vec![T::default(); logits.len()];
            }
            for (s, &z) in self.sums.iter_mut().zip(logits) {
                *s += z;
            }
        }
    }

    /// The answer after the frames so far (`None` before the first).
    pub fn class(&self) -> Option<usize> {
        match self.readout {
            Readout::Last => self.last,
            Readout::Mean => self.last.map(|_| argmax(self.sums.iter().copied())),
        }
    }

    /// Back to no frame.
    pub fn reset(&mut self) {
        self.sums.clear();
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_takes_the_last_class_and_mean_the_summed_arg_max() {
        let frames: [(&[i64], usize); 3] = [(&[5, 0, 0], 0), (&[0, 3, 0], 1), (&[0, 0, 4], 2)];
        let mut last = Answer::new(Readout::Last);
        let mut mean = Answer::new(Readout::Mean);
        assert_eq!(mean.class(), None);
        for (z, c) in frames {
            last.push(z, c);
            mean.push(z, c);
        }
        assert_eq!(last.class(), Some(2));
        assert_eq!(mean.class(), Some(0));
        mean.reset();
        mean.push(&[1, 2, 2], 1);
        // Ties go to the first maximum, like every arg-max of the model.
        assert_eq!(mean.class(), Some(1));
    }

    #[test]
    fn names_round_trip_and_bad_names_say_what_was_expected() {
        for r in [Readout::Last, Readout::Mean] {
            assert_eq!(r.name().parse::<Readout>(), Ok(r));
        }
        let err = "max".parse::<Readout>().unwrap_err();
        assert!(err.contains("`max`") && err.contains("`mean`"), "{err}");
    }
}
