//! The Free Spoken Digit Dataset (FSDD) as this project reads it: wav files
//! named `{digit}_{speaker}_{index}.wav` in a `recordings` folder, and two
//! ways to split them into training and test sets:
//! - the dataset's own: indices 0 to 4 of every digit and speaker are the
//!   test set, the rest the training set (every speaker is in both);
//! - speaker-independent: one speaker is the test set, the others the
//!   training set ([`Split::LeaveOut`]), rotated over the speakers, which is
//!   what a product meets in the field.
//!
//! The data directory is given by the caller, or by the environment
//! variable [`DATA_ENV`], else [`DEFAULT_DIR`] (from the project's root).
//! The recordings are not part of this project; FSDD is CC BY-SA 4.0.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The environment variable that names the FSDD folder.
pub const DATA_ENV: &str = "LSTM_ACCEL_FSDD";

/// The folder used when neither an argument nor [`DATA_ENV`] names one.
pub const DEFAULT_DIR: &str = "../shared/data/fsdd";

/// Highest index of the dataset's own test split.
pub const TEST_INDICES: u32 = 5;

/// One recording of the dataset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Utterance {
    /// The spoken digit, 0-9 (the class).
    pub digit: u8,
    /// Who speaks.
    pub speaker: String,
    /// Its index for this digit and speaker.
    pub index: u32,
    /// The wav file.
    pub path: PathBuf,
}

/// How the recordings are split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Split {
    /// The dataset's own: indices below [`TEST_INDICES`] are the test set.
    Own,
    /// This speaker is the test set, the others the training set.
    LeaveOut(String),
}

impl Split {
    /// Whether `u` belongs to the test set.
    pub fn is_test(&self, u: &Utterance) -> bool {
        match self {
            Split::Own => u.index < TEST_INDICES,
            Split::LeaveOut(s) => &u.speaker == s,
        }
    }
}

/// Why the dataset could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FsddError {
    /// The folder could not be listed.
    #[error("{path}: {source} (FSDD's recordings are expected in <dir>/recordings; give the folder as an argument or in {DATA_ENV})")]
    Io {
        /// The folder.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A wav file's name is not `{digit}_{speaker}_{index}.wav`.
    #[error("{path}: not an FSDD file name (expected {{digit}}_{{speaker}}_{{index}}.wav)")]
    Name {
        /// The file.
        path: String,
    },
    /// The folder holds no recordings.
    #[error("{0}: no FSDD recordings")]
    Empty(String),
    /// A leave-one-speaker-out split names a speaker the data lacks.
    #[error("no recordings of speaker '{speaker}'; the data has {known}")]
    Speaker {
        /// The speaker asked for.
        speaker: String,
        /// The speakers present.
        known: String,
    },
}

/// The dataset: every recording, sorted by digit, speaker and index.
#[derive(Clone, Debug)]
pub struct Fsdd {
    dir: PathBuf,
    utterances: Vec<Utterance>,
}

impl Fsdd {
    /// The folder to read: `dir` if given, else [`DATA_ENV`], else
    /// [`DEFAULT_DIR`].
    pub fn locate(dir: Option<&Path>) -> PathBuf {
        Self::locate_from(dir, Path::new(""))
    }

    /// [`Fsdd::locate`] with [`DEFAULT_DIR`] taken from `root`, the
    /// project's root (tests run in their crate's folder).
    pub fn locate_from(dir: Option<&Path>, root: &Path) -> PathBuf {
        dir.map(Path::to_path_buf)
            .or_else(|| std::env::var_os(DATA_ENV).map(PathBuf::from))
            .unwrap_or_else(|| root.join(DEFAULT_DIR))
    }

    /// Lists `dir/recordings` (or `dir` itself when it holds the wav
    /// files). Files other than `.wav` are ignored; a `.wav` whose name does
    /// not parse is an error.
    pub fn open(dir: &Path) -> Result<Fsdd, FsddError> {
        let rec = dir.join("recordings");
        let folder = if rec.is_dir() { rec } else { dir.to_path_buf() };
        let io = |source| FsddError::Io {
            path: folder.display().to_string(),
            source,
        };
        let mut utterances = Vec::new();
        for entry in std::fs::read_dir(&folder).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_none_or(|e| e != "wav") {
                continue;
            }
            utterances.push(parse_name(&path)?);
        }
        if utterances.is_empty() {
            return Err(FsddError::Empty(folder.display().to_string()));
        }
        utterances.sort();
        Ok(Fsdd {
            dir: folder,
            utterances,
        })
    }

    /// The folder the recordings were read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every recording.
    pub fn utterances(&self) -> &[Utterance] {
        &self.utterances
    }

    /// The speakers, sorted.
    pub fn speakers(&self) -> Vec<String> {
        let s: BTreeSet<&str> = self.utterances.iter().map(|u| u.speaker.as_str()).collect();
        s.into_iter().map(String::from).collect()
    }

    /// Whether `split` can be made of this data (a held-out speaker must
    /// have recordings).
    pub fn check(&self, split: &Split) -> Result<(), FsddError> {
        match split {
            Split::LeaveOut(s) if !self.utterances.iter().any(|u| &u.speaker == s) => {
                Err(FsddError::Speaker {
                    speaker: s.clone(),
                    known: self.speakers().join(", "),
                })
            }
            _ => Ok(()),
        }
    }

    /// The training and test sets of `split`.
    pub fn split(&self, split: &Split) -> Result<(Vec<&Utterance>, Vec<&Utterance>), FsddError> {
        self.check(split)?;
        Ok(self.utterances.iter().partition(|u| !split.is_test(u)))
    }
}

/// `{digit}_{speaker}_{index}.wav` into its parts.
fn parse_name(path: &Path) -> Result<Utterance, FsddError> {
    let bad = || FsddError::Name {
        path: path.display().to_string(),
    };
    let stem = path.file_stem().and_then(|s| s.to_str()).ok_or_else(bad)?;
    let mut parts = stem.splitn(2, '_');
    let digit: u8 = parts
        .next()
        .and_then(|d| d.parse().ok())
        .filter(|&d| d <= 9)
        .ok_or_else(bad)?;
    let rest = parts.next().ok_or_else(bad)?;
    let (speaker, index) = rest.rsplit_once('_').ok_or_else(bad)?;
    let index: u32 = index.parse().map_err(|_| bad())?;
    if speaker.is_empty() {
        return Err(bad());
    }
    Ok(Utterance {
        digit,
        speaker: speaker.to_string(),
        index,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(dir: &Path, names: &[&str]) {
        let rec = dir.join("recordings");
        std::fs::create_dir_all(&rec).expect("dir");
        for n in names {
            std::fs::write(rec.join(n), b"").expect("file");
        }
    }

    #[test]
    fn names_parse_and_both_splits_partition_the_files() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut names = Vec::new();
        for digit in 0..10 {
            for sp in ["ann", "bo_b"] {
                for i in 0..7 {
                    names.push(format!("{digit}_{sp}_{i}.wav"));
                }
            }
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        fake(d.path(), &refs);
        std::fs::write(d.path().join("recordings/README.md"), b"").expect("file");
        let f = Fsdd::open(d.path()).expect("open");
        assert_eq!(f.utterances().len(), 140);
        assert_eq!(f.speakers(), vec!["ann".to_string(), "bo_b".to_string()]);
        let (train, test) = f.split(&Split::Own).expect("split");
        assert_eq!((train.len(), test.len()), (40, 100));
        assert!(test.iter().all(|u| u.index < 5) && train.iter().all(|u| u.index >= 5));
        let (train, test) = f.split(&Split::LeaveOut("bo_b".into())).expect("split");
        assert_eq!((train.len(), test.len()), (70, 70));
        assert!(test.iter().all(|u| u.speaker == "bo_b"));
        assert!(train.iter().all(|u| u.speaker == "ann"));
        let e = f
            .split(&Split::LeaveOut("carl".into()))
            .expect_err("unknown");
        assert!(e.to_string().contains("ann, bo_b"), "{e}");
    }

    #[test]
    fn bad_names_and_missing_folders_say_what_is_wrong() {
        let d = tempfile::tempdir().expect("tempdir");
        fake(d.path(), &["3_ann_1.wav", "x_ann_2.wav"]);
        let e = Fsdd::open(d.path()).expect_err("bad name");
        assert!(e.to_string().contains("x_ann_2.wav"), "{e}");
        let e = Fsdd::open(&d.path().join("nowhere")).expect_err("missing");
        assert!(e.to_string().contains(DATA_ENV), "{e}");
        let empty = tempfile::tempdir().expect("tempdir");
        let e = Fsdd::open(empty.path()).expect_err("empty");
        assert!(e.to_string().contains("no FSDD recordings"), "{e}");
    }

    #[test]
    fn the_folder_comes_from_the_argument_then_the_environment() {
        let given = Path::new("/data/fsdd");
        assert_eq!(Fsdd::locate(Some(given)), given);
        // Without an argument: the variable if set, else the default.
        let expect = std::env::var_os(DATA_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
        assert_eq!(Fsdd::locate(None), expect);
    }
}
