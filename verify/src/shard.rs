//! Shards of a long run, for spreading it over machines: `--shard K/N`
//! takes every N-th unit of work starting at the K-th (1-based), so that N
//! jobs of a batch scheduler (a Slurm array, GNU parallel, Kubernetes
//! Jobs) each run one shard with the same seed and arguments, and a merge
//! of their reports equals the report of one run. Units are dealt round
//! robin, not in blocks, so that shards of a run whose work grows along
//! the plan (larger designs later) take about the same time.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (1-based), or the whole run (`1/1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, 1..=count.
    pub index: usize,
    /// How many shards the run is split into.
    pub count: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl Shard {
    /// The whole run.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Whether unit `i` (0-based, in the run's plan order) is this shard's.
    pub fn includes(self, i: usize) -> bool {
        i % self.count == self.index - 1
    }

    /// Whether this is the whole run.
    pub fn is_whole(self) -> bool {
        self.count == 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("shard '{s}': expected K/N with 1 <= K <= N, e.g. 3/8");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Checks that `shards` are the `N` shards of one run, each once.
pub fn check_complete(shards: &[Shard]) -> Result<(), String> {
    let Some(first) = shards.first() else {
        return Err("no reports to merge".into());
    };
    let n = first.count;
    if let Some(s) = shards.iter().find(|s| s.count != n) {
        return Err(format!("shard {s} is not one of {n} like shard {first}"));
    }
    let mut seen = vec![false; n];
    for s in shards {
        if std::mem::replace(&mut seen[s.index - 1], true) {
            return Err(format!("shard {s} is given twice"));
        }
    }
    let missing: Vec<String> = (1..=n)
        .filter(|&k| !seen[k - 1])
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!("shards {} are missing", missing.join(", ")));
    }
    Ok(())
}
