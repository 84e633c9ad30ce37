//! PostgreSQL types ↔ Arrow types, and the binary COPY format both ways: rows from
//! `COPY … TO STDOUT (FORMAT binary)` decoded straight into Arrow builders, and Arrow
//! columns encoded for `COPY … FROM STDIN (FORMAT binary)`.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::{Buf, BufMut, BytesMut};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, BooleanArray, BooleanBuilder,
    Date32Builder, Decimal128Builder, Float32Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, ListArray, PrimitiveArray, StringArray, StringBuilder, StringViewArray,
    Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{CastOptions, cast, cast_with_options};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, DurationMicrosecondType, Field, FieldRef, Float32Type,
    Float64Type, Int16Type, Int32Type, Int64Type, IntervalMonthDayNanoType, IntervalUnit,
    Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
};
use datafusion::arrow::util::display::FormatOptions;
use tokio_postgres::types::{Kind, Type};

use crate::common::{ConnectorError, ConnectorResult};

/// Field metadata key holding the PostgreSQL type a column came from (`jsonb`, `uuid`, …),
/// so a PostgreSQL target can recreate it and the decoder knows the wire format.
pub const PG_TYPE: &str = "pg_type";

/// Microseconds and days between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
const EPOCH_MICROS: i64 = 946_684_800_000_000;
const EPOCH_DAYS: i32 = 10_957;

/// A PostgreSQL column type Fust can read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric(p, s)` with p ≤ 38: Arrow decimal.
    Numeric(u8, i8),
    /// `numeric` without a precision, or wider than Arrow's decimal128: exact text.
    NumericText,
    /// text, varchar, char, name, citext, enums: UTF-8 text on the wire.
    Text(String),
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Json,
    Jsonb,
    /// One-dimensional arrays of a scalar type; `elem_oid` goes on the wire.
    Array(Box<PgType>, u32),
}

impl PgType {
    /// Maps a server type (with its `atttypmod`), or says why it can't.
    pub fn from_pg(ty: &Type, typmod: i32) -> ConnectorResult<PgType> {
        if let Kind::Domain(base) = ty.kind() {
            return PgType::from_pg(base, typmod);
        }
        if let Kind::Enum(_) = ty.kind() {
            // Enums travel as their labels; a new table gets text.
            return Ok(PgType::Text("text".into()));
        }
        if let Kind::Array(elem) = ty.kind() {
            let inner = PgType::from_pg(elem, typmod)?;
            if matches!(inner, PgType::Array(..)) {
                return Err(ConnectorError::Unsupported(format!(
                    "{} (arrays of arrays)",
                    ty.name()
                )));
            }
            return Ok(PgType::Array(Box::new(inner), elem.oid()));
        }
        Ok(match *ty {
            Type::BOOL => PgType::Bool,
            Type::INT2 => PgType::Int2,
            Type::INT4 => PgType::Int4,
            Type::INT8 => PgType::Int8,
            Type::FLOAT4 => PgType::Float4,
            Type::FLOAT8 => PgType::Float8,
            Type::NUMERIC => {
                if typmod < 4 {
                    PgType::NumericText
                } else {
                    let m = typmod - 4;
                    let (p, s) = ((m >> 16) & 0xffff, m & 0xffff);
                    // A negative scale is stored as 11 bits two's complement.
                    let s = if s > 1000 { s - 2048 } else { s };
                    if (1..=38).contains(&p) && (0..=p).contains(&s) {
                        PgType::Numeric(p as u8, s as i8)
                    } else {
                        PgType::NumericText
                    }
                }
            }
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::CHAR | Type::XML => {
                PgType::Text(ty.name().to_string())
            }
            Type::BYTEA => PgType::Bytea,
            Type::DATE => PgType::Date,
            Type::TIME => PgType::Time,
            Type::TIMESTAMP => PgType::Timestamp,
            Type::TIMESTAMPTZ => PgType::TimestampTz,
            Type::INTERVAL => PgType::Interval,
            Type::UUID => PgType::Uuid,
            Type::JSON => PgType::Json,
            Type::JSONB => PgType::Jsonb,
            _ if ty.name() == "citext" => PgType::Text("citext".into()),
            _ => return Err(ConnectorError::unsupported(ty.name())),
        })
    }

    /// The name written into field metadata and DDL.
    pub fn sql_name(&self) -> String {
        match self {
            PgType::Bool => "boolean".into(),
            PgType::Int2 => "smallint".into(),
            PgType::Int4 => "integer".into(),
            PgType::Int8 => "bigint".into(),
            PgType::Float4 => "real".into(),
            PgType::Float8 => "double precision".into(),
            PgType::Numeric(p, s) => format!("numeric({p},{s})"),
            PgType::NumericText => "numeric".into(),
            PgType::Text(name) => name.clone(),
            PgType::Bytea => "bytea".into(),
            PgType::Date => "date".into(),
            PgType::Time => "time".into(),
            PgType::Timestamp => "timestamp".into(),
            PgType::TimestampTz => "timestamptz".into(),
            PgType::Interval => "interval".into(),
            PgType::Uuid => "uuid".into(),
            PgType::Json => "json".into(),
            PgType::Jsonb => "jsonb".into(),
            PgType::Array(inner, _) => format!("{}[]", inner.sql_name()),
        }
    }

    pub fn arrow(&self) -> DataType {
        match self {
            PgType::Bool => DataType::Boolean,
            PgType::Int2 => DataType::Int16,
            PgType::Int4 => DataType::Int32,
            PgType::Int8 => DataType::Int64,
            PgType::Float4 => DataType::Float32,
            PgType::Float8 => DataType::Float64,
            PgType::Numeric(p, s) => DataType::Decimal128(*p, *s),
            PgType::NumericText | PgType::Text(_) | PgType::Uuid | PgType::Json | PgType::Jsonb => {
                DataType::Utf8
            }
            PgType::Bytea => DataType::Binary,
            PgType::Date => DataType::Date32,
            PgType::Time => DataType::Time64(TimeUnit::Microsecond),
            PgType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            PgType::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            // Text, because Parquet can't hold Arrow's month-day-nano intervals.
            PgType::Interval => DataType::Utf8,
            PgType::Array(inner, _) => {
                DataType::List(Arc::new(Field::new("item", inner.arrow(), true)))
            }
        }
    }

    /// An Arrow field for a column of this type, carrying the type in its metadata.
    pub fn field(&self, name: &str) -> Field {
        Field::new(name, self.arrow(), true)
            .with_metadata(HashMap::from([(PG_TYPE.to_string(), self.sql_name())]))
    }

    /// The PostgreSQL type to create for an Arrow field: its recorded `pg_type` when it
    /// came from PostgreSQL, else the natural match.
    pub fn for_arrow(field: &Field) -> ConnectorResult<String> {
        if let Some(t) = field.metadata().get(PG_TYPE) {
            // Lengths of varchar(n) / char(n) aren't recorded: a new table gets text.
            return Ok(match t.as_str() {
                "varchar" | "bpchar" | "char" | "name" => "text".into(),
                "varchar[]" | "bpchar[]" | "char[]" | "name[]" => "text[]".into(),
                other => other.to_string(),
            });
        }
        Ok(match field.data_type() {
            DataType::Boolean => "boolean".into(),
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => "smallint".into(),
            DataType::Int32 | DataType::UInt16 => "integer".into(),
            DataType::Int64 | DataType::UInt32 => "bigint".into(),
            DataType::UInt64 => "numeric(20,0)".into(),
            DataType::Float16 | DataType::Float32 => "real".into(),
            DataType::Float64 => "double precision".into(),
            DataType::Decimal32(p, s)
            | DataType::Decimal64(p, s)
            | DataType::Decimal128(p, s)
            | DataType::Decimal256(p, s) => format!("numeric({p},{})", (*s).max(0)),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text".into(),
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => "bytea".into(),
            DataType::Date32 | DataType::Date64 => "date".into(),
            DataType::Time32(_) | DataType::Time64(_) => "time".into(),
            DataType::Timestamp(_, None) => "timestamp".into(),
            DataType::Timestamp(_, Some(_)) => "timestamptz".into(),
            DataType::Interval(_) | DataType::Duration(_) => "interval".into(),
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                let inner = PgType::for_arrow(f)?;
                if inner.ends_with("[]") {
                    return Err(ConnectorError::Unsupported(format!(
                        "{} (lists of lists)",
                        field.data_type()
                    )));
                }
                format!("{inner}[]")
            }
            other => return Err(ConnectorError::Unsupported(other.to_string())),
        })
    }

    /// Reads the type back from an Arrow field made by [`PgType::field`], or from its
    /// Arrow type alone.
    pub fn from_field(field: &Field) -> Option<PgType> {
        let recorded = field.metadata().get(PG_TYPE).map(String::as_str);
        Some(match (recorded, field.data_type()) {
            (Some("uuid"), DataType::Utf8) => PgType::Uuid,
            (Some("json"), DataType::Utf8) => PgType::Json,
            (Some("jsonb"), DataType::Utf8) => PgType::Jsonb,
            (Some("numeric"), DataType::Utf8) => PgType::NumericText,
            (Some("interval"), DataType::Utf8) => PgType::Interval,
            (_, DataType::Boolean) => PgType::Bool,
            (_, DataType::Int16) => PgType::Int2,
            (_, DataType::Int32) => PgType::Int4,
            (_, DataType::Int64) => PgType::Int8,
            (_, DataType::Float32) => PgType::Float4,
            (_, DataType::Float64) => PgType::Float8,
            (_, DataType::Decimal128(p, s)) => PgType::Numeric(*p, *s),
            (_, DataType::Utf8) => PgType::Text(recorded.unwrap_or("text").to_string()),
            (_, DataType::Binary) => PgType::Bytea,
            (_, DataType::Date32) => PgType::Date,
            (_, DataType::Time64(TimeUnit::Microsecond)) => PgType::Time,
            (_, DataType::Timestamp(TimeUnit::Microsecond, None)) => PgType::Timestamp,
            (_, DataType::Timestamp(TimeUnit::Microsecond, Some(_))) => PgType::TimestampTz,
            (_, DataType::List(f)) => {
                let inner = PgType::from_field(f)?;
                PgType::Array(Box::new(inner), 0)
            }
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Decoding: binary COPY rows → Arrow builders.

/// One column being built from wire values.
enum Col {
    Bool(BooleanBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Dec(Decimal128Builder, u8, i8),
    NumText(StringBuilder),
    Text(StringBuilder),
    /// char(n): the padding is not part of the value (PostgreSQL compares without it).
    Char(StringBuilder),
    Jsonb(StringBuilder),
    Uuid(StringBuilder),
    Bytes(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Ts(TimestampMicrosecondBuilder),
    Interval(StringBuilder),
    List {
        field: FieldRef,
        offsets: Vec<i32>,
        valid: Vec<bool>,
        child: Box<Col>,
    },
}

impl Col {
    fn new(t: &PgType, field: &Field) -> Col {
        match t {
            PgType::Bool => Col::Bool(BooleanBuilder::new()),
            PgType::Int2 => Col::I16(Int16Builder::new()),
            PgType::Int4 => Col::I32(Int32Builder::new()),
            PgType::Int8 => Col::I64(Int64Builder::new()),
            PgType::Float4 => Col::F32(Float32Builder::new()),
            PgType::Float8 => Col::F64(Float64Builder::new()),
            PgType::Numeric(p, s) => Col::Dec(
                Decimal128Builder::new().with_data_type(DataType::Decimal128(*p, *s)),
                *p,
                *s,
            ),
            PgType::NumericText => Col::NumText(StringBuilder::new()),
            PgType::Text(name) if name == "bpchar" => Col::Char(StringBuilder::new()),
            PgType::Text(_) | PgType::Json => Col::Text(StringBuilder::new()),
            PgType::Jsonb => Col::Jsonb(StringBuilder::new()),
            PgType::Uuid => Col::Uuid(StringBuilder::new()),
            PgType::Bytea => Col::Bytes(BinaryBuilder::new()),
            PgType::Date => Col::Date(Date32Builder::new()),
            PgType::Time => Col::Time(Time64MicrosecondBuilder::new()),
            PgType::Timestamp => Col::Ts(TimestampMicrosecondBuilder::new()),
            PgType::TimestampTz => Col::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
            PgType::Interval => Col::Interval(StringBuilder::new()),
            PgType::Array(inner, _) => {
                let child_field = match field.data_type() {
                    DataType::List(f) => f.clone(),
                    _ => Arc::new(Field::new("item", inner.arrow(), true)),
                };
                Col::List {
                    child: Box::new(Col::new(inner, &child_field)),
                    field: child_field,
                    offsets: vec![0],
                    valid: Vec::new(),
                }
            }
        }
    }

    fn push_null(&mut self) {
        match self {
            Col::Bool(b) => b.append_null(),
            Col::I16(b) => b.append_null(),
            Col::I32(b) => b.append_null(),
            Col::I64(b) => b.append_null(),
            Col::F32(b) => b.append_null(),
            Col::F64(b) => b.append_null(),
            Col::Dec(b, ..) => b.append_null(),
            Col::NumText(b) | Col::Text(b) | Col::Char(b) | Col::Jsonb(b) | Col::Uuid(b) => {
                b.append_null()
            }
            Col::Bytes(b) => b.append_null(),
            Col::Date(b) => b.append_null(),
            Col::Time(b) => b.append_null(),
            Col::Ts(b) => b.append_null(),
            Col::Interval(b) => b.append_null(),
            Col::List { offsets, valid, .. } => {
                offsets.push(offsets.last().copied().unwrap_or(0));
                valid.push(false);
            }
        }
    }

    /// Appends one non-NULL wire value; the error says what was wrong with it.
    fn push(&mut self, v: &[u8]) -> ConnectorResult<()> {
        match self {
            Col::Bool(b) => b.append_value(fixed::<1>(v)?[0] != 0),
            Col::I16(b) => b.append_value(i16::from_be_bytes(fixed(v)?)),
            Col::I32(b) => b.append_value(i32::from_be_bytes(fixed(v)?)),
            Col::I64(b) => b.append_value(i64::from_be_bytes(fixed(v)?)),
            Col::F32(b) => b.append_value(f32::from_be_bytes(fixed(v)?)),
            Col::F64(b) => b.append_value(f64::from_be_bytes(fixed(v)?)),
            Col::Dec(b, p, s) => b.append_value(numeric_to_i128(v, *p, *s)?),
            Col::NumText(b) => b.append_value(numeric_to_text(v)?),
            Col::Text(b) => b.append_value(utf8(v)?),
            Col::Char(b) => b.append_value(utf8(v)?.trim_end_matches(' ')),
            Col::Jsonb(b) => match v.split_first() {
                Some((1, rest)) => b.append_value(utf8(rest)?),
                _ => return Err(ConnectorError::malformed("unknown jsonb version")),
            },
            Col::Uuid(b) => b.append_value(uuid_text(&fixed::<16>(v)?)),
            Col::Bytes(b) => b.append_value(v),
            Col::Date(b) => {
                let d = i32::from_be_bytes(fixed(v)?);
                b.append_value(
                    d.checked_add(EPOCH_DAYS)
                        .ok_or_else(|| ConnectorError::out_of_range("date is ±infinity"))?,
                )
            }
            Col::Time(b) => b.append_value(i64::from_be_bytes(fixed(v)?)),
            Col::Ts(b) => {
                let t = i64::from_be_bytes(fixed(v)?);
                if t == i64::MAX || t == i64::MIN {
                    return Err(ConnectorError::out_of_range("timestamp is ±infinity"));
                }
                // PostgreSQL goes to the year 294276, Arrow's microseconds since 1970 to
                // 294247: the last 29 years do not fit.
                b.append_value(t.checked_add(EPOCH_MICROS).ok_or_else(|| {
                    ConnectorError::out_of_range(
                        "timestamp after the year 294247, the last Arrow can hold",
                    )
                })?)
            }
            Col::Interval(b) => {
                let raw: [u8; 16] = fixed(v)?;
                let micros = i64::from_be_bytes(raw[..8].try_into().map_err(|_| bad_interval())?);
                let days = i32::from_be_bytes(raw[8..12].try_into().map_err(|_| bad_interval())?);
                let months = i32::from_be_bytes(raw[12..].try_into().map_err(|_| bad_interval())?);
                b.append_value(iso_interval(months, days, micros))
            }
            Col::List {
                offsets,
                valid,
                child,
                ..
            } => {
                let mut r = v;
                let (ndim, _flags, _oid) = (get_i32(&mut r)?, get_i32(&mut r)?, get_i32(&mut r)?);
                let n = match ndim {
                    0 => 0,
                    1 => {
                        let n = get_i32(&mut r)?;
                        let _lower = get_i32(&mut r)?;
                        // Each element takes at least its 4-byte length.
                        if n < 0 || n as usize > r.len() / 4 {
                            return Err(ConnectorError::Malformed(format!(
                                "an array of {n} elements in {} bytes",
                                r.len()
                            )));
                        }
                        n
                    }
                    d => {
                        return Err(ConnectorError::Unsupported(format!(
                            "{d}-dimensional array (only 1 is supported)"
                        )));
                    }
                };
                for _ in 0..n {
                    match get_i32(&mut r)? {
                        -1 => child.push_null(),
                        len => {
                            let Some((item, rest)) = usize::try_from(len)
                                .ok()
                                .and_then(|len| r.split_at_checked(len))
                            else {
                                return Err(ConnectorError::Malformed(format!(
                                    "an array element of {len} bytes in {} bytes",
                                    r.len()
                                )));
                            };
                            child.push(item)?;
                            r = rest;
                        }
                    }
                }
                if !r.is_empty() {
                    return Err(ConnectorError::Malformed(format!(
                        "{} bytes after the last array element",
                        r.len()
                    )));
                }
                let last = offsets.last().copied().unwrap_or(0);
                let end = last.checked_add(n).ok_or_else(|| {
                    ConnectorError::out_of_range("more array elements than a batch can hold")
                })?;
                offsets.push(end);
                valid.push(true);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Bool(b) => Arc::new(b.finish()),
            Col::I16(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::I64(b) => Arc::new(b.finish()),
            Col::F32(b) => Arc::new(b.finish()),
            Col::F64(b) => Arc::new(b.finish()),
            Col::Dec(b, ..) => Arc::new(b.finish()),
            Col::NumText(b) | Col::Text(b) | Col::Char(b) | Col::Jsonb(b) | Col::Uuid(b) => {
                Arc::new(b.finish())
            }
            Col::Bytes(b) => Arc::new(b.finish()),
            Col::Date(b) => Arc::new(b.finish()),
            Col::Time(b) => Arc::new(b.finish()),
            Col::Ts(b) => Arc::new(b.finish()),
            Col::Interval(b) => Arc::new(b.finish()),
            Col::List {
                field,
                offsets,
                valid,
                child,
            } => {
                let offsets = OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into());
                let nulls = NullBuffer::from(std::mem::take(valid));
                let nulls = (nulls.null_count() > 0).then_some(nulls);
                Arc::new(ListArray::new(
                    field.clone(),
                    offsets,
                    child.finish(),
                    nulls,
                ))
            }
        }
    }
}

fn fixed<const N: usize>(v: &[u8]) -> ConnectorResult<[u8; N]> {
    v.try_into()
        .map_err(|_| ConnectorError::Malformed(format!("expected {N} bytes, got {}", v.len())))
}

fn get_i32(r: &mut &[u8]) -> ConnectorResult<i32> {
    if r.len() < 4 {
        return Err(ConnectorError::malformed("truncated value"));
    }
    Ok(r.get_i32())
}

fn utf8(v: &[u8]) -> ConnectorResult<&str> {
    std::str::from_utf8(v).map_err(|e| ConnectorError::Malformed(format!("invalid UTF-8 ({e})")))
}

fn bad_interval() -> ConnectorError {
    ConnectorError::malformed("interval")
}

fn uuid_text(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The parts of a binary numeric.
struct Numeric {
    weight: i16,
    sign: u16,
    dscale: u16,
    digits: Vec<i16>,
}

const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;

fn parse_numeric(v: &[u8]) -> ConnectorResult<Numeric> {
    let mut r = v;
    if r.len() < 8 {
        return Err(ConnectorError::malformed("truncated numeric"));
    }
    let ndigits = r.get_i16();
    let weight = r.get_i16();
    let sign = r.get_u16();
    let dscale = r.get_u16();
    if ndigits < 0 || r.len() != ndigits as usize * 2 {
        return Err(ConnectorError::malformed("malformed numeric"));
    }
    let digits = (0..ndigits).map(|_| r.get_i16()).collect();
    Ok(Numeric {
        weight,
        sign,
        dscale,
        digits,
    })
}

/// A binary numeric as an integer scaled by 10^s (no allocation: this runs per value).
fn numeric_to_i128(v: &[u8], p: u8, s: i8) -> ConnectorResult<i128> {
    if v.len() < 8 {
        return Err(ConnectorError::malformed("truncated numeric"));
    }
    let ndigits = i16::from_be_bytes([v[0], v[1]]);
    let weight = i16::from_be_bytes([v[2], v[3]]) as i32;
    let sign = u16::from_be_bytes([v[4], v[5]]);
    if ndigits < 0 || v.len() != 8 + ndigits as usize * 2 {
        return Err(ConnectorError::malformed("malformed numeric"));
    }
    if sign != 0 && sign != NUMERIC_NEG {
        return Err(ConnectorError::OutOfRange(format!(
            "{} does not fit decimal({p},{s})",
            numeric_to_text(v)?
        )));
    }
    let mut acc: i128 = 0;
    // Value = Σ d·10000^(weight-i); we want value·10^s as an integer.
    for (i, pair) in v[8..].chunks_exact(2).enumerate() {
        let d = i16::from_be_bytes([pair[0], pair[1]]) as i128;
        let exp10 = 4 * (weight - i as i32) + s as i32;
        let term = if exp10 >= 0 {
            10i128
                .checked_pow(exp10 as u32)
                .and_then(|m| d.checked_mul(m))
        } else {
            Some(d / 10i128.pow((-exp10).min(38) as u32))
        };
        acc = term
            .and_then(|t| acc.checked_add(t))
            .ok_or_else(|| ConnectorError::out_of_range("numeric value too large"))?;
    }
    if acc >= 10i128.pow(p as u32) {
        return Err(ConnectorError::OutOfRange(format!(
            "{} does not fit decimal({p},{s})",
            numeric_to_text(v)?
        )));
    }
    Ok(if sign == NUMERIC_NEG { -acc } else { acc })
}

fn numeric_to_text(v: &[u8]) -> ConnectorResult<String> {
    let n = parse_numeric(v)?;
    match n.sign {
        NUMERIC_NAN => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let mut s = String::new();
    if n.sign == NUMERIC_NEG {
        s.push('-');
    }
    // Integer part: groups with exponent ≥ 0.
    if n.weight < 0 {
        s.push('0');
    } else {
        for e in 0..=n.weight as i32 {
            let d = n.digits.get(e as usize).copied().unwrap_or(0);
            if e == 0 {
                s.push_str(&d.to_string());
            } else {
                s.push_str(&format!("{d:04}"));
            }
        }
    }
    if n.dscale > 0 {
        s.push('.');
        let mut frac = String::new();
        let mut i = n.weight as i32 + 1;
        while frac.len() < n.dscale as usize {
            let d = if i < 0 {
                0
            } else {
                n.digits.get(i as usize).copied().unwrap_or(0)
            };
            frac.push_str(&format!("{d:04}"));
            i += 1;
        }
        frac.truncate(n.dscale as usize);
        s.push_str(&frac);
    }
    Ok(s)
}

/// The longest value PostgreSQL can hold (1 GB); a longer length on the wire is an error,
/// not a buffer to grow.
const MAX_FIELD: usize = 1 << 30;
/// The longest header extension accepted (PostgreSQL sends none).
const MAX_HEADER_EXTENSION: usize = 1 << 16;

/// Decodes a binary COPY stream into batches: feed it chunks, take full batches.
pub struct CopyDecoder {
    buf: BytesMut,
    header_done: bool,
    finished: bool,
    cols: Vec<Col>,
    names: Vec<String>,
    rows: usize,
    /// Rows decoded before the current batch, for messages.
    rows_before: u64,
}

impl CopyDecoder {
    /// `fields` are the Arrow fields of the query's columns, in order (made by
    /// [`PgType::field`]).
    pub fn new(fields: &[FieldRef]) -> ConnectorResult<Self> {
        let cols = fields
            .iter()
            .map(|f| {
                PgType::from_field(f)
                    .map(|t| Col::new(&t, f))
                    .ok_or_else(|| {
                        ConnectorError::Unsupported(format!(
                            "column `{}`: no PostgreSQL decoding for {}",
                            f.name(),
                            f.data_type()
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            buf: BytesMut::new(),
            header_done: false,
            finished: false,
            cols,
            names: fields.iter().map(|f| f.name().clone()).collect(),
            rows: 0,
            rows_before: 0,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Checks, when the server says the COPY is over, that the stream ended with its
    /// trailer: a stream cut inside a row (or before the trailer) is an error, not a
    /// shorter result.
    pub fn end(&self) -> ConnectorResult<()> {
        if self.finished {
            return Ok(());
        }
        Err(ConnectorError::Malformed(format!(
            "the COPY stream ended without its trailer, after row {} ({} bytes of a cut row)",
            self.rows_before + self.rows as u64,
            self.buf.len()
        )))
    }

    /// Appends a chunk and decodes every complete row in the buffer.
    pub fn feed(&mut self, chunk: &[u8]) -> ConnectorResult<()> {
        self.buf.extend_from_slice(chunk);
        if !self.header_done {
            const SIG: &[u8] = b"PGCOPY\n\xff\r\n\0";
            if self.buf.len() < 19 {
                return Ok(());
            }
            if &self.buf[..11] != SIG {
                return Err(ConnectorError::malformed("not a binary COPY stream"));
            }
            let ext = u32::from_be_bytes([self.buf[15], self.buf[16], self.buf[17], self.buf[18]])
                as usize;
            if ext > MAX_HEADER_EXTENSION {
                return Err(ConnectorError::Malformed(format!(
                    "a COPY header extension of {ext} bytes"
                )));
            }
            if self.buf.len() < 19 + ext {
                return Ok(());
            }
            self.buf.advance(19 + ext);
            self.header_done = true;
        }
        if self.finished && !self.buf.is_empty() {
            return Err(ConnectorError::Malformed(format!(
                "{} bytes after the end of the COPY stream",
                self.buf.len()
            )));
        }
        while !self.finished {
            let number = self.rows_before + self.rows as u64 + 1;
            let Some(len) = self.complete_row(number)? else {
                return Ok(());
            };
            let trailer = self.buf[..2] == [0xFF, 0xFF];
            let row = self.buf.split_to(len);
            if trailer {
                // The trailer (field count -1); nothing may follow it.
                self.finished = true;
                if !self.buf.is_empty() {
                    return Err(ConnectorError::Malformed(format!(
                        "{} bytes after the end of the COPY stream",
                        self.buf.len()
                    )));
                }
                return Ok(());
            }
            // complete_row checked the field count and that every length fits in `row`.
            let mut r = &row[2..];
            for (i, col) in self.cols.iter_mut().enumerate() {
                let n = r.get_i32();
                if n == -1 {
                    col.push_null();
                } else {
                    let (v, rest) = r.split_at(n as usize);
                    col.push(v)
                        .map_err(|e| e.in_row(number, self.names[i].as_str()))?;
                    r = rest;
                }
            }
            self.rows += 1;
        }
        Ok(())
    }

    /// The byte length of the next row in the buffer (2 for the trailer), `None` until it
    /// is all there; an error when its field count or a field length cannot be right.
    fn complete_row(&self, number: u64) -> ConnectorResult<Option<usize>> {
        let b = &self.buf[..];
        if b.len() < 2 {
            return Ok(None);
        }
        let n = i16::from_be_bytes([b[0], b[1]]);
        if n == -1 {
            return Ok(Some(2));
        }
        if usize::try_from(n).ok() != Some(self.cols.len()) {
            return Err(ConnectorError::Malformed(format!(
                "row {number}: the server sent {n} columns, expected {}",
                self.cols.len()
            )));
        }
        let mut pos = 2usize;
        for name in &self.names {
            if b.len() < pos + 4 {
                return Ok(None);
            }
            let len = i32::from_be_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]]);
            pos += 4;
            match usize::try_from(len) {
                Ok(len) if len <= MAX_FIELD => pos += len,
                _ if len == -1 => {}
                _ => {
                    return Err(ConnectorError::malformed(format!("a value of {len} bytes"))
                        .in_row(number, name.as_str()));
                }
            }
            if b.len() < pos {
                return Ok(None);
            }
        }
        Ok(Some(pos))
    }

    /// The rows decoded so far as arrays, in column order.
    pub fn take(&mut self) -> Vec<ArrayRef> {
        self.rows_before += self.rows as u64;
        self.rows = 0;
        self.cols.iter_mut().map(Col::finish).collect()
    }
}

// ---------------------------------------------------------------------------------------
// Encoding: Arrow columns → binary COPY rows.

/// One column ready to encode, already cast to the target's natural Arrow type.
enum Enc<'a> {
    Bool(&'a BooleanArray),
    I16(&'a PrimitiveArray<Int16Type>),
    I32(&'a PrimitiveArray<Int32Type>),
    I64(&'a PrimitiveArray<Int64Type>),
    F32(&'a PrimitiveArray<Float32Type>),
    F64(&'a PrimitiveArray<Float64Type>),
    Dec(&'a PrimitiveArray<Decimal128Type>, i8),
    NumText(&'a StringArray),
    Text(&'a StringArray),
    TextView(&'a StringViewArray),
    Jsonb(&'a StringArray),
    Uuid(&'a StringArray),
    Bytes(&'a BinaryArray),
    Date(&'a PrimitiveArray<Date32Type>),
    Time(&'a PrimitiveArray<Time64MicrosecondType>),
    Ts(&'a PrimitiveArray<TimestampMicrosecondType>),
    Interval(&'a StringArray),
    List(&'a ListArray, Box<PgType>, u32),
}

/// Casts `array` to what a `target` column takes; the error names the Arrow types.
pub fn cast_for(array: &ArrayRef, target: &PgType) -> ConnectorResult<ArrayRef> {
    let want = target.arrow();
    if array.data_type() == &want {
        return Ok(array.clone());
    }
    // String views encode as they are (Parquet readers produce them): no copy.
    if matches!(target, PgType::Text(_) | PgType::Json) && array.data_type() == &DataType::Utf8View
    {
        return Ok(array.clone());
    }
    if let (PgType::Interval, DataType::Interval(IntervalUnit::MonthDayNano)) =
        (target, array.data_type())
    {
        let a = array.as_primitive::<IntervalMonthDayNanoType>();
        let text: StringArray = a
            .iter()
            .map(|v| v.map(|v| iso_interval(v.months, v.days, v.nanoseconds / 1000)))
            .collect();
        return Ok(Arc::new(text));
    }
    // A duration (MySQL's TIME, say) goes as an interval of that many microseconds.
    if let (PgType::Interval, DataType::Duration(_)) = (target, array.data_type()) {
        let micros = cast(array, &DataType::Duration(TimeUnit::Microsecond))?;
        let text: StringArray = (micros.as_primitive::<DurationMicrosecondType>().iter())
            .map(|v| v.map(|us| iso_interval(0, 0, us)))
            .collect();
        return Ok(Arc::new(text));
    }
    let opts = CastOptions {
        safe: false,
        format_options: FormatOptions::default(),
    };
    Ok(cast_with_options(array, &want, &opts)?)
}

fn enc<'a>(array: &'a ArrayRef, t: &PgType) -> ConnectorResult<Enc<'a>> {
    let a = array.as_ref();
    Ok(match t {
        PgType::Bool => Enc::Bool(a.as_boolean()),
        PgType::Int2 => Enc::I16(a.as_primitive()),
        PgType::Int4 => Enc::I32(a.as_primitive()),
        PgType::Int8 => Enc::I64(a.as_primitive()),
        PgType::Float4 => Enc::F32(a.as_primitive()),
        PgType::Float8 => Enc::F64(a.as_primitive()),
        PgType::Numeric(_, s) => Enc::Dec(a.as_primitive(), *s),
        PgType::NumericText => Enc::NumText(a.as_string()),
        PgType::Text(_) | PgType::Json if a.data_type() == &DataType::Utf8View => {
            Enc::TextView(a.as_string_view())
        }
        PgType::Text(_) | PgType::Json => Enc::Text(a.as_string()),
        PgType::Jsonb => Enc::Jsonb(a.as_string()),
        PgType::Uuid => Enc::Uuid(a.as_string()),
        PgType::Bytea => Enc::Bytes(a.as_binary()),
        PgType::Date => Enc::Date(a.as_primitive()),
        PgType::Time => Enc::Time(a.as_primitive()),
        PgType::Timestamp | PgType::TimestampTz => Enc::Ts(a.as_primitive()),
        PgType::Interval => Enc::Interval(a.as_string()),
        PgType::Array(inner, oid) => Enc::List(a.as_list(), inner.clone(), *oid),
    })
}

/// Writes the 19-byte header of a binary COPY stream.
pub fn put_header(buf: &mut BytesMut) {
    buf.put_slice(b"PGCOPY\n\xff\r\n\0");
    buf.put_i32(0);
    buf.put_i32(0);
}

/// Writes the trailer of a binary COPY stream.
pub fn put_trailer(buf: &mut BytesMut) {
    buf.put_i16(-1);
}

/// Encodes every row of `columns` (already cast by [`cast_for`]) into `buf`.
pub fn encode_rows(
    columns: &[(ArrayRef, PgType)],
    rows: usize,
    buf: &mut BytesMut,
) -> Result<(), (usize, usize, ConnectorError)> {
    let encs = columns
        .iter()
        .enumerate()
        .map(|(c, (a, t))| enc(a, t).map_err(|e| (0, c, e)))
        .collect::<Result<Vec<_>, _>>()?;
    for row in 0..rows {
        buf.put_i16(encs.len() as i16);
        for (c, e) in encs.iter().enumerate() {
            put_value(e, row, buf).map_err(|msg| (row, c, msg))?;
        }
    }
    Ok(())
}

/// Writes a length-prefixed value, reserving the length and filling it in after.
fn with_len(
    buf: &mut BytesMut,
    f: impl FnOnce(&mut BytesMut) -> ConnectorResult<()>,
) -> ConnectorResult<()> {
    let at = buf.len();
    buf.put_i32(0);
    f(buf)?;
    let len = (buf.len() - at - 4) as i32;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

fn put_text(buf: &mut BytesMut, v: &[u8]) -> ConnectorResult<()> {
    if v.contains(&0) {
        return Err(ConnectorError::unsupported(
            "text contains a NUL byte, which PostgreSQL can't store",
        ));
    }
    buf.put_i32(v.len() as i32);
    buf.put_slice(v);
    Ok(())
}

fn put_value(e: &Enc<'_>, row: usize, buf: &mut BytesMut) -> ConnectorResult<()> {
    macro_rules! fixed {
        ($a:expr, $len:expr, $put:ident) => {{
            if $a.is_null(row) {
                buf.put_i32(-1);
            } else {
                buf.put_i32($len);
                buf.$put($a.value(row));
            }
        }};
    }
    match e {
        Enc::Bool(a) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                buf.put_i32(1);
                buf.put_u8(u8::from(a.value(row)));
            }
        }
        Enc::I16(a) => fixed!(a, 2, put_i16),
        Enc::I32(a) => fixed!(a, 4, put_i32),
        Enc::I64(a) => fixed!(a, 8, put_i64),
        Enc::F32(a) => fixed!(a, 4, put_f32),
        Enc::F64(a) => fixed!(a, 8, put_f64),
        Enc::Time(a) => fixed!(a, 8, put_i64),
        Enc::Date(a) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                buf.put_i32(4);
                buf.put_i32(a.value(row) - EPOCH_DAYS);
            }
        }
        Enc::Ts(a) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                buf.put_i32(8);
                buf.put_i64(a.value(row) - EPOCH_MICROS);
            }
        }
        Enc::Interval(a) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                let v = a.value(row);
                let (months, days, micros) = parse_iso_interval(v).ok_or_else(|| {
                    ConnectorError::OutOfRange(format!(
                        "`{v}` is not an ISO 8601 interval such as P1Y2M3DT4H5M6.5S"
                    ))
                })?;
                buf.put_i32(16);
                buf.put_i64(micros);
                buf.put_i32(days);
                buf.put_i32(months);
            }
        }
        Enc::Dec(a, s) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                put_decimal(buf, a.value(row), *s);
            }
        }
        Enc::NumText(a) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                let text = a.value(row).trim();
                with_len(buf, |b| put_numeric(b, text))?;
            }
        }
        Enc::Text(a) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                put_text(buf, a.value(row).as_bytes())?;
            }
        }
        Enc::TextView(a) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                put_text(buf, a.value(row).as_bytes())?;
            }
        }
        Enc::Jsonb(a) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                let v = a.value(row).as_bytes();
                buf.put_i32(v.len() as i32 + 1);
                buf.put_u8(1);
                buf.put_slice(v);
            }
        }
        Enc::Uuid(a) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                let v = a.value(row);
                buf.put_i32(16);
                buf.put_slice(
                    &parse_uuid(v).ok_or_else(|| {
                        ConnectorError::OutOfRange(format!("`{v}` is not a UUID"))
                    })?,
                );
            }
        }
        Enc::Bytes(a) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                let v = a.value(row);
                buf.put_i32(v.len() as i32);
                buf.put_slice(v);
            }
        }
        Enc::List(a, inner, oid) => {
            if a.is_null(row) {
                buf.put_i32(-1);
            } else {
                let items = cast_for(&a.value(row), inner)?;
                let item_enc = enc(&items, inner)?;
                with_len(buf, |b| {
                    let n = items.len();
                    b.put_i32(i32::from(n > 0));
                    b.put_i32(i32::from(items.null_count() > 0));
                    b.put_u32(*oid);
                    if n > 0 {
                        b.put_i32(n as i32);
                        b.put_i32(1);
                    }
                    for i in 0..n {
                        put_value(&item_enc, i, b)?;
                    }
                    Ok(())
                })?;
            }
        }
    }
    Ok(())
}

/// An interval in ISO 8601 form (`P1Y2M3DT4H5M6.000007S`), which PostgreSQL reads back.
fn iso_interval(months: i32, days: i32, micros: i64) -> String {
    let mut s = String::from("P");
    let (y, m) = (months / 12, months % 12);
    for (v, unit) in [(y as i64, 'Y'), (m as i64, 'M'), (days as i64, 'D')] {
        if v != 0 {
            s.push_str(&format!("{v}{unit}"));
        }
    }
    let (h, rest) = (micros / 3_600_000_000, micros % 3_600_000_000);
    let (mi, rest) = (rest / 60_000_000, rest % 60_000_000);
    if micros != 0 {
        s.push('T');
        for (v, unit) in [(h, 'H'), (mi, 'M')] {
            if v != 0 {
                s.push_str(&format!("{v}{unit}"));
            }
        }
        if rest != 0 {
            let sign = if rest < 0 { "-" } else { "" };
            let (sec, frac) = (rest.abs() / 1_000_000, rest.abs() % 1_000_000);
            let frac = format!("{frac:06}");
            let frac = frac.trim_end_matches('0');
            let dot = if frac.is_empty() { "" } else { "." };
            s.push_str(&format!("{sign}{sec}{dot}{frac}S"));
        }
    }
    if s == "P" {
        s.push_str("T0S");
    }
    s
}

/// Parses what [`iso_interval`] writes (and ISO 8601 durations generally) into months,
/// days and microseconds.
fn parse_iso_interval(s: &str) -> Option<(i32, i32, i64)> {
    let body = s.trim().strip_prefix('P')?;
    let (date, time) = body.split_once('T').unwrap_or((body, ""));
    let (mut months, mut days, mut micros) = (0i64, 0i64, 0i64);
    let mut parts = |text: &str, in_time: bool| -> Option<()> {
        let mut num = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() || c == '-' || c == '.' || c == '+' {
                num.push(c);
                continue;
            }
            let n: f64 = num.parse().ok()?;
            let whole: i64 = num.parse().unwrap_or(n as i64);
            match (c, in_time) {
                ('Y', false) => months += whole.checked_mul(12)?,
                ('M', false) => months += whole,
                ('W', false) => days += whole.checked_mul(7)?,
                ('D', false) => days += whole,
                ('H', true) => micros += whole.checked_mul(3_600_000_000)?,
                ('M', true) => micros += whole.checked_mul(60_000_000)?,
                ('S', true) => micros += (n * 1e6).round() as i64,
                _ => return None,
            }
            num.clear();
        }
        num.is_empty().then_some(())
    };
    parts(date, false)?;
    parts(time, true)?;
    Some((
        i32::try_from(months).ok()?,
        i32::try_from(days).ok()?,
        micros,
    ))
}

#[cfg(test)]
fn decimal_text(v: i128, s: i8) -> String {
    let neg = v < 0;
    let digits = v.unsigned_abs().to_string();
    let s = s.max(0) as usize;
    let body = if s == 0 {
        digits
    } else if digits.len() > s {
        format!(
            "{}.{}",
            &digits[..digits.len() - s],
            &digits[digits.len() - s..]
        )
    } else {
        format!("0.{}{}", "0".repeat(s - digits.len()), digits)
    };
    if neg { format!("-{body}") } else { body }
}

/// Writes a length-prefixed binary numeric for `v`·10^-`s` (no allocation: per value).
fn put_decimal(b: &mut BytesMut, v: i128, s: i8) {
    let s = s.max(0) as u32;
    // Align the scale to whole base-10000 groups.
    let s4 = s.div_ceil(4) * 4;
    let pad = s4 - s;
    let mut n = v.unsigned_abs();
    let mut groups = [0i16; 12];
    let mut len = 0;
    // The lowest group holds the last 4 - pad digits, shifted left by pad (no overflow).
    if pad > 0 && n > 0 {
        let unit = 10u128.pow(4 - pad);
        groups[0] = ((n % unit) * 10u128.pow(pad)) as i16;
        n /= unit;
        len = 1;
    }
    while n > 0 {
        groups[len] = (n % 10_000) as i16;
        n /= 10_000;
        len += 1;
    }
    // groups[0] is the least significant; drop trailing zero groups.
    let mut low = 0;
    while low < len && groups[low] == 0 {
        low += 1;
    }
    let ndigits = len - low;
    let weight = len as i32 - 1 - (s4 / 4) as i32;
    b.put_i32(8 + 2 * ndigits as i32);
    b.put_i16(ndigits as i16);
    b.put_i16(if ndigits == 0 { 0 } else { weight as i16 });
    b.put_u16(if v < 0 { NUMERIC_NEG } else { 0 });
    b.put_u16(s as u16);
    for i in (low..len).rev() {
        b.put_i16(groups[i]);
    }
}

/// Writes a decimal string (`-12.50`, `NaN`) as a binary numeric.
fn put_numeric(b: &mut BytesMut, text: &str) -> ConnectorResult<()> {
    let bad = || ConnectorError::OutOfRange(format!("`{text}` is not a number"));
    if text.eq_ignore_ascii_case("nan") {
        b.put_slice(&[0, 0, 0, 0, 0xC0, 0, 0, 0]);
        return Ok(());
    }
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let int = int.trim_start_matches('0');
    let dscale = frac.len();
    // Pad the integer part on the left and the fraction on the right to groups of 4.
    let ipad = (4 - int.len() % 4) % 4;
    let fpad = (4 - frac.len() % 4) % 4;
    let all = format!("{}{int}{frac}{}", "0".repeat(ipad), "0".repeat(fpad));
    let int_groups = (ipad + int.len()) / 4;
    let mut digits: Vec<i16> = all
        .as_bytes()
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + (d - b'0') as i16))
        .collect();
    let mut weight = int_groups as i32 - 1;
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    b.put_i16(digits.len() as i16);
    b.put_i16(weight as i16);
    b.put_u16(if neg && !digits.is_empty() {
        NUMERIC_NEG
    } else {
        0
    });
    b.put_u16(dscale as u16);
    for d in digits {
        b.put_i16(d);
    }
    Ok(())
}

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = s
        .trim_matches(|c| c == '{' || c == '}')
        .bytes()
        .filter(|c| *c != b'-')
        .collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let h = (pair[0] as char).to_digit(16)?;
        let l = (pair[1] as char).to_digit(16)?;
        out[i] = (h * 16 + l) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary COPY stream: the header, rows of (length, bytes) fields, the trailer.
    fn copy_stream(rows: &[Vec<(i32, Vec<u8>)>], trailer: bool) -> Vec<u8> {
        let mut b = b"PGCOPY\n\xff\r\n\0".to_vec();
        b.extend_from_slice(&[0; 8]);
        for row in rows {
            b.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for (len, v) in row {
                b.extend_from_slice(&len.to_be_bytes());
                b.extend_from_slice(v);
            }
        }
        if trailer {
            b.extend_from_slice(&(-1i16).to_be_bytes());
        }
        b
    }

    /// A one-dimensional int4 array claiming `n` elements, with `items` after the header.
    fn int4_array(n: i32, items: &[i32]) -> (i32, Vec<u8>) {
        let mut v = Vec::new();
        for x in [1, 0, 23, n, 1] {
            v.extend_from_slice(&i32::to_be_bytes(x));
        }
        for x in items {
            v.extend_from_slice(&4i32.to_be_bytes());
            v.extend_from_slice(&x.to_be_bytes());
        }
        (v.len() as i32, v)
    }

    fn decode(stream: &[u8]) -> ConnectorResult<(usize, Vec<ArrayRef>)> {
        let fields: Vec<FieldRef> = [
            PgType::Int4.field("id"),
            PgType::Array(Box::new(PgType::Int4), 23).field("tags"),
        ]
        .into_iter()
        .map(Arc::new)
        .collect();
        let mut d = CopyDecoder::new(&fields)?;
        // Fed in small chunks, as the socket hands them over.
        for chunk in stream.chunks(7) {
            d.feed(chunk)?;
        }
        d.end()?;
        Ok((d.rows(), d.take()))
    }

    /// What a hostile or broken server sends is an error naming what was wrong (and the
    /// row and column where there is one), never a panic, a silently shorter result or a
    /// buffer grown without end.
    #[test]
    fn hostile_copy_streams_are_errors() {
        let id = |x: i32| (4, x.to_be_bytes().to_vec());
        let good = copy_stream(&[vec![id(1), int4_array(2, &[5, 6])]], true);
        let (rows, cols) = decode(&good).unwrap();
        assert_eq!(rows, 1);
        assert_eq!(cols[1].as_list::<i32>().value(0).len(), 2);

        let err = |stream: Vec<u8>| decode(&stream).unwrap_err().to_string();
        // A negative element count (this used to panic building the list).
        let e = err(copy_stream(&[vec![id(1), int4_array(-3, &[])]], true));
        assert!(
            e.contains("row 1, column `tags`: an array of -3 elements"),
            "{e}"
        );
        // More elements claimed than the bytes hold.
        let e = err(copy_stream(&[vec![id(1), int4_array(1 << 30, &[5])]], true));
        assert!(e.contains("an array of 1073741824 elements"), "{e}");
        // An element longer than the array, and bytes after the last element.
        let (_, mut v) = int4_array(1, &[5]);
        v[23] = 9;
        let e = err(copy_stream(&[vec![id(1), (v.len() as i32, v)]], true));
        assert!(e.contains("an array element of 9 bytes"), "{e}");
        let (_, mut v) = int4_array(1, &[5]);
        v.extend_from_slice(b"junk");
        let e = err(copy_stream(&[vec![id(1), (v.len() as i32, v)]], true));
        assert!(e.contains("4 bytes after the last array element"), "{e}");
        // A zero or negative field count (these used to end the result silently).
        for n in [0i16, -2] {
            let mut s = copy_stream(&[], false);
            s.extend_from_slice(&n.to_be_bytes());
            s.extend_from_slice(&[0; 16]);
            let e = err(s);
            assert!(
                e.contains(&format!("row 1: the server sent {n} columns")),
                "{e}"
            );
        }
        // A field length below -1, and one beyond what PostgreSQL can hold.
        let e = err(copy_stream(&[vec![id(1), (-7, vec![])]], true));
        assert!(
            e.contains("row 1, column `tags`: a value of -7 bytes"),
            "{e}"
        );
        let e = err(copy_stream(&[vec![id(1), (i32::MAX, vec![])]], true));
        assert!(e.contains("a value of 2147483647 bytes"), "{e}");
        // A stream cut inside a row, or ended without its trailer.
        let e = err(good[..good.len() - 5].to_vec());
        assert!(e.contains("ended without its trailer, after row 0"), "{e}");
        let e = err(good[..good.len() - 2].to_vec());
        assert!(e.contains("ended without its trailer, after row 1"), "{e}");
        // Timestamps Arrow cannot hold: an error naming the row and column, never a
        // wrapped value.
        let fields = [Arc::new(PgType::Timestamp.field("at"))];
        for (t, want) in [
            (i64::MAX, "±infinity"),
            (i64::MAX - 1, "after the year 294247"),
        ] {
            let mut d = CopyDecoder::new(&fields).unwrap();
            let e = d
                .feed(&copy_stream(&[vec![(8, t.to_be_bytes().to_vec())]], true))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("row 1, column `at`: ") && e.contains(want),
                "{e}"
            );
        }
        // Bytes after the trailer, and a header extension of 4 GiB.
        let mut s = good.clone();
        s.push(0);
        assert!(err(s).contains("1 bytes after the end of the COPY stream"));
        let mut s = good.clone();
        s[15..19].copy_from_slice(&[0xFF; 4]);
        assert!(err(s).contains("a COPY header extension of 4294967295 bytes"));
    }

    fn numeric_bytes(text: &str) -> Vec<u8> {
        let mut b = BytesMut::new();
        put_numeric(&mut b, text).unwrap();
        b.to_vec()
    }

    #[test]
    fn numerics_round_trip() {
        for t in [
            "0",
            "1",
            "-1",
            "12.50",
            "0.0001",
            "-0.5",
            "123456789.987654321",
            "10000",
            "99999999999999999999.99",
        ] {
            let b = numeric_bytes(t);
            let want = if t == "-0.5" { "-0.5" } else { t };
            assert_eq!(numeric_to_text(&b).unwrap(), want, "{t}");
        }
        assert_eq!(
            numeric_to_i128(&numeric_bytes("12.5"), 10, 2).unwrap(),
            1250
        );
        assert_eq!(numeric_to_i128(&numeric_bytes("-0.01"), 10, 2).unwrap(), -1);
        assert!(numeric_to_i128(&numeric_bytes("1000"), 3, 0).is_err());
        for (v, sc) in [
            (-5i128, 2i8),
            (12345, 2),
            (0, 2),
            (1, 0),
            (10_000, 0),
            (-99_999_999_999_999, 2),
            (i128::MAX / 10, 10),
            (7, 10),
        ] {
            let mut a = BytesMut::new();
            put_decimal(&mut a, v, sc);
            let mut want = BytesMut::new();
            with_len(&mut want, |b| put_numeric(b, &decimal_text(v, sc))).unwrap();
            assert_eq!(a, want, "{v} scale {sc}");
        }
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(12345, 2), "123.45");
        assert!(put_numeric(&mut BytesMut::new(), "12a").is_err());
    }

    #[test]
    fn intervals_round_trip_as_iso_8601() {
        for (m, d, us) in [
            (0, 0, 0),
            (14, 3, 14_706_000_007),
            (-2_136_000_000, 0, 0),
            (3, 4, 18_367_000_008),
            (0, -1, -1_500_000),
        ] {
            let text = iso_interval(m, d, us);
            assert_eq!(parse_iso_interval(&text), Some((m, d, us)), "{text}");
        }
        assert_eq!(iso_interval(14, 3, 14_706_000_007), "P1Y2M3DT4H5M6.000007S");
        assert_eq!(parse_iso_interval("P2W"), Some((0, 14, 0)));
        assert_eq!(parse_iso_interval("3 days"), None);
    }

    #[test]
    fn uuids() {
        let u = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        assert_eq!(uuid_text(&parse_uuid(u).unwrap()), u);
        assert!(parse_uuid("nope").is_none());
    }
}
