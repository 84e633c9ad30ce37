//! `transform`: column operations in order (JSON, regex, dates, lists, hashing, masking,
//! cleaning), each compiled to DataFusion functions over whole columns. A step with `as`
//! writes a new column; without, it replaces the column in place.

use super::common::{check_column, column, need_input};
use async_trait::async_trait;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::datatypes::{DataType, Fields, TimeUnit};
use datafusion::common::{DFSchema, ScalarValue, plan_err};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::FunctionRegistry;
use datafusion::functions::core::expr_fn::get_field;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan, cast, lit, when};
use datafusion::prelude::{DataFrame, SessionContext};
use fust_engine::reject_plan::RejectRows;
use fust_engine::{OptionError, Processor};
use schemars::JsonSchema;
use serde::Deserialize;

/// Column operations, run in order; each step sees the columns the previous ones made.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct TransformConfig {
    /// The steps, e.g. `{op: regex_replace, column: phone, pattern: '[^0-9]', replacement: ''}`.
    /// Each reads `column`; with `as: NAME` its result is a new column at the end, without
    /// it the result replaces `column` where it stands.
    pub steps: Vec<Step>,
}

/// One step: `op` says what it does to `column`; `as` names a new column for the result
/// (without it, the column is replaced where it stands).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// JSON text → struct. The struct's fields come from `schema` (`{field: SQL type}`,
    /// nested maps for nested objects), else are inferred from the first 1000 values.
    JsonDecode {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
        /// Fields and their SQL types, e.g. `{id: bigint, user: {name: varchar}}`.
        #[serde(default)]
        schema: Option<serde_json::Map<String, serde_json::Value>>,
    },
    /// Struct → one column per leaf field, named `column` + `separator` + field (nested
    /// fields joined the same way); with `as`, that is the prefix instead of the column's name.
    Flatten {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
        /// Joins the names (default `_`).
        #[serde(default = "underscore")]
        separator: String,
    },
    /// Any value (struct, list, scalar) → its JSON text.
    JsonEncode {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
    },
    /// The text a regular expression group matched; NULL without a match.
    RegexExtract {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
        /// A regular expression (Rust `regex` syntax).
        pattern: String,
        /// Which capture group: 0 for the whole match, 1 for the first group (default 1
        /// when the pattern has a group, else 0).
        #[serde(default)]
        group: Option<usize>,
    },
    /// Every match of a regular expression replaced.
    RegexReplace {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
        pattern: String,
        /// The replacement; `\1` inserts the first group (or `$${1}`: in a job file `$`
        /// starts a variable, `$$` is a `$`).
        replacement: String,
    },
    /// Text → timestamp with a chrono format (`%Y-%m-%d %H:%M:%S`). With `timezone`
    /// (`Europe/Paris`, `+02:00`), the text is a local time there and the result is the
    /// instant in UTC; without, it is a timestamp without time zone.
    DateParse {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
        format: String,
        #[serde(default)]
        timezone: Option<String>,
    },
    /// Date or timestamp → text with a chrono format, e.g. `%Y-%m`.
    DateFormat {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
        format: String,
    },
    /// Text → list of text, cut at `separator`.
    Split {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
        separator: String,
    },
    /// One row per element of a list column (the other columns repeated); a NULL list
    /// gives one row with NULL, an empty list none.
    Explode {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
    },
    /// The value's digest as lowercase hex (of its text form).
    Hash {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
        /// `sha256` (default), `sha224`, `sha384`, `sha512` or `md5`.
        #[serde(default)]
        algorithm: HashAlgorithm,
    },
    /// Text with all but the last `keep_last` characters replaced by `char`.
    Mask {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
        /// Characters left visible at the end (default 4).
        #[serde(default = "four")]
        keep_last: usize,
        /// The masking character (default `*`).
        #[serde(default = "star")]
        char: String,
    },
    /// NULL replaced by `default` (converted to the column's type).
    Coalesce {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
        default: serde_json::Value,
    },
    /// Leading and trailing spaces removed.
    Trim {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
    },
    /// Text in lower case.
    Lower {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
    },
    /// Text in upper case.
    Upper {
        column: String,
        #[serde(rename = "as", default)]
        to: Option<String>,
    },
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HashAlgorithm {
    #[default]
    Sha256,
    Sha224,
    Sha384,
    Sha512,
    Md5,
}

fn underscore() -> String {
    "_".into()
}

const fn four() -> usize {
    4
}

fn star() -> String {
    "*".into()
}

/// Values `json_decode` infers a struct from when no `schema` is given.
const INFER_ROWS: usize = 1000;

impl Step {
    /// Its `op`, as the job file names it.
    fn op(&self) -> &'static str {
        match self {
            Step::JsonDecode { .. } => "json_decode",
            Step::Flatten { .. } => "flatten",
            Step::JsonEncode { .. } => "json_encode",
            Step::RegexExtract { .. } => "regex_extract",
            Step::RegexReplace { .. } => "regex_replace",
            Step::DateParse { .. } => "date_parse",
            Step::DateFormat { .. } => "date_format",
            Step::Split { .. } => "split",
            Step::Explode { .. } => "explode",
            Step::Hash { .. } => "hash",
            Step::Mask { .. } => "mask",
            Step::Coalesce { .. } => "coalesce",
            Step::Trim { .. } => "trim",
            Step::Lower { .. } => "lower",
            Step::Upper { .. } => "upper",
        }
    }

    /// The column it reads and the column it writes.
    fn columns(&self) -> (&str, &str) {
        use Step::*;
        let (JsonDecode { column, to, .. }
        | Flatten { column, to, .. }
        | JsonEncode { column, to }
        | RegexExtract { column, to, .. }
        | RegexReplace { column, to, .. }
        | DateParse { column, to, .. }
        | DateFormat { column, to, .. }
        | Split { column, to, .. }
        | Explode { column, to }
        | Hash { column, to, .. }
        | Mask { column, to, .. }
        | Coalesce { column, to, .. }
        | Trim { column, to }
        | Lower { column, to }
        | Upper { column, to }) = self;
        (column, to.as_deref().unwrap_or(column))
    }

    /// The checks serde can't make, at validation.
    fn check(&self) -> std::result::Result<(), OptionError> {
        match self {
            Step::RegexExtract { pattern, group, .. } => {
                let re = regex(pattern)?;
                let groups = re.captures_len() - 1;
                match group {
                    Some(g) if *g > groups => Err(OptionError::new(
                        "group",
                        format!("the pattern has {groups} group(s); `group: {g}` is not one"),
                    )),
                    _ => Ok(()),
                }
            }
            Step::RegexReplace { pattern, .. } => regex(pattern).map(|_| ()),
            Step::DateParse {
                timezone: Some(tz), ..
            } => tz.parse::<Tz>().map(|_| ()).map_err(|e| {
                OptionError::new(
                    "timezone",
                    format!("`{tz}` is not a time zone ({e}); e.g. Europe/Paris, UTC, +02:00"),
                )
            }),
            Step::Mask { char, .. } if char.chars().count() != 1 => {
                Err(OptionError::new("char", "give one character, e.g. '*'"))
            }
            Step::Split { separator, .. } if separator.is_empty() => {
                Err(OptionError::new("separator", "must not be empty"))
            }
            _ => Ok(()),
        }
    }
}

fn regex(pattern: &str) -> std::result::Result<regex::Regex, OptionError> {
    regex::Regex::new(pattern).map_err(|e| OptionError::new("pattern", e.to_string()))
}

impl TransformConfig {
    /// Checks every step; the key of a problem is `steps[i].option`.
    pub fn check(&self) -> std::result::Result<(), OptionError> {
        if self.steps.is_empty() {
            return Err(OptionError::new("steps", "give at least one step"));
        }
        for (i, step) in self.steps.iter().enumerate() {
            step.check()
                .map_err(|e| OptionError::new(format!("steps[{i}].{}", e.key), e.message))?;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct TransformProcessor(pub TransformConfig);

#[async_trait]
impl Processor for TransformProcessor {
    async fn plan(&self, input: Option<LogicalPlan>, ctx: &SessionContext) -> Result<LogicalPlan> {
        let mut df = DataFrame::new(ctx.state(), need_input(input, "transform")?);
        for (i, step) in self.0.steps.iter().enumerate() {
            let (from, _) = step.columns();
            let at = |e: DataFusionError| e.context(format!("transform steps[{i}] ({from})"));
            check_column(&df, from, &format!("steps[{i}].column")).map_err(at)?;
            df = apply(step, i, df, ctx).await.map_err(at)?;
        }
        Ok(df.into_unoptimized_plan())
    }
}

/// `name(args)` with the session's function of that name (so its configuration holds).
fn call(ctx: &SessionContext, name: &str, args: Vec<Expr>) -> Result<Expr> {
    Ok(ctx.udf(name)?.call(args))
}

/// The column as text, for functions that take text.
fn text(df: &DataFrame, name: &str) -> Result<Expr> {
    let e = column(name);
    Ok(match e.get_type(df.schema())? {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => e,
        _ => cast(e, DataType::Utf8),
    })
}

/// The column a step that converts values puts its `checked` result in for a moment.
const CHECKED: &str = "__fust_checked";
/// The reason column a [`RejectRows`] node reads.
const REASON: &str = "__fust_reason";

/// A step whose function may fail on a value (JSON that does not parse, a date that does
/// not match the format): `call` is that function made `checked`, `finish` turns its
/// value into the step's result. A value that fails makes its row a bad record of this
/// processor (step `i`), with the function's own message; the others go on.
fn checked_step(
    df: DataFrame,
    ctx: &SessionContext,
    step: &Step,
    i: usize,
    call: Expr,
    finish: impl FnOnce(Expr) -> Expr,
) -> Result<DataFrame> {
    let (from, to) = step.columns();
    let df = df.with_column(CHECKED, call)?;
    let value = finish(get_field(column(CHECKED), "value"));
    let df = df
        .with_column(to, value)?
        .with_column(REASON, get_field(column(CHECKED), "error"))?
        .drop_columns(&[CHECKED])?;
    let stage = fust_engine::StageRejects::of(ctx).stage().to_string();
    let op = step.op();
    let position = format!("step {} ({op} of `{from}`)", i + 1);
    let plan = RejectRows::plan(df.into_unoptimized_plan(), &stage, &position, op)?;
    Ok(DataFrame::new(ctx.state(), plan))
}

/// The session's function `name`, made [`checked`](fust_engine::functions::checked).
fn call_checked(ctx: &SessionContext, name: &str, args: Vec<Expr>) -> Result<Expr> {
    Ok(fust_engine::functions::checked(ctx.udf(name)?).call(args))
}

async fn apply(step: &Step, i: usize, df: DataFrame, ctx: &SessionContext) -> Result<DataFrame> {
    let (from, to) = step.columns();
    let value = column(from);
    let expr = match step {
        Step::Flatten { to, separator, .. } => {
            return flatten(df, from, to.as_deref().unwrap_or(from), separator);
        }
        Step::Explode { .. } => {
            let df = if to == from {
                df
            } else {
                df.with_column(to, value)?
            };
            return df.unnest_columns(&[to]);
        }
        Step::JsonDecode { schema, .. } => {
            let data_type = match schema {
                Some(fields) => fust_engine::types::struct_type(fields)?,
                None => infer_struct(&df, from).await?,
            };
            let call = call_checked(
                ctx,
                "json_decode",
                vec![text(&df, from)?, lit(data_type.to_string())],
            )?;
            return checked_step(df, ctx, step, i, call, |v| v);
        }
        Step::JsonEncode { .. } => call(ctx, "json_encode", vec![value])?,
        Step::RegexExtract { pattern, group, .. } => {
            let groups = regex(pattern).map_err(plan)?.captures_len() - 1;
            let group = group.unwrap_or(if groups > 0 { 1 } else { 0 });
            // Wrapped in a group of its own, the whole match is element 1 of the match list
            // and group g is element g + 1.
            let matched = call(
                ctx,
                "regexp_match",
                vec![text(&df, from)?, lit(format!("({pattern})"))],
            )?;
            call(ctx, "array_element", vec![matched, lit(group as i64 + 1)])?
        }
        Step::RegexReplace {
            pattern,
            replacement,
            ..
        } => call(
            ctx,
            "regexp_replace",
            vec![
                text(&df, from)?,
                lit(pattern.as_str()),
                lit(replacement.as_str()),
                lit("g"),
            ],
        )?,
        Step::DateParse {
            format, timezone, ..
        } => {
            let call = call_checked(
                ctx,
                "to_timestamp",
                vec![text(&df, from)?, lit(format.as_str())],
            )?;
            // Naive microseconds; with a zone, read as local time there and shown in UTC.
            let timezone = timezone.clone();
            let finish = move |parsed: Expr| {
                let naive = cast(parsed, DataType::Timestamp(TimeUnit::Microsecond, None));
                match timezone {
                    None => naive,
                    Some(tz) => {
                        let local = cast(
                            naive,
                            DataType::Timestamp(TimeUnit::Microsecond, Some(tz.as_str().into())),
                        );
                        cast(
                            local,
                            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                        )
                    }
                }
            };
            return checked_step(df, ctx, step, i, call, finish);
        }
        Step::DateFormat { format, .. } => call(ctx, "to_char", vec![value, lit(format.as_str())])?,
        Step::Split { separator, .. } => call(
            ctx,
            "string_to_array",
            vec![text(&df, from)?, lit(separator.as_str())],
        )?,
        Step::Hash { algorithm, .. } => {
            let t = text(&df, from)?;
            let digest = |name| call(ctx, name, vec![t.clone()]);
            let hex = |d: Expr| call(ctx, "encode", vec![d, lit("hex")]);
            match algorithm {
                HashAlgorithm::Md5 => digest("md5")?,
                HashAlgorithm::Sha224 => hex(digest("sha224")?)?,
                HashAlgorithm::Sha256 => hex(digest("sha256")?)?,
                HashAlgorithm::Sha384 => hex(digest("sha384")?)?,
                HashAlgorithm::Sha512 => hex(digest("sha512")?)?,
            }
        }
        Step::Mask {
            keep_last, char, ..
        } => {
            let t = text(&df, from)?;
            let keep = lit(*keep_last as i64);
            let hidden = call(
                ctx,
                "greatest",
                vec![
                    call(ctx, "character_length", vec![t.clone()])? - keep.clone(),
                    lit(0i64),
                ],
            )?;
            let masked = call(
                ctx,
                "concat",
                vec![
                    call(ctx, "repeat", vec![lit(char.as_str()), hidden])?,
                    call(ctx, "right", vec![t.clone(), keep])?,
                ],
            )?;
            when(t.is_null(), lit(ScalarValue::Utf8(None))).otherwise(masked)?
        }
        Step::Coalesce { default, .. } => {
            let data_type = value.get_type(df.schema())?;
            let default = cast(lit(json_scalar(default)?), data_type);
            call(ctx, "coalesce", vec![value, default])?
        }
        Step::Trim { .. } => call(ctx, "btrim", vec![text(&df, from)?])?,
        Step::Lower { .. } => call(ctx, "lower", vec![text(&df, from)?])?,
        Step::Upper { .. } => call(ctx, "upper", vec![text(&df, from)?])?,
    };
    df.with_column(to, expr)
}

fn plan(e: OptionError) -> DataFusionError {
    DataFusionError::Plan(e.message)
}

/// A YAML scalar as a SQL literal.
fn json_scalar(v: &serde_json::Value) -> Result<ScalarValue> {
    Ok(match v {
        serde_json::Value::Null => ScalarValue::Null,
        serde_json::Value::Bool(b) => ScalarValue::Boolean(Some(*b)),
        serde_json::Value::String(s) => ScalarValue::Utf8(Some(s.clone())),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => ScalarValue::Int64(Some(i)),
            (None, Some(f)) => ScalarValue::Float64(Some(f)),
            _ => return plan_err!("default: {n} is out of range"),
        },
        other => return plan_err!("default: give a single value, not {other}"),
    })
}

/// The struct type of the JSON objects in the first [`INFER_ROWS`] non-NULL values.
async fn infer_struct(df: &DataFrame, name: &str) -> Result<DataType> {
    let sample = df
        .clone()
        .filter(column(name).is_not_null())?
        .select(vec![cast(column(name), DataType::Utf8).alias(name)])?
        .limit(0, Some(INFER_ROWS))?
        .collect()
        .await?;
    let mut values = Vec::new();
    for batch in &sample {
        let texts = batch.column(0).as_string::<i32>();
        for text in texts.iter().flatten() {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v @ serde_json::Value::Object(_)) => values.push(v),
                Ok(_) => {
                    return plan_err!(
                        "json_decode: `{name}` holds JSON that is not an object ('{}'); give `schema:` to decode it",
                        text.chars().take(60).collect::<String>()
                    );
                }
                Err(e) => {
                    return plan_err!(
                        "json_decode: `{name}` holds text that is not JSON ({e}): '{}'",
                        text.chars().take(60).collect::<String>()
                    );
                }
            }
        }
    }
    if values.is_empty() {
        return plan_err!(
            "json_decode: `{name}` has no value to infer the fields from; give `schema:`"
        );
    }
    let schema = datafusion::arrow::json::reader::infer_json_schema_from_iterator(
        values.into_iter().map(Ok),
    )?;
    Ok(DataType::Struct(schema.fields().clone()))
}

/// The struct column `name` replaced, where it stands, by one column per leaf field.
fn flatten(df: DataFrame, name: &str, prefix: &str, separator: &str) -> Result<DataFrame> {
    let schema: DFSchema = df.schema().clone();
    let mut exprs = Vec::new();
    for field in schema.fields() {
        if field.name() != name {
            exprs.push(column(field.name()));
            continue;
        }
        let DataType::Struct(children) = field.data_type() else {
            return plan_err!(
                "flatten: `{name}` is {}, not a struct; decode JSON text first (op: json_decode)",
                field.data_type()
            );
        };
        leaves(column(name), prefix, children, separator, &mut exprs);
    }
    df.select(exprs)
}

fn leaves(base: Expr, prefix: &str, fields: &Fields, separator: &str, out: &mut Vec<Expr>) {
    for f in fields {
        let value = get_field(base.clone(), f.name().as_str());
        let name = format!("{prefix}{separator}{}", f.name());
        match f.data_type() {
            DataType::Struct(nested) => leaves(value, &name, nested, separator, out),
            _ => out.push(value.alias(name)),
        }
    }
}
