//! The job file model: `input`/`inputs` → `pipeline.processors` → `output`, plus `settings`.
//!
//! Plugin sections (inputs, processors, output) are kept as a `type` plus raw options with
//! their positions; the registry that knows each plugin turns them into typed configs with
//! [`PluginSpec::parse_options`], so every problem in every section is reported at once.

use std::collections::HashMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Diagnostics, Error, Mark, Result, unknown_message};
use crate::schedule::Schedule;
use crate::settings::{OnError, Settings};
use crate::yaml::{self, Node, Value};

/// The name under which the main input (and the stream so far) is visible to SQL.
pub const MAIN_INPUT: &str = "input";

/// The name of the output written as `output:`.
pub const MAIN_OUTPUT: &str = "output";

/// One plugin section of a job: its `type` and its other keys.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSpec {
    /// The `type:` value, e.g. `csv` or `filter`.
    pub kind: String,
    /// Every key but `type`, in file order.
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Where the section starts.
    pub mark: Mark,
    /// The section's path in the job file, e.g. `pipeline.processors[2]`.
    pub path: String,
    /// Positions of every option and nested value, by dotted path.
    marks: HashMap<String, Mark>,
}

/// What a plugin section is, for messages ("input", "processor", "output").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginRole {
    Source,
    Processor,
    Sink,
}

impl PluginRole {
    pub fn noun(self) -> &'static str {
        match self {
            PluginRole::Source => "input",
            PluginRole::Processor => "processor",
            PluginRole::Sink => "output",
        }
    }
}

impl PluginSpec {
    /// Builds a spec from parts (for jobs made in code, e.g. by tests or the API).
    pub fn new(kind: impl Into<String>, options: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            options: match options {
                serde_json::Value::Object(m) => m,
                _ => serde_json::Map::new(),
            },
            mark: Mark::default(),
            path: String::new(),
            marks: HashMap::new(),
        }
    }

    /// Position of an option (its key), or of the section when unknown.
    pub fn mark_of(&self, key: &str) -> Mark {
        self.marks
            .get(&format!("{key}#key"))
            .or_else(|| self.marks.get(key))
            .copied()
            .unwrap_or(self.mark)
    }

    /// Position of an option's value, when the option is present.
    pub fn value_mark(&self, key: &str) -> Option<Mark> {
        self.marks.get(key).copied()
    }

    /// Where every option and nested value starts, by dotted path.
    pub fn value_marks(&self) -> impl Iterator<Item = (&str, Mark)> {
        self.marks.iter().map(|(k, m)| (k.as_str(), *m))
    }

    fn key_path(&self, key: &str) -> String {
        if key.is_empty() {
            self.path.clone()
        } else if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Parses the options into `T`, reporting unknown keys (with did-you-mean and the
    /// valid choices) and type errors at their line and column. `T`'s JSON Schema gives
    /// the known keys, so the check can't drift from the struct.
    pub fn parse_options<T: DeserializeOwned + JsonSchema>(
        &self,
        diags: &mut Diagnostics,
    ) -> Option<T> {
        let schema = schemars::schema_for!(T);
        let known: Vec<&str> = schema
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut ok = true;
        for key in self.options.keys() {
            if !known.contains(&key.as_str()) {
                ok = false;
                diags.push(
                    Some(self.mark_of(key)),
                    self.key_path(key),
                    unknown_message(&format!("{} option", self.kind), key, &known),
                );
            }
        }
        if !ok {
            return None;
        }
        let value = serde_json::Value::Object(self.options.clone());
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let path = e.path().to_string();
                let path = if path == "." { String::new() } else { path };
                let mark = if path.is_empty() {
                    self.mark
                } else {
                    self.marks.get(&path).copied().unwrap_or(self.mark)
                };
                diags.push(
                    Some(mark),
                    self.key_path(&path),
                    plain_types(&e.into_inner().to_string()),
                );
                None
            }
        }
    }
}

/// serde names Rust types ("expected usize"); say what a user would write instead.
fn plain_types(msg: &str) -> String {
    let mut out = msg.to_string();
    for (rust, plain) in [
        ("expected usize", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer"),
        ("expected f64", "expected a number"),
    ] {
        out = out.replace(rust, plain);
    }
    out
}

/// A parsed job file.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    /// The file the job came from (`<inline>` for text).
    pub file: String,
    pub name: Option<String>,
    /// The named inputs; the main one is called `input` ([`MAIN_INPUT`]).
    pub inputs: Vec<(String, PluginSpec)>,
    pub processors: Vec<PluginSpec>,
    /// The named outputs; `output:` is the one called `output` ([`MAIN_OUTPUT`]).
    pub outputs: Vec<(String, PluginSpec)>,
    /// `dead_letter:`, where bad records go under `settings.on_error: dead_letter`.
    pub dead_letter: Option<PluginSpec>,
    pub settings: Settings,
    /// `schedule:` (used by `fust serve`).
    pub schedule: Option<Schedule>,
}

/// Top-level keys of a job file.
pub const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "input",
    "inputs",
    "pipeline",
    "output",
    "outputs",
    "dead_letter",
    "settings",
    "schedule",
];

impl JobSpec {
    /// Reads and parses a job file (structure only; plugins are checked by the registry).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_str(&text, &path.display().to_string())
    }

    /// Parses job text; `file` names it in messages.
    pub fn from_str(text: &str, file: &str) -> Result<Self> {
        let (job, diags) = Self::parse_partial(text, file);
        diags.into_result(job)
    }

    /// Parses as much of the job as it can, with every structural problem found; the
    /// plugins that did parse can still be checked, so all problems are reported at once.
    pub fn parse_partial(text: &str, file: &str) -> (Self, Diagnostics) {
        Self::parse_partial_with(text, file, &crate::Variables::Environment)
    }

    /// [`parse_partial`](Self::parse_partial) with `${...}` values from `vars` (a server's
    /// rules for jobs submitted over HTTP).
    pub fn parse_partial_with(
        text: &str,
        file: &str,
        vars: &crate::Variables,
    ) -> (Self, Diagnostics) {
        let mut diags = Diagnostics::new(file);
        let Some(root) = yaml::parse_with_env(text, &mut diags, &|name| vars.lookup(name)) else {
            if diags.is_empty() {
                diags.push(
                    None,
                    "",
                    "the job file is empty; expected a mapping with `input` and `output`",
                );
            }
            return (Self::empty(file), diags);
        };
        let job = Self::from_node(&root, file, &mut diags);
        (job, diags)
    }

    /// Reads a file for [`parse_partial`](Self::parse_partial).
    pub fn read_partial(path: &Path) -> Result<(Self, Diagnostics)> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self::parse_partial(&text, &path.display().to_string()))
    }

    fn empty(file: &str) -> Self {
        JobSpec {
            file: file.to_string(),
            name: None,
            inputs: Vec::new(),
            processors: Vec::new(),
            outputs: Vec::new(),
            dead_letter: None,
            settings: Settings::default(),
            schedule: None,
        }
    }

    fn from_node(root: &Node, file: &str, diags: &mut Diagnostics) -> Self {
        let mut job = Self::empty(file);
        let Some(entries) = root.entries() else {
            diags.push(
                Some(root.mark),
                "",
                format!(
                    "a job file must be a mapping with `input` and `output`, found {}",
                    root.kind()
                ),
            );
            return job;
        };
        let mut saw_input = false;
        for (key, key_mark, node) in entries {
            match key.as_str() {
                "name" | "description" => match &node.value {
                    Value::String(s) if key == "name" => job.name = Some(s.clone()),
                    Value::String(_) => {}
                    _ => diags.push(
                        Some(node.mark),
                        key.clone(),
                        format!("expected a string, found {}", node.kind()),
                    ),
                },
                "input" => {
                    saw_input = true;
                    if let Some(p) = plugin(node, "input", diags) {
                        job.inputs.insert(0, (MAIN_INPUT.to_string(), p));
                    }
                }
                "inputs" => {
                    saw_input = true;
                    let also_main = entries.iter().any(|(k, _, _)| k == "input");
                    job.inputs
                        .extend(named_sections(node, "input", also_main, diags));
                }
                "pipeline" => {
                    let (list, lookups) = processors(node, diags);
                    job.processors = list;
                    job.inputs.extend(lookups);
                }
                "output" => {
                    if let Some(p) = plugin(node, "output", diags) {
                        job.outputs.insert(0, (MAIN_OUTPUT.to_string(), p));
                    }
                }
                "outputs" => {
                    let also_main = entries.iter().any(|(k, _, _)| k == "output");
                    job.outputs
                        .extend(named_sections(node, "output", also_main, diags));
                }
                "dead_letter" => job.dead_letter = plugin(node, "dead_letter", diags),
                "settings" => {
                    let spec = section(node, "settings");
                    if let Some(s) = spec.parse_options::<Settings>(diags) {
                        for (key, message) in s.problems() {
                            diags.push(
                                spec.value_mark(key).or(Some(spec.mark)),
                                format!("settings.{key}"),
                                message,
                            );
                        }
                        job.settings = s;
                    }
                }
                "schedule" => job.schedule = schedule(node, diags),
                other => diags.push(
                    Some(*key_mark),
                    other,
                    unknown_message("top-level key", other, TOP_KEYS),
                ),
            }
        }
        if !saw_input {
            diags.push(
                Some(root.mark),
                "input",
                "missing `input` (or `inputs`): where should the data come from?",
            );
        }
        if !entries
            .iter()
            .any(|(k, _, _)| k == "output" || k == "outputs")
        {
            diags.push(
                Some(root.mark),
                "output",
                "missing `output` (or `outputs`): where should the data go? (use `type: console` to print it)",
            );
        }
        let dead_letter_key = entries.iter().find(|(k, _, _)| k == "dead_letter");
        match (job.settings.on_error, dead_letter_key) {
            (OnError::DeadLetter, None) => diags.push(
                Some(root.mark),
                "settings.on_error",
                "`on_error: dead_letter` needs a `dead_letter:` output beside `output:`, e.g. `dead_letter: {type: json, path: out/rejects.json}`",
            ),
            (OnError::Fail | OnError::Skip, Some((_, mark, _))) => diags.push(
                Some(*mark),
                "dead_letter",
                format!(
                    "`dead_letter:` is only written with `settings: {{on_error: dead_letter}}` (on_error is `{}`)",
                    if job.settings.on_error == OnError::Fail { "fail" } else { "skip" }
                ),
            ),
            _ => {}
        }
        // Processors see the stream so far as `input`; a multi-input job needs one main input.
        if saw_input
            && !job.inputs.is_empty()
            && !job.inputs.iter().any(|(n, _)| n == MAIN_INPUT)
            && job.processors.is_empty()
        {
            diags.push(Some(root.mark), "pipeline", "with `inputs:` and no input called `input`, add a `sql` processor that says how the inputs combine");
        }
        job
    }

    /// Every plugin section: the inputs, the processors, then the outputs.
    pub fn sections(&self) -> impl Iterator<Item = &PluginSpec> {
        self.inputs
            .iter()
            .map(|(_, p)| p)
            .chain(self.processors.iter())
            .chain(self.outputs.iter().map(|(_, p)| p))
            .chain(self.dead_letter.as_ref())
    }

    /// The outputs for messages: `csv` for a lone `output:`, else `big (parquet), eu (csv)`.
    pub fn describe_outputs(&self) -> String {
        match self.outputs.as_slice() {
            [(name, p)] if name == MAIN_OUTPUT => p.kind.clone(),
            all => all
                .iter()
                .map(|(n, p)| format!("{n} ({})", p.kind))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The main input (named `input`), if any.
    pub fn main_input(&self) -> Option<&PluginSpec> {
        self.inputs
            .iter()
            .find(|(n, _)| n == MAIN_INPUT)
            .map(|(_, p)| p)
    }
}

/// The sections of `inputs:` or `outputs:` (`noun` is `input` or `output`) by name;
/// `also_main` says the job has the `input:`/`output:` key too, which owns that name.
fn named_sections(
    node: &Node,
    noun: &str,
    also_main: bool,
    diags: &mut Diagnostics,
) -> Vec<(String, PluginSpec)> {
    let key = format!("{noun}s");
    let Some(named) = node.entries().filter(|n| !n.is_empty()) else {
        diags.push(
            Some(node.mark),
            key,
            format!("expected a non-empty mapping of {noun} name → {noun} section"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, name_mark, n) in named {
        let path = format!("{key}.{name}");
        if !is_identifier(name) {
            diags.push(
                Some(*name_mark),
                path.clone(),
                format!("an {noun} name must be a SQL identifier (letters, digits, `_`; not starting with a digit)"),
            );
        }
        if name == noun && also_main {
            diags.push(
                Some(*name_mark),
                path.clone(),
                format!("`{noun}` is defined twice (as `{noun}:` and in `{key}:`)"),
            );
        }
        if let Some(p) = plugin(n, &path, diags) {
            out.push((name.clone(), p));
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses a whole YAML document (with `${VAR}` interpolation) into `T`, with every
/// unknown key and type error reported at its line and column (used for `fust serve`'s
/// config file). `what` names the document in messages, e.g. `server config`.
pub fn parse_document<T: DeserializeOwned + JsonSchema>(
    text: &str,
    file: &str,
    what: &str,
) -> Result<T> {
    let mut diags = Diagnostics::new(file);
    let value = match yaml::parse(text, &mut diags) {
        Some(node) if node.entries().is_some() => {
            let mut spec = section(&node, "");
            spec.kind = what.to_string();
            spec.parse_options::<T>(&mut diags)
        }
        Some(node) => {
            diags.push(
                Some(node.mark),
                "",
                format!("expected a mapping, found {}", node.kind()),
            );
            None
        }
        None => {
            let empty = PluginSpec::new(what, serde_json::Value::Object(Default::default()));
            empty.parse_options::<T>(&mut diags)
        }
    };
    match value {
        Some(v) => diags.into_result(v),
        None => {
            if diags.is_empty() {
                diags.push(None, "", format!("cannot read the {what}"));
            }
            Err(Error::Invalid(diags))
        }
    }
}

/// A mapping node as a spec without a `type` (used for `settings`).
fn section(node: &Node, path: &str) -> PluginSpec {
    let mut marks = HashMap::new();
    node.collect_marks("", &mut marks);
    let options = match node.to_json() {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    PluginSpec {
        kind: path.to_string(),
        options,
        mark: node.mark,
        path: path.to_string(),
        marks,
    }
}

fn plugin(node: &Node, path: &str, diags: &mut Diagnostics) -> Option<PluginSpec> {
    let Some(entries) = node.entries() else {
        diags.push(
            Some(node.mark),
            path,
            format!(
                "expected a mapping with a `type` key, found {}",
                node.kind()
            ),
        );
        return None;
    };
    let mut spec = section(node, path);
    match entries.iter().find(|(k, _, _)| k == "type") {
        Some((_, _, t)) => match t.as_str() {
            Some(kind) => spec.kind = kind.to_string(),
            None => {
                diags.push(
                    Some(t.mark),
                    format!("{path}.type"),
                    format!("expected a plugin name, found {}", t.kind()),
                );
                return None;
            }
        },
        None => {
            diags.push(
                Some(node.mark),
                format!("{path}.type"),
                "missing `type` (which connector or processor is this?)",
            );
            return None;
        }
    }
    spec.options.remove("type");
    Some(spec)
}

/// The input name an inline `enrich` lookup of processor `i` is read as.
pub fn inline_lookup_name(i: usize) -> String {
    format!("__lookup_{i}")
}

/// The processors, and the inputs their inline specs define: an `enrich` whose `lookup`
/// is an input spec (a mapping with `type`) reads it as an input of its own, named by
/// [`inline_lookup_name`], and its `lookup` becomes that name.
fn processors(
    node: &Node,
    diags: &mut Diagnostics,
) -> (Vec<PluginSpec>, Vec<(String, PluginSpec)>) {
    let Some(entries) = node.entries() else {
        diags.push(
            Some(node.mark),
            "pipeline",
            format!(
                "expected a mapping with `processors`, found {}",
                node.kind()
            ),
        );
        return (Vec::new(), Vec::new());
    };
    let mut out = Vec::new();
    let mut lookups = Vec::new();
    for (key, key_mark, n) in entries {
        if key != "processors" {
            diags.push(
                Some(*key_mark),
                format!("pipeline.{key}"),
                unknown_message("key", key, &["processors"]),
            );
            continue;
        }
        match &n.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("pipeline.processors[{i}]");
                    if let Some(mut p) = plugin(item, &path, diags) {
                        let inline = p.kind == "enrich"
                            && p.options
                                .get("lookup")
                                .is_some_and(|l| l.get("type").is_some());
                        let node = item.entries().and_then(|e| {
                            e.iter().find(|(k, _, _)| k == "lookup").map(|(_, _, n)| n)
                        });
                        if let (true, Some(node)) = (inline, node)
                            && let Some(spec) = plugin(node, &format!("{path}.lookup"), diags)
                        {
                            let name = inline_lookup_name(i);
                            p.options
                                .insert("lookup".into(), serde_json::Value::String(name.clone()));
                            lookups.push((name, spec));
                        }
                        out.push(p);
                    }
                }
            }
            Value::Null => {}
            _ => diags.push(
                Some(n.mark),
                "pipeline.processors",
                format!("expected a list of processors, found {}", n.kind()),
            ),
        }
    }
    (out, lookups)
}

/// Parses `schedule:` and checks its cron expression and time zone at their positions.
fn schedule(node: &Node, diags: &mut Diagnostics) -> Option<Schedule> {
    let spec = section(node, "schedule");
    let s = spec.parse_options::<Schedule>(diags)?;
    if let Some(Err(e)) = s.cron() {
        diags.push(Some(spec.mark_of("cron")), "schedule.cron", e);
    }
    if let Err(e) = s.tz() {
        diags.push(Some(spec.mark_of("timezone")), "schedule.timezone", e);
    }
    for (i, upstream) in s.after.iter().enumerate() {
        if upstream.trim().is_empty() {
            diags.push(
                Some(spec.mark_of("after")),
                format!("schedule.after[{i}]"),
                "expected a job name",
            );
        }
    }
    Some(s)
}

/// A value that must not be printed: shown as `***` in Debug, Display and Serialize.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

/// A string marked `writeOnly`, which is how tools (and `fust serve`) tell a secret option.
impl JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "writeOnly": true})
    }
}

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; call only where it is handed to a client library.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct CsvLike {
        #[allow(dead_code)]
        path: String,
        #[serde(default)]
        #[allow(dead_code)]
        has_header: bool,
    }

    const JOB: &str = "\
name: t
input:
  type: csv
  path: a.csv
  has_headr: true
pipeline:
  processors:
    - type: filter
      condition: x > 1
output:
  type: parquet
  path: out.parquet
settings:
  batch_size: nope
";

    #[test]
    fn structure_and_positions() {
        let err = JobSpec::from_str(JOB, "job.yaml").expect_err("settings invalid");
        let msg = err.to_string();
        assert!(msg.contains("job.yaml:14:15"), "{msg}");
        assert!(msg.contains("settings.batch_size"), "{msg}");
    }

    #[test]
    fn unknown_option_with_suggestion_at_its_line() {
        let job = JobSpec::from_str(
            &JOB.replace("batch_size: nope", "batch_size: 10"),
            "job.yaml",
        )
        .expect("structure ok");
        assert_eq!(job.settings.batch_size, 10);
        let input = job.main_input().expect("input");
        let mut d = Diagnostics::new("job.yaml");
        assert!(input.parse_options::<CsvLike>(&mut d).is_none());
        let msg = d.to_string();
        assert!(msg.contains("job.yaml:5:3"), "{msg}");
        assert!(msg.contains("did you mean `has_header`"), "{msg}");
        assert!(msg.contains("Valid: path, has_header"), "{msg}");
        assert_eq!(job.processors[0].path, "pipeline.processors[0]");
    }

    #[test]
    fn every_problem_at_once() {
        let text = "inptu:\n  type: csv\npipeline:\n  procesors: []\n";
        let msg = JobSpec::from_str(text, "j.yaml")
            .expect_err("bad")
            .to_string();
        assert!(
            msg.contains(
                "j.yaml:1:1: `inptu`: unknown top-level key `inptu`; did you mean `input`?"
            ),
            "{msg}"
        );
        assert!(msg.contains("did you mean `processors`?"), "{msg}");
        assert!(msg.contains("missing `output`"), "{msg}");
        assert!(msg.contains("4 problems"), "{msg}");
    }

    #[test]
    fn type_error_points_at_value() {
        let text =
            "input:\n  type: csv\n  path: a.csv\n  has_header: maybe\noutput: {type: console}\n";
        let job = JobSpec::from_str(text, "j.yaml").expect("structure ok");
        let mut d = Diagnostics::new("j.yaml");
        assert!(
            job.main_input()
                .expect("input")
                .parse_options::<CsvLike>(&mut d)
                .is_none()
        );
        let msg = d.to_string();
        assert!(msg.contains("j.yaml:4:15: `input.has_header`: invalid type: string \"maybe\", expected a boolean"), "{msg}");
    }

    #[test]
    fn secret_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(serde_json::to_string(&s).expect("json"), "\"***\"");
    }
}
