//! The registry: every source, processor and sink by its `type:` name, with its options
//! schema. The binary fills it; the engine only asks it.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use fust_config::{
    Diagnostics, JobSpec, PluginRole, PluginSchema, PluginSpec, inline_schema, unknown_message,
};
use schemars::{JsonSchema, Schema};
use serde::de::DeserializeOwned;

use crate::plugin::{Processor, Sink, Source};

/// A problem with one option found while building a plugin (after its types parsed):
/// the option's key and what was expected.
#[derive(Debug, Clone)]
pub struct OptionError {
    pub key: String,
    pub message: String,
}

impl OptionError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }

    /// Checks that a count or size option lies in `min..=max`: every size read from a job
    /// is bounded, so one option cannot make Fust allocate without limit.
    pub fn check_range(key: &str, value: usize, min: usize, max: usize) -> Result<(), Self> {
        match fust_config::out_of_range(value, min, max) {
            None => Ok(()),
            Some(message) => Err(Self::new(key, message)),
        }
    }
}

/// What one plugin is, for `fust plugins`, the job schema and the API.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    pub name: &'static str,
    pub role: PluginRole,
    pub description: &'static str,
    pub options: Schema,
    /// A YAML snippet of the plugin section, for docs (it must validate).
    pub example: &'static str,
}

/// Builds a plugin from its options.
pub trait Factory<T: ?Sized>: Send + Sync {
    fn info(&self) -> &PluginInfo;
    /// Parses and checks the options; problems go to `diags` at their line and column.
    fn build(&self, spec: &PluginSpec, diags: &mut Diagnostics) -> Option<Arc<T>>;
}

type BuildFn<C, T> = fn(C) -> Result<Arc<T>, OptionError>;

/// A factory from a typed options struct `C` (serde + schemars) and a build function.
pub struct Typed<C, T: ?Sized> {
    info: PluginInfo,
    build: BuildFn<C, T>,
    _c: PhantomData<fn() -> C>,
}

impl<C: DeserializeOwned + JsonSchema, T: ?Sized> Typed<C, T> {
    pub fn new(
        name: &'static str,
        role: PluginRole,
        description: &'static str,
        example: &'static str,
        build: BuildFn<C, T>,
    ) -> Self {
        Self {
            info: PluginInfo {
                name,
                role,
                description,
                options: inline_schema::<C>(),
                example,
            },
            build,
            _c: PhantomData,
        }
    }
}

impl<C: DeserializeOwned + JsonSchema, T: ?Sized> Factory<T> for Typed<C, T> {
    fn info(&self) -> &PluginInfo {
        &self.info
    }

    fn build(&self, spec: &PluginSpec, diags: &mut Diagnostics) -> Option<Arc<T>> {
        let config = spec.parse_options::<C>(diags)?;
        match (self.build)(config) {
            Ok(p) => Some(p),
            Err(e) => {
                let path = if e.key.is_empty() {
                    spec.path.clone()
                } else {
                    format!("{}.{}", spec.path, e.key)
                };
                diags.push(Some(spec.mark_of(&e.key)), path, e.message);
                None
            }
        }
    }
}

pub type SourceFactory = dyn Factory<dyn Source>;
pub type ProcessorFactory = dyn Factory<dyn Processor>;
pub type SinkFactory = dyn Factory<dyn Sink>;

/// Every plugin the binary knows, by `type:` name.
#[derive(Default)]
pub struct Registry {
    sources: BTreeMap<&'static str, Arc<SourceFactory>>,
    processors: BTreeMap<&'static str, Arc<ProcessorFactory>>,
    sinks: BTreeMap<&'static str, Arc<SinkFactory>>,
}

/// A job whose every plugin has been built: ready to plan and run.
#[derive(Debug, Clone)]
pub struct CompiledJob {
    pub spec: JobSpec,
    pub inputs: Vec<(String, Arc<dyn Source>)>,
    /// Each processor with its path in the job file, for error context.
    pub processors: Vec<(String, Arc<dyn Processor>)>,
    /// Each output by name (`output` for `output:`), in the job file's order.
    pub sinks: Vec<(String, Arc<dyn Sink>)>,
    /// `dead_letter:`, the output of bad records.
    pub dead_letter: Option<Arc<dyn Sink>>,
    /// Where sources keep state between runs; `None`: their own default (a file).
    pub state: Option<Arc<dyn crate::state::StateStore>>,
}

fn add<T: ?Sized>(map: &mut BTreeMap<&'static str, Arc<dyn Factory<T>>>, f: Arc<dyn Factory<T>>) {
    let name = f.info().name;
    assert!(
        map.insert(name, f).is_none(),
        "plugin `{name}` registered twice"
    );
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a source. Panics on a duplicate name (a programming error, caught by tests).
    pub fn add_source(&mut self, f: Arc<SourceFactory>) {
        add(&mut self.sources, f);
    }

    pub fn add_processor(&mut self, f: Arc<ProcessorFactory>) {
        add(&mut self.processors, f);
    }

    pub fn add_sink(&mut self, f: Arc<SinkFactory>) {
        add(&mut self.sinks, f);
    }

    /// Keeps only the plugins for which `keep(name)` holds (the server's enable/disable
    /// lists); a job using a removed one fails validation with the remaining choices.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.sources.retain(|n, _| keep(n));
        self.processors.retain(|n, _| keep(n));
        self.sinks.retain(|n, _| keep(n));
    }

    /// The secret options of `section` that hold text, as (dotted path, value): every key,
    /// at any depth (`storage.secret_access_key`), that the plugin's schema marks
    /// `writeOnly` (passwords, keys, URLs that may carry a password).
    pub fn secret_options<'a>(&self, section: &'a PluginSpec) -> Vec<(String, &'a str)> {
        let mut names = std::collections::BTreeSet::new();
        for info in self
            .sources()
            .chain(self.processors())
            .chain(self.sinks())
            .filter(|i| i.name == section.kind)
        {
            write_only_names(info.options.as_value(), &mut names);
        }
        let mut out = Vec::new();
        for (key, value) in &section.options {
            secret_values_in(key, value, &names, &mut out);
        }
        out
    }

    pub fn sources(&self) -> impl Iterator<Item = &PluginInfo> {
        self.sources.values().map(|f| f.info())
    }

    pub fn processors(&self) -> impl Iterator<Item = &PluginInfo> {
        self.processors.values().map(|f| f.info())
    }

    pub fn sinks(&self) -> impl Iterator<Item = &PluginInfo> {
        self.sinks.values().map(|f| f.info())
    }

    /// The JSON Schema of a job file with every registered plugin.
    pub fn job_schema(&self) -> serde_json::Value {
        let list = |it: &mut dyn Iterator<Item = &PluginInfo>| -> Vec<PluginSchema> {
            it.map(|i| PluginSchema {
                name: i.name.to_string(),
                description: i.description.to_string(),
                options: i.options.clone(),
            })
            .collect()
        };
        fust_config::job_schema(
            &list(&mut self.sources()),
            &list(&mut self.processors()),
            &list(&mut self.sinks()),
        )
    }

    /// Builds every plugin of a job, reporting all problems at once.
    pub fn compile(&self, spec: &JobSpec) -> Result<CompiledJob, fust_config::Error> {
        self.compile_partial(spec, Diagnostics::new(spec.file.clone()))
    }

    /// Reads, parses and builds a job file; structural problems and every plugin's
    /// problems are reported together.
    pub fn load(&self, path: &std::path::Path) -> Result<CompiledJob, fust_config::Error> {
        let (spec, diags) = JobSpec::read_partial(path)?;
        self.compile_partial(&spec, diags)
    }

    /// Parses and builds job text (e.g. an HTTP body); see [`load`](Self::load).
    pub fn load_str(&self, text: &str, file: &str) -> Result<CompiledJob, fust_config::Error> {
        self.load_str_with(text, file, &fust_config::Variables::Environment)
    }

    /// [`load_str`](Self::load_str) reading `${...}` through `vars`.
    pub fn load_str_with(
        &self,
        text: &str,
        file: &str,
        vars: &fust_config::Variables,
    ) -> Result<CompiledJob, fust_config::Error> {
        let (spec, diags) = JobSpec::parse_partial_with(text, file, vars);
        self.compile_partial(&spec, diags)
    }

    /// Builds every plugin of `spec`, adding their problems to `diags` (problems found
    /// earlier, e.g. while parsing); fails when `diags` holds any problem at the end.
    pub fn compile_partial(
        &self,
        spec: &JobSpec,
        mut diags: Diagnostics,
    ) -> Result<CompiledJob, fust_config::Error> {
        let mut inputs = Vec::new();
        for (name, p) in &spec.inputs {
            if let Some(s) = build(&self.sources, p, PluginRole::Source, &mut diags) {
                inputs.push((name.clone(), s));
            }
        }
        let mut processors = Vec::new();
        for p in &spec.processors {
            if let Some(proc_) = build(&self.processors, p, PluginRole::Processor, &mut diags) {
                processors.push((p.path.clone(), proc_));
            }
        }
        let mut sinks = Vec::new();
        for (name, p) in &spec.outputs {
            if let Some(s) = build(&self.sinks, p, PluginRole::Sink, &mut diags) {
                sinks.push((name.clone(), s));
            }
        }
        let dead_letter = spec
            .dead_letter
            .as_ref()
            .and_then(|p| build(&self.sinks, p, PluginRole::Sink, &mut diags));
        check_routes(spec, &processors, &mut diags);
        if sinks.is_empty() && diags.is_empty() {
            diags.push(
                None,
                "output",
                "missing `output`: where should the data go?",
            );
        }
        if !diags.is_empty() {
            return diags
                .into_result(())
                .map(|_| unreachable!("diagnostics are not empty"));
        }
        Ok(CompiledJob {
            spec: spec.clone(),
            inputs,
            processors,
            sinks,
            dead_letter,
            state: None,
        })
    }
}

/// A routing processor comes last, and its routes and the outputs name each other.
fn check_routes(
    spec: &JobSpec,
    processors: &[(String, Arc<dyn Processor>)],
    diags: &mut Diagnostics,
) {
    let outputs: Vec<&str> = spec.outputs.iter().map(|(n, _)| n.as_str()).collect();
    let section = |path: &str| spec.processors.iter().find(|p| p.path == path);
    let mut routed = None;
    for (i, (path, p)) in processors.iter().enumerate() {
        let Some(routes) = p.routes() else { continue };
        let mark = section(path).map(|s| s.mark);
        if i + 1 != processors.len() {
            diags.push(
                mark,
                path.clone(),
                "a `route` processor must be the last one: it decides which output each record goes to",
            );
        }
        for name in routes.outputs() {
            if !outputs.contains(&name) {
                let key = if routes.default.as_deref() == Some(name) {
                    "default".to_string()
                } else {
                    format!("routes.{name}")
                };
                let mark = section(path).and_then(|s| s.value_mark(&key)).or(mark);
                diags.push(
                    mark,
                    format!("{path}.{key}"),
                    format!(
                        "no output called `{name}`; outputs: {} (name them under `outputs:`)",
                        outputs.join(", ")
                    ),
                );
            }
        }
        routed = Some(routes);
    }
    if let Some(routes) = routed {
        for (name, p) in &spec.outputs {
            if !routes.outputs().any(|r| r == name) {
                diags.push(
                    Some(p.mark),
                    p.path.clone(),
                    format!(
                        "no route sends records to output `{name}`; add it to the route's `routes` or make it its `default`"
                    ),
                );
            }
        }
    }
}

fn build<T: ?Sized>(
    map: &BTreeMap<&'static str, Arc<dyn Factory<T>>>,
    spec: &PluginSpec,
    role: PluginRole,
    diags: &mut Diagnostics,
) -> Option<Arc<T>> {
    match map.get(spec.kind.as_str()) {
        Some(f) => f.build(spec, diags),
        None => {
            let names: Vec<&str> = map.keys().copied().collect();
            diags.push(
                Some(spec.mark_of("type")),
                format!("{}.type", spec.path),
                unknown_message(&format!("{} type", role.noun()), &spec.kind, &names),
            );
            None
        }
    }
}

/// The names of every property, at any depth of `schema`, whose schema is `writeOnly`.
fn write_only_names(schema: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match schema {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                for (name, sub) in props {
                    if sub.to_string().contains("\"writeOnly\":true") {
                        out.insert(name.clone());
                    }
                }
            }
            for v in map.values() {
                write_only_names(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| write_only_names(v, out)),
        _ => {}
    }
}

/// Text values under secret `names`, anywhere in `value` (maps and lists walked).
fn secret_values_in<'a>(
    path: &str,
    value: &'a serde_json::Value,
    names: &std::collections::BTreeSet<String>,
    out: &mut Vec<(String, &'a str)>,
) {
    let last = path.rsplit('.').next().unwrap_or(path);
    match value {
        serde_json::Value::String(s) if names.contains(last) => out.push((path.to_string(), s)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                secret_values_in(&format!("{path}.{k}"), v, names, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                secret_values_in(&format!("{path}[{i}]"), v, names, out);
            }
        }
        _ => {}
    }
}
