//! The JSON Schema of a whole job file, assembled from the schemas of the registered
//! plugins (each generated from its Rust config type by schemars).

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Value, json};

use crate::settings::Settings;

/// The schema of one options type, with nested types inlined (no `$ref`s), so it can be
/// embedded anywhere.
pub fn inline_schema<T: JsonSchema>() -> Schema {
    SchemaGenerator::new(SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true))
        .into_root_schema_for::<T>()
}

/// A plugin for the job schema: its `type` name, a description and its options schema.
pub struct PluginSchema {
    pub name: String,
    pub description: String,
    pub options: Schema,
}

fn with_type(p: &PluginSchema) -> Value {
    let mut v = p.options.as_value().clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("$schema");
        obj.insert("title".into(), json!(p.name));
        obj.insert("description".into(), json!(p.description));
        obj.insert("type".into(), json!("object"));
        let props = obj
            .entry("properties")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        let mut new_props = serde_json::Map::new();
        new_props.insert("type".into(), json!({"const": p.name}));
        new_props.extend(props);
        obj.insert("properties".into(), Value::Object(new_props));
        let mut req = vec![json!("type")];
        if let Some(Value::Array(r)) = obj.get("required") {
            req.extend(r.iter().cloned());
        }
        obj.insert("required".into(), Value::Array(req));
        obj.insert("additionalProperties".into(), json!(false));
    }
    v
}

/// The job file's JSON Schema.
pub fn job_schema(
    sources: &[PluginSchema],
    processors: &[PluginSchema],
    sinks: &[PluginSchema],
) -> Value {
    let one_of =
        |ps: &[PluginSchema]| json!({"oneOf": ps.iter().map(with_type).collect::<Vec<_>>()});
    let mut settings = inline_schema::<Settings>().to_value();
    if let Some(o) = settings.as_object_mut() {
        o.remove("$schema");
    }
    let mut schedule = inline_schema::<crate::schedule::Schedule>().to_value();
    if let Some(o) = schedule.as_object_mut() {
        o.remove("$schema");
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Fust job",
        "description": "A Fust job: input(s) → pipeline.processors → output(s).",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "description": "Job name, shown in logs and summaries."},
            "description": {"type": "string"},
            "input": one_of(sources),
            "inputs": {
                "type": "object",
                "description": "Named inputs for multi-input jobs; `sql` processors refer to them by name.",
                "additionalProperties": one_of(sources)
            },
            "pipeline": {
                "type": "object",
                "additionalProperties": false,
                "properties": {"processors": {"type": "array", "items": one_of(processors)}}
            },
            "output": one_of(sinks),
            "outputs": {
                "type": "object",
                "description": "Named outputs: each receives every record, or those a `route` processor sends it; all are published or none.",
                "additionalProperties": one_of(sinks)
            },
            "dead_letter": {
                "description": "Where bad records go with `settings.on_error: dead_letter`: any output, written with the columns raw, reason, stage and position.",
                "allOf": [one_of(sinks)]
            },
            "settings": settings,
            "schedule": schedule
        },
        "anyOf": [{"required": ["output"]}, {"required": ["outputs"]}]
    })
}
