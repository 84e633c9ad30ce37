//! Diagnostics: every problem found in a job file, each with file, line, column and key.

use std::fmt;

/// A position in a job file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mark {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem in a job file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the problem is; `None` when it concerns the whole file.
    pub mark: Option<Mark>,
    /// The dotted key path, e.g. `pipeline.processors[1].condition`.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Diagnostic {
    pub fn new(mark: Option<Mark>, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            mark,
            key: key.into(),
            message: message.into(),
        }
    }
}

/// All problems found in one job file, reported together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// The file the problems are in (`<inline>` for a job given as text).
    pub file: String,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(file: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            items: Vec::new(),
        }
    }

    pub fn push(&mut self, mark: Option<Mark>, key: impl Into<String>, message: impl Into<String>) {
        self.items.push(Diagnostic::new(mark, key, message));
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// `Ok(value)` when nothing was reported, else the diagnostics as an error.
    pub fn into_result<T>(mut self, value: T) -> Result<T, Error> {
        if self.items.is_empty() {
            Ok(value)
        } else {
            self.items
                .sort_by_key(|d| d.mark.map(|m| (m.line, m.column)));
            Err(Error::Invalid(self))
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.items.len();
        write!(
            f,
            "{} has {} problem{}:",
            self.file,
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for d in &self.items {
            match d.mark {
                Some(m) => write!(f, "\n  {}:{}: ", self.file, m)?,
                None => write!(f, "\n  {}: ", self.file)?,
            }
            if d.key.is_empty() {
                write!(f, "{}", d.message)?;
            } else {
                write!(f, "`{}`: {}", d.key, d.message)?;
            }
        }
        Ok(())
    }
}

/// Errors of the config crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read job file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Diagnostics),
}

impl Error {
    /// The diagnostics, when the error is about the content of the file.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            Error::Invalid(d) => Some(d),
            Error::Read { .. } => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// "did you mean `x`?" for the closest candidate, if any is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Edit distance (with swaps: `cvs` → `csv`) for short words, similarity for long ones.
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter_map(|c| {
            let edits = strsim::damerau_levenshtein(word, c);
            let close = edits <= limit || strsim::jaro_winkler(word, c) > 0.85;
            close.then_some((edits, c))
        })
        .min_by_key(|(edits, _)| *edits)
        .map(|(_, c)| c)
}

/// A message for an unknown name: the suggestion (if any) and every valid choice.
pub fn unknown_message(what: &str, word: &str, choices: &[&str]) -> String {
    let mut msg = format!("unknown {what} `{word}`");
    if let Some(s) = did_you_mean(word, choices.iter().copied()) {
        msg.push_str(&format!("; did you mean `{s}`?"));
    } else {
        msg.push('.');
    }
    let mut unique: Vec<&str> = Vec::new();
    for c in choices {
        if !unique.contains(c) {
            unique.push(c);
        }
    }
    msg.push_str(&format!(" Valid: {}", unique.join(", ")));
    msg
}
