//! `schedule:` of a job: when `fust serve` runs it, what happens when runs overlap or fail,
//! and which jobs it waits for. `fust run` ignores this section (it checks it).

use std::str::FromStr;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::settings::Duration;

/// When and how the job service runs the job. Every key is optional; a job without `cron`
/// or `after` runs only when triggered (`POST /jobs/{name}/runs`).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Schedule {
    /// Cron expression: five fields (`minute hour day-of-month month day-of-week`), or six
    /// with seconds first; `@hourly`, `@daily` etc. also work. E.g. `*/15 * * * *`.
    #[serde(default)]
    pub cron: Option<String>,
    /// IANA time zone the cron expression is read in, e.g. `Europe/Berlin`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// What a due run does while another run of the job is still pending or running:
    /// `skip` it, `queue` it behind the active one, or `allow` both to run at once.
    #[serde(default)]
    pub overlap: Overlap,
    /// Jobs this one waits for: when each of them has succeeded since this job's last run,
    /// this job runs.
    #[serde(default)]
    pub after: Vec<String>,
    /// Retries of a failed run (not of a cancelled one) before the run is given up.
    #[serde(default)]
    pub max_retries: u32,
    /// Wait before the first retry; each further retry waits twice as long.
    #[serde(default = "default_backoff")]
    pub retry_backoff: Duration,
    /// Cron times that passed while the server was down: `run_once` starts one run when
    /// the server comes back, `skip` waits for the next cron time.
    #[serde(default)]
    pub missed: Missed,
}

/// See [`Schedule::overlap`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    #[default]
    Skip,
    Queue,
    Allow,
}

/// See [`Schedule::missed`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Missed {
    #[default]
    RunOnce,
    Skip,
}

fn default_timezone() -> String {
    "UTC".to_string()
}

const fn default_backoff() -> Duration {
    Duration(std::time::Duration::from_secs(10))
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            cron: None,
            timezone: default_timezone(),
            overlap: Overlap::default(),
            after: Vec::new(),
            max_retries: 0,
            retry_backoff: default_backoff(),
            missed: Missed::default(),
        }
    }
}

impl Schedule {
    /// The parsed cron expression, or why it is not one.
    pub fn cron(&self) -> Option<Result<croner::Cron, String>> {
        self.cron.as_deref().map(parse_cron)
    }

    /// The parsed time zone, or why it is not one.
    pub fn tz(&self) -> Result<chrono_tz::Tz, String> {
        chrono_tz::Tz::from_str(&self.timezone).map_err(|_| {
            format!(
                "`{}` is not an IANA time zone; expected e.g. UTC, Europe/Berlin or America/New_York",
                self.timezone
            )
        })
    }
}

/// Parses a cron expression (seconds optional).
pub fn parse_cron(expr: &str) -> Result<croner::Cron, String> {
    croner::Cron::from_str(expr.trim()).map_err(|e| {
        format!(
            "`{expr}` is not a cron expression ({e}); expected five fields `minute hour day month weekday`, six with seconds first, or @hourly/@daily/@weekly/@monthly"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_with_and_without_seconds() {
        assert!(parse_cron("*/15 * * * *").is_ok());
        assert!(parse_cron("*/5 * * * * *").is_ok());
        assert!(parse_cron("@daily").is_ok());
        let err = parse_cron("every minute").unwrap_err();
        assert!(err.contains("five fields"), "{err}");
    }

    #[test]
    fn time_zones() {
        let s = Schedule {
            timezone: "Europe/Berlin".into(),
            ..Schedule::default()
        };
        assert!(s.tz().is_ok());
        let bad = Schedule {
            timezone: "Mars/Olympus".into(),
            ..Schedule::default()
        };
        assert!(bad.tz().unwrap_err().contains("IANA"));
    }
}
