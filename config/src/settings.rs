//! `settings:` of a job: batch size, memory limit, parallelism, buffering.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

/// Run-time settings of a job. Every key is optional.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Settings {
    /// Rows per Arrow batch read from sources and handed to sinks.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Memory the query engine may use for joins, sorts and aggregates before it spills
    /// to disk, e.g. `512MB` or `2GiB`. Unset: no limit.
    #[serde(default)]
    pub memory_limit: Option<ByteSize>,
    /// Directory for spill files (default: the system temp directory).
    #[serde(default)]
    pub spill_dir: Option<String>,
    /// Parallel partitions the plan runs in (default: twice the CPU cores, so parsing,
    /// encoding and I/O overlap).
    #[serde(default)]
    pub parallelism: Option<usize>,
    /// Most bytes of batches buffered between the plan and the sink, e.g. `64MB`.
    /// A full buffer pauses the sources (backpressure).
    #[serde(default = "default_buffer")]
    pub sink_buffer: ByteSize,
    /// Keep the input's row order in the output (reads each file in one stream; slower).
    #[serde(default)]
    pub preserve_order: bool,
    /// What a bad record does: a record that fails to parse, to convert, or that the
    /// output rejects alone. `fail` stops the run at the first; `skip` drops it and goes on;
    /// `dead_letter` writes it to the job's `dead_letter:` output. Bad records are counted
    /// in the run summary either way.
    #[serde(default)]
    pub on_error: OnError,
    /// With `skip` or `dead_letter`, the most bad records a run may have and still
    /// publish: a count (`100`: the 101st fails the run) or a percentage of the records
    /// read (`'1%'`, checked when the input is read). Unset: no limit.
    #[serde(default)]
    pub max_errors: Option<MaxErrors>,
    /// Stream jobs: how often an epoch closes and commits its records with the source
    /// positions they came from, e.g. `1s`, `500ms`, `1m`.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: Duration,
    /// Stream jobs: an epoch also closes early when it holds this many records.
    #[serde(default = "default_checkpoint_rows")]
    pub checkpoint_rows: u64,
    /// Stream jobs: on Ctrl-C or SIGTERM the current epoch finishes and commits; if that
    /// takes longer than this, it is rolled back instead (its records are read again on
    /// the next start) and the run exits with an error.
    #[serde(default = "default_drain_timeout")]
    pub drain_timeout: Duration,
    /// Stream jobs: commit and stop with success when no new record has come for this
    /// long (for backfills and tests); a Kafka input also waits for the partitions other
    /// members of its group hold to have nothing left to read. Unset: run until stopped.
    #[serde(default)]
    pub stop_when_idle: Option<Duration>,
    /// Stream jobs: commit and stop with success after this many records.
    #[serde(default)]
    pub stop_after_records: Option<u64>,
}

/// `settings.on_error`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Stop the run at the first bad record, naming it; nothing is published.
    #[default]
    Fail,
    /// Drop bad records (counted in the summary).
    Skip,
    /// Write bad records to the `dead_letter:` output.
    DeadLetter,
}

/// `settings.max_errors`: a count, or a percentage of the records read (`'0.5%'`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxErrors {
    Count(u64),
    Percent(f64),
}

impl fmt::Display for MaxErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxErrors::Count(n) => write!(f, "{n}"),
            MaxErrors::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl<'de> Deserialize<'de> for MaxErrors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        const EXPECTED: &str = "expected a count such as 100 or a percentage such as '1%'";
        let parsed = match Raw::deserialize(d).map_err(|_| serde::de::Error::custom(EXPECTED))? {
            Raw::N(n) => Some(MaxErrors::Count(n)),
            Raw::S(s) => match s.trim().strip_suffix('%') {
                Some(p) => p
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))
                    .map(MaxErrors::Percent),
                None => s.trim().parse().ok().map(MaxErrors::Count),
            },
        };
        parsed.ok_or_else(|| serde::de::Error::custom(EXPECTED))
    }
}

impl JsonSchema for MaxErrors {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MaxErrors".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A count of bad records, or a percentage of the records read such as '1%'.",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*%?\\s*$"}
            ]
        })
    }
}

const fn default_batch_size() -> usize {
    16384
}

const fn default_checkpoint_interval() -> Duration {
    Duration(std::time::Duration::from_secs(1))
}

const fn default_checkpoint_rows() -> u64 {
    1_000_000
}

const fn default_drain_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(30))
}

const fn default_buffer() -> ByteSize {
    ByteSize(64 << 20)
}

/// Why `value` is not in `min..=max`, or `None` when it is: every count or size read from a
/// job is bounded (settings here, plugin options through `OptionError::check_range`).
pub fn out_of_range<T: PartialOrd + fmt::Display>(value: T, min: T, max: T) -> Option<String> {
    (value < min || value > max).then(|| format!("{value} is out of range: use {min} to {max}"))
}

/// Upper bounds of the settings: every size read from a job file is bounded.
pub const MAX_BATCH_SIZE: usize = 1 << 20;
pub const MAX_PARALLELISM: usize = 1024;
pub const MAX_SINK_BUFFER: u64 = 16 << 30;
pub const MAX_CHECKPOINT_ROWS: u64 = 1 << 40;

impl Settings {
    /// Settings outside their range, as (key, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(m) = out_of_range(self.batch_size, 1, MAX_BATCH_SIZE) {
            out.push(("batch_size", m));
        }
        if let Some(m) = self
            .parallelism
            .and_then(|p| out_of_range(p, 1, MAX_PARALLELISM))
        {
            out.push(("parallelism", m));
        }
        if let Some(m) = out_of_range(self.sink_buffer, ByteSize(1), ByteSize(MAX_SINK_BUFFER)) {
            out.push(("sink_buffer", m));
        }
        let (least, day) = (
            std::time::Duration::from_millis(10),
            std::time::Duration::from_secs(86_400),
        );
        for (key, d) in [
            ("checkpoint_interval", Some(self.checkpoint_interval)),
            ("drain_timeout", Some(self.drain_timeout)),
            ("stop_when_idle", self.stop_when_idle),
        ] {
            if let Some(m) = d.and_then(|d| out_of_range(d, Duration(least), Duration(day))) {
                out.push((key, m));
            }
        }
        if let Some(m) = out_of_range(self.checkpoint_rows, 1, MAX_CHECKPOINT_ROWS) {
            out.push(("checkpoint_rows", m));
        }
        out
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch_size: default_batch_size(),
            memory_limit: None,
            spill_dir: None,
            parallelism: None,
            sink_buffer: default_buffer(),
            preserve_order: false,
            on_error: OnError::Fail,
            max_errors: None,
            checkpoint_interval: default_checkpoint_interval(),
            checkpoint_rows: default_checkpoint_rows(),
            drain_timeout: default_drain_timeout(),
            stop_when_idle: None,
            stop_after_records: None,
        }
    }
}

/// A size in bytes, written as a number or with a unit: `1024`, `64KB`, `512MiB`, `2GB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a size; expected e.g. 512MB, 2GiB or 1048576"))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => 1 << 20,
            "g" | "gb" | "gib" => 1 << 30,
            "t" | "tb" | "tib" => 1 << 40,
            other => {
                return Err(format!(
                    "unknown size unit `{other}` in `{s}`; expected B, KB, MB, GB or TB"
                ));
            }
        };
        Ok(ByteSize((n * mult as f64) as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0 as f64;
        if b >= (1u64 << 30) as f64 {
            write!(f, "{:.1} GiB", b / (1u64 << 30) as f64)
        } else if b >= (1u64 << 20) as f64 {
            write!(f, "{:.1} MiB", b / (1u64 << 20) as f64)
        } else if b >= 1024.0 {
            write!(f, "{:.1} KiB", b / 1024.0)
        } else {
            write!(f, "{} B", self.0)
        }
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("expected a size such as 512MB, 2GiB or 1048576")
        })? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => ByteSize::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ByteSize".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A size: bytes as an integer, or a number with a unit (KB, MB, GB, TB; KiB.. accepted)",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^[0-9.]+ *([kKmMgGtT]i?[bB]?|[bB])?$"}
            ]
        })
    }
}

/// A duration written with a unit: `500ms`, `30s`, `5m`, `2h`; a bare number is seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a duration; expected e.g. 500ms, 30s, 5m or 2h"))?;
        let secs = match unit.trim().to_ascii_lowercase().as_str() {
            "ms" => n / 1000.0,
            "" | "s" | "sec" => n,
            "m" | "min" => n * 60.0,
            "h" => n * 3600.0,
            other => {
                return Err(format!(
                    "unknown duration unit `{other}` in `{s}`; expected ms, s, m or h"
                ));
            }
        };
        Ok(Duration(std::time::Duration::from_secs_f64(secs)))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        match ms {
            _ if ms.is_multiple_of(3_600_000) && ms > 0 => write!(f, "{}h", ms / 3_600_000),
            _ if ms.is_multiple_of(60_000) && ms > 0 => write!(f, "{}m", ms / 60_000),
            _ if ms.is_multiple_of(1000) => write!(f, "{}s", ms / 1000),
            _ => write!(f, "{ms}ms"),
        }
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a duration such as 30s, 5m or 500ms"))?
        {
            Raw::N(n) => Ok(Duration(std::time::Duration::from_secs(n))),
            Raw::S(s) => Duration::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: seconds as an integer, or a number with a unit (ms, s, m, h)",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^[0-9.]+ *(ms|s|sec|m|min|h)?$"}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("512MB"), Ok(ByteSize(512 << 20)));
        assert_eq!(ByteSize::parse("2GiB"), Ok(ByteSize(2 << 30)));
        assert_eq!(ByteSize::parse("100"), Ok(ByteSize(100)));
        assert!(ByteSize::parse("12 parsecs").is_err());
        assert!(ByteSize::parse("lots").is_err());
    }

    #[test]
    fn durations() {
        let secs = |s| Duration::parse(s).map(|d| d.0.as_secs_f64());
        assert_eq!(secs("30s"), Ok(30.0));
        assert_eq!(secs("500ms"), Ok(0.5));
        assert_eq!(secs("2m"), Ok(120.0));
        assert_eq!(secs("1h"), Ok(3600.0));
        assert_eq!(secs("7"), Ok(7.0));
        assert!(Duration::parse("3 fortnights").is_err());
    }
}
