//! MySQL/MariaDB column types ↔ Arrow types: the mapping from result-set metadata, rows of
//! the binary protocol decoded straight into Arrow builders, and Arrow values written as
//! text for `LOAD DATA LOCAL INFILE` or `INSERT`.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, BooleanArray, BooleanBuilder,
    Date32Array, Date32Builder, Decimal128Array, Decimal128Builder, DurationMicrosecondArray,
    DurationMicrosecondBuilder, Float32Array, Float32Builder, Float64Array, Float64Builder,
    Int8Builder, Int16Builder, Int32Builder, Int64Array, Int64Builder, StringArray,
    Time64MicrosecondArray, TimestampMicrosecondArray, TimestampMicrosecondBuilder, UInt8Builder,
    UInt16Builder, UInt32Builder, UInt64Array, UInt64Builder,
};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::arrow::util::display::FormatOptions;
use mysql_async::Column;
use mysql_async::consts::{ColumnFlags, ColumnType};

use super::wire::{Wire, WireKind};
use crate::common::time::{civil_from_days, days_from_civil};
use crate::common::{ConnectorError, ConnectorResult};

/// Field metadata key holding the MySQL column type a column came from (`json`,
/// `enum('a','b')`, `tinyint unsigned`, `decimal(15,2)`, `datetime(6)`, …), so a MySQL
/// target can recreate it and the decoder knows the wire form (`bit(n)`).
pub const MYSQL_TYPE: &str = "mysql_type";

/// The character set number MySQL uses for binary strings.
const BINARY_CHARSET: u16 = 63;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The Arrow field for a result-set column. `declared` is the column's type from
/// `information_schema.COLUMNS` when the column comes straight from a table (it is exact:
/// `enum('a','b')`, `varchar(20)`); `json` says MariaDB's JSON check is on the column.
/// The error ([`ConnectorError::Unsupported`]) names the server type Fust cannot map.
pub fn field_for(col: &Column, declared: Option<&str>, json: bool) -> ConnectorResult<Field> {
    let (arrow, fallback) = map_column(col)?;
    let name = if json || col.column_type() == ColumnType::MYSQL_TYPE_JSON {
        "json".to_string()
    } else {
        declared.map(normalize).unwrap_or(fallback)
    };
    Ok(Field::new(col.name_str(), arrow, true)
        .with_metadata(HashMap::from([(MYSQL_TYPE.to_string(), name)])))
}

/// The Arrow type for a column and a MySQL type name built from the protocol metadata.
fn map_column(col: &Column) -> ConnectorResult<(DataType, String)> {
    use ColumnType::*;
    let flags = col.flags();
    let unsigned = flags.contains(ColumnFlags::UNSIGNED_FLAG);
    let u = if unsigned { " unsigned" } else { "" };
    let binary = col.character_set() == BINARY_CHARSET;
    let len = col.column_length();
    let d = col.decimals();
    let frac = |base: &str| {
        if (1..=6).contains(&d) {
            format!("{base}({d})")
        } else {
            base.to_string()
        }
    };
    let int = |signed: DataType, unsigned_t: DataType, name: &str| {
        let t = if unsigned { unsigned_t } else { signed };
        (t, format!("{name}{u}"))
    };
    Ok(match col.column_type() {
        MYSQL_TYPE_TINY if len == 1 && !unsigned => (DataType::Int8, "tinyint(1)".into()),
        MYSQL_TYPE_TINY => int(DataType::Int8, DataType::UInt8, "tinyint"),
        MYSQL_TYPE_SHORT => int(DataType::Int16, DataType::UInt16, "smallint"),
        MYSQL_TYPE_INT24 => int(DataType::Int32, DataType::UInt32, "mediumint"),
        MYSQL_TYPE_LONG => int(DataType::Int32, DataType::UInt32, "int"),
        MYSQL_TYPE_LONGLONG => int(DataType::Int64, DataType::UInt64, "bigint"),
        MYSQL_TYPE_YEAR => (DataType::Int16, "year".into()),
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            // The length counts the digits, the point and (when signed) the sign.
            let overhead = u32::from(d > 0) + u32::from(!unsigned);
            let p = len.saturating_sub(overhead).max(1);
            let name = format!("decimal({p},{d}){u}");
            match (u8::try_from(p), i8::try_from(d)) {
                (Ok(p8), Ok(s8)) if p8 <= 38 && s8 >= 0 && u32::from(d) <= p => {
                    (DataType::Decimal128(p8, s8), name)
                }
                _ => (DataType::Utf8, name),
            }
        }
        MYSQL_TYPE_FLOAT => (DataType::Float32, "float".into()),
        MYSQL_TYPE_DOUBLE => (DataType::Float64, "double".into()),
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => (DataType::Date32, "date".into()),
        // A TIME is a duration (-838:59:59 to 838:59:59), not only a time of day.
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => {
            (DataType::Duration(TimeUnit::Microsecond), frac("time"))
        }
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => (
            DataType::Timestamp(TimeUnit::Microsecond, None),
            frac("datetime"),
        ),
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => (
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            frac("timestamp"),
        ),
        MYSQL_TYPE_BIT if len <= 1 => (DataType::Boolean, "bit(1)".into()),
        MYSQL_TYPE_BIT => (DataType::UInt64, format!("bit({len})")),
        MYSQL_TYPE_JSON => (DataType::Utf8, "json".into()),
        MYSQL_TYPE_NULL => (DataType::Utf8, "text".into()),
        MYSQL_TYPE_ENUM => (DataType::Utf8, "enum".into()),
        MYSQL_TYPE_SET => (DataType::Utf8, "set".into()),
        MYSQL_TYPE_STRING | MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR
            if flags.contains(ColumnFlags::ENUM_FLAG) =>
        {
            (DataType::Utf8, "enum".into())
        }
        MYSQL_TYPE_STRING | MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR
            if flags.contains(ColumnFlags::SET_FLAG) =>
        {
            (DataType::Utf8, "set".into())
        }
        t @ (MYSQL_TYPE_STRING | MYSQL_TYPE_VAR_STRING | MYSQL_TYPE_VARCHAR) => {
            let fixed = t == MYSQL_TYPE_STRING;
            let n = len / max_bytes_per_char(col.character_set());
            match (binary, fixed) {
                (true, true) => (DataType::Binary, format!("binary({n})")),
                (true, false) => (DataType::Binary, format!("varbinary({n})")),
                (false, true) => (DataType::Utf8, format!("char({n})")),
                (false, false) => (DataType::Utf8, format!("varchar({n})")),
            }
        }
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB => {
            let chars = len / max_bytes_per_char(col.character_set());
            let size = match chars {
                0..=255 => "tiny",
                256..=65_535 => "",
                65_536..=16_777_215 => "medium",
                _ => "long",
            };
            if binary {
                (DataType::Binary, format!("{size}blob"))
            } else {
                (DataType::Utf8, format!("{size}text"))
            }
        }
        MYSQL_TYPE_GEOMETRY => return Err(ConnectorError::unsupported("geometry")),
        MYSQL_TYPE_VECTOR => return Err(ConnectorError::unsupported("vector")),
        other => return Err(ConnectorError::Unsupported(format!("{other:?}"))),
    })
}

/// Bytes per character of the common character sets, to turn byte lengths into the
/// lengths of a column definition.
fn max_bytes_per_char(charset: u16) -> u32 {
    match charset {
        BINARY_CHARSET | 5 | 8 | 11 | 31 | 47 | 48 | 49 | 94 => 1,
        33 | 83 | 192..=215 | 223 => 3,
        _ => 4,
    }
}

/// `tinyint(3) unsigned` → `tinyint unsigned`: display widths mean nothing for storage
/// (MySQL 8 deprecates them), except `tinyint(1)`, which marks a boolean.
fn normalize(declared: &str) -> String {
    let t = declared.trim().to_ascii_lowercase();
    for base in ["tinyint", "smallint", "mediumint", "int", "bigint", "year"] {
        if let Some(rest) = t.strip_prefix(base).and_then(|r| r.strip_prefix('('))
            && let Some((width, tail)) = rest.split_once(')')
            && width.bytes().all(|c| c.is_ascii_digit())
        {
            if base == "tinyint" && width == "1" {
                return t;
            }
            return format!("{base}{tail}");
        }
    }
    t
}

// ---------------------------------------------------------------------------------------
// Decoding: binary-protocol values → Arrow builders.

/// One column being built from wire values.
enum Col {
    Bool(BooleanBuilder),
    I8(Int8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    U8(UInt8Builder),
    U16(UInt16Builder),
    U32(UInt32Builder),
    U64(UInt64Builder),
    /// `bit(n)`, n > 1: big-endian bytes on the wire.
    Bits(UInt64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Dec(Decimal128Builder, i8),
    /// Bytes until `finish` checks them.
    Text(BinaryBuilder),
    Bytes(BinaryBuilder),
    Date(Date32Builder),
    Duration(DurationMicrosecondBuilder),
    Ts(TimestampMicrosecondBuilder),
}

impl Col {
    fn new(field: &Field, n: usize) -> ConnectorResult<Col> {
        let bits = field
            .metadata()
            .get(MYSQL_TYPE)
            .is_some_and(|t| t.starts_with("bit"));
        Ok(match field.data_type() {
            DataType::Boolean => Col::Bool(BooleanBuilder::with_capacity(n)),
            DataType::Int8 => Col::I8(Int8Builder::with_capacity(n)),
            DataType::Int16 => Col::I16(Int16Builder::with_capacity(n)),
            DataType::Int32 => Col::I32(Int32Builder::with_capacity(n)),
            DataType::Int64 => Col::I64(Int64Builder::with_capacity(n)),
            DataType::UInt8 => Col::U8(UInt8Builder::with_capacity(n)),
            DataType::UInt16 => Col::U16(UInt16Builder::with_capacity(n)),
            DataType::UInt32 => Col::U32(UInt32Builder::with_capacity(n)),
            DataType::UInt64 if bits => Col::Bits(UInt64Builder::with_capacity(n)),
            DataType::UInt64 => Col::U64(UInt64Builder::with_capacity(n)),
            DataType::Float32 => Col::F32(Float32Builder::with_capacity(n)),
            DataType::Float64 => Col::F64(Float64Builder::with_capacity(n)),
            t @ DataType::Decimal128(_, s) => Col::Dec(
                Decimal128Builder::with_capacity(n).with_data_type(t.clone()),
                *s,
            ),
            DataType::Utf8 => Col::Text(BinaryBuilder::with_capacity(n, n * 16)),
            DataType::Binary => Col::Bytes(BinaryBuilder::with_capacity(n, n * 16)),
            DataType::Date32 => Col::Date(Date32Builder::with_capacity(n)),
            DataType::Duration(TimeUnit::Microsecond) => {
                Col::Duration(DurationMicrosecondBuilder::with_capacity(n))
            }
            t @ DataType::Timestamp(TimeUnit::Microsecond, _) => {
                Col::Ts(TimestampMicrosecondBuilder::with_capacity(n).with_data_type(t.clone()))
            }
            other => {
                return Err(ConnectorError::Unsupported(format!(
                    "column `{}` has type {other}, which the MySQL reader does not produce",
                    field.name()
                )));
            }
        })
    }

    fn push_null(&mut self) {
        match self {
            Col::Bool(b) => b.append_null(),
            Col::I8(b) => b.append_null(),
            Col::I16(b) => b.append_null(),
            Col::I32(b) => b.append_null(),
            Col::I64(b) => b.append_null(),
            Col::U8(b) => b.append_null(),
            Col::U16(b) => b.append_null(),
            Col::U32(b) => b.append_null(),
            Col::U64(b) | Col::Bits(b) => b.append_null(),
            Col::F32(b) => b.append_null(),
            Col::F64(b) => b.append_null(),
            Col::Dec(b, _) => b.append_null(),
            Col::Text(b) => b.append_null(),
            Col::Bytes(b) => b.append_null(),
            Col::Date(b) => b.append_null(),
            Col::Duration(b) => b.append_null(),
            Col::Ts(b) => b.append_null(),
        }
    }

    /// Appends one value; the error says what was wrong with it.
    fn push(&mut self, v: &Wire) -> ConnectorResult<()> {
        macro_rules! int {
            ($b:expr, $t:ty) => {{
                let i = integer(v)?;
                $b.append_value(<$t>::try_from(i).map_err(|_| {
                    ConnectorError::OutOfRange(format!("{i} does not fit {}", stringify!($t)))
                })?)
            }};
        }
        match self {
            Col::Bool(b) => b.append_value(match v {
                Wire::Bytes(bytes) if bytes.len() == 1 && bytes[0] <= 1 => bytes[0] == 1,
                Wire::Bytes(bytes) if bytes == b"0" || bytes == b"1" => bytes == b"1",
                _ => integer(v)? != 0,
            }),
            Col::I8(b) => int!(b, i8),
            Col::I16(b) => int!(b, i16),
            Col::I32(b) => int!(b, i32),
            Col::I64(b) => int!(b, i64),
            Col::U8(b) => int!(b, u8),
            Col::U16(b) => int!(b, u16),
            Col::U32(b) => int!(b, u32),
            Col::U64(b) => int!(b, u64),
            Col::Bits(b) => match v {
                Wire::Bytes(bytes) if bytes.len() <= 8 => {
                    b.append_value(bytes.iter().fold(0u64, |acc, x| acc << 8 | u64::from(*x)))
                }
                _ => int!(b, u64),
            },
            Col::F32(b) => b.append_value(match v {
                Wire::Float(f) => *f,
                Wire::Double(f) => *f as f32,
                _ => text(v)?.parse().map_err(|_| not_a_number(v))?,
            }),
            Col::F64(b) => b.append_value(match v {
                Wire::Double(f) => *f,
                Wire::Float(f) => f64::from(*f),
                _ => text(v)?.parse().map_err(|_| not_a_number(v))?,
            }),
            Col::Dec(b, s) => b.append_value(match v {
                Wire::Bytes(bytes) => match decimal_fast(bytes, *s) {
                    Some(d) => d,
                    None => parse_decimal(text(v)?, *s)?,
                },
                _ => parse_decimal(text(v)?, *s)?,
            }),
            // UTF-8 is checked once per batch, in `finish`.
            Col::Text(b) | Col::Bytes(b) => match v {
                Wire::Bytes(bytes) => b.append_value(bytes),
                other => b.append_value(text_lossy(other)),
            },
            Col::Date(b) => {
                let (days, micros) = datetime(v)?;
                if micros != 0 {
                    return Err(ConnectorError::Malformed(format!(
                        "`{}` is not a date",
                        text_lossy(v)
                    )));
                }
                b.append_value(
                    i32::try_from(days)
                        .map_err(|_| ConnectorError::out_of_range("date out of range"))?,
                )
            }
            Col::Duration(b) => b.append_value(duration(v)?),
            Col::Ts(b) => {
                let (days, micros) = datetime(v)?;
                b.append_value(days * MICROS_PER_DAY + micros)
            }
        }
        Ok(())
    }

    /// Appends one value given as its bytes in the row packet: the common pairs of column
    /// and wire layout directly, anything else through [`Wire`].
    #[inline]
    fn push_raw(&mut self, kind: WireKind, raw: &[u8]) -> ConnectorResult<()> {
        match (&mut *self, kind) {
            (Col::I64(b), WireKind::Int(8, false)) => {
                if let Ok(a) = <[u8; 8]>::try_from(raw) {
                    b.append_value(i64::from_le_bytes(a));
                    return Ok(());
                }
            }
            (Col::I32(b), WireKind::Int(4, false)) => {
                if let Ok(a) = <[u8; 4]>::try_from(raw) {
                    b.append_value(i32::from_le_bytes(a));
                    return Ok(());
                }
            }
            (Col::Dec(b, s), WireKind::Bytes) => {
                if let Some(d) = decimal_fast(raw, *s) {
                    b.append_value(d);
                    return Ok(());
                }
            }
            (Col::Text(b), WireKind::Bytes) => {
                b.append_value(raw);
                return Ok(());
            }
            // DATE: a length byte of 4, then year (2 bytes), month, day.
            (Col::Date(b), WireKind::Date) => {
                if let [4, y0, y1, m @ 1..=12, d @ 1..=31] = *raw {
                    let days = days_from_civil(
                        i64::from(u16::from_le_bytes([y0, y1])),
                        i64::from(m),
                        i64::from(d),
                    );
                    b.append_value(days as i32);
                    return Ok(());
                }
            }
            _ => {}
        }
        self.push(&kind.decode(raw)?)
    }

    /// The column's array; for text, the error is the first row (of this batch) that is
    /// not valid UTF-8.
    fn finish(&mut self) -> Result<ArrayRef, usize> {
        Ok(match self {
            Col::Bool(b) => Arc::new(b.finish()),
            Col::I8(b) => Arc::new(b.finish()),
            Col::I16(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::I64(b) => Arc::new(b.finish()),
            Col::U8(b) => Arc::new(b.finish()),
            Col::U16(b) => Arc::new(b.finish()),
            Col::U32(b) => Arc::new(b.finish()),
            Col::U64(b) | Col::Bits(b) => Arc::new(b.finish()),
            Col::F32(b) => Arc::new(b.finish()),
            Col::F64(b) => Arc::new(b.finish()),
            Col::Dec(b, _) => Arc::new(b.finish()),
            Col::Text(b) => {
                let bytes = b.finish();
                match StringArray::try_from_binary(bytes.clone()) {
                    Ok(text) => Arc::new(text),
                    Err(_) => {
                        let bad = bytes
                            .iter()
                            .position(|v| v.is_some_and(|v| std::str::from_utf8(v).is_err()));
                        return Err(bad.unwrap_or(0));
                    }
                }
            }
            Col::Bytes(b) => Arc::new(b.finish()),
            Col::Date(b) => Arc::new(b.finish()),
            Col::Duration(b) => Arc::new(b.finish()),
            Col::Ts(b) => Arc::new(b.finish()),
        })
    }
}

/// An integer from a binary-protocol integer or a text value.
fn integer(v: &Wire) -> ConnectorResult<i128> {
    match v {
        Wire::Int(i) => Ok(i128::from(*i)),
        Wire::UInt(u) => Ok(i128::from(*u)),
        _ => text(v)?.trim().parse().map_err(|_| {
            ConnectorError::Malformed(format!("`{}` is not an integer", text_lossy(v)))
        }),
    }
}

fn text<'a>(v: &Wire<'a>) -> ConnectorResult<&'a str> {
    match v {
        Wire::Bytes(b) => {
            std::str::from_utf8(b).map_err(|_| ConnectorError::malformed("not valid UTF-8"))
        }
        other => Err(ConnectorError::Malformed(format!(
            "unexpected value {other:?}"
        ))),
    }
}

/// The error for text in a float column that does not parse.
fn not_a_number(v: &Wire) -> ConnectorError {
    ConnectorError::Malformed(format!("`{}` is not a number", text_lossy(v)))
}

/// Any value as text, for messages and for text columns fed a non-text value.
fn text_lossy(v: &Wire) -> String {
    match v {
        Wire::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Wire::Int(i) => i.to_string(),
        Wire::UInt(u) => u.to_string(),
        Wire::Float(f) => f.to_string(),
        Wire::Double(f) => f.to_string(),
        Wire::Date(y, mo, d, h, mi, s, us) => {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
        }
        Wire::Time(neg, days, h, mi, s, us) => {
            let hours = u64::from(*days) * 24 + u64::from(*h);
            let sign = if *neg { "-" } else { "" };
            format!("{sign}{hours:02}:{mi:02}:{s:02}.{us:06}")
        }
    }
}

/// The common case of a DECIMAL as the server sends it: `-?\d+(\.\d{scale})?` in at most
/// 19 characters (so at most 19 digits, which i64 would not always hold: the sum is kept
/// in i128). `None` for anything else, which [`parse_decimal`] then decides.
fn decimal_fast(b: &[u8], scale: i8) -> Option<i128> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let (mut v, mut frac) = (0i128, None);
    for (i, &c) in digits.iter().enumerate() {
        match c {
            b'0'..=b'9' => v = v * 10 + i128::from(c - b'0'),
            b'.' if frac.is_none() && i > 0 => frac = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    if frac.unwrap_or(0) != usize::try_from(scale).ok()? {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// `12.50` at scale 2 → 1250. Exact: no floating point.
pub fn parse_decimal(s: &str, scale: i8) -> ConnectorResult<i128> {
    let bad = || ConnectorError::Malformed(format!("`{s}` is not a decimal"));
    let t = s.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let scale = usize::try_from(scale.max(0)).map_err(|_| bad())?;
    if frac.len() > scale && frac[scale..].bytes().any(|c| c != b'0') {
        return Err(ConnectorError::OutOfRange(format!(
            "`{s}` has more than {scale} decimal places"
        )));
    }
    let mut v: i128 = 0;
    let digits = int
        .bytes()
        .chain(frac.bytes().chain(std::iter::repeat(b'0')).take(scale));
    for c in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(c - b'0')))
            .ok_or_else(|| {
                ConnectorError::OutOfRange(format!("`{s}` is too large for a 38-digit decimal"))
            })?;
    }
    Ok(if neg { -v } else { v })
}

/// Days since 1970-01-01 and microseconds into the day of a DATE, DATETIME or TIMESTAMP.
fn datetime(v: &Wire) -> ConnectorResult<(i64, i64)> {
    let (y, mo, d, h, mi, s, us) = match v {
        Wire::Date(y, mo, d, h, mi, s, us) => (*y, *mo, *d, *h, *mi, *s, *us),
        _ => {
            let t = text(v)?;
            parse_datetime(t).ok_or_else(|| {
                ConnectorError::Malformed(format!("`{t}` is not a date or date-time"))
            })?
        }
    };
    if mo == 0 || d == 0 {
        return Err(ConnectorError::Unsupported(format!(
            "`{}` is a zero date, which has no Arrow value; map it to NULL in a `query:` \
             (e.g. `NULLIF(col, '0000-00-00')`)",
            text_lossy(v)
        )));
    }
    let days = days_from_civil(i64::from(y), i64::from(mo), i64::from(d));
    let micros =
        ((i64::from(h) * 60 + i64::from(mi)) * 60 + i64::from(s)) * 1_000_000 + i64::from(us);
    Ok((days, micros))
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` as the text protocol sends it.
fn parse_datetime(t: &str) -> Option<(u16, u8, u8, u8, u8, u8, u32)> {
    let (date, time) = t.split_once(' ').unwrap_or((t, "00:00:00"));
    let mut d = date.splitn(3, '-');
    let (y, mo, dd) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut p = hms.splitn(3, ':');
    let (h, mi, s) = (
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
    );
    let us = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").get(..6)?.parse().ok()?
    };
    Some((y, mo, dd, h, mi, s, us))
}

/// A TIME value as signed microseconds: `[-]H:MM:SS[.ffffff]` with up to 838 hours, or the
/// binary protocol's sign, days, hours, minutes, seconds and microseconds.
fn duration(v: &Wire) -> ConnectorResult<i64> {
    let (neg, hours, mi, s, us) = match v {
        Wire::Time(neg, days, h, mi, s, us) => (
            *neg,
            i64::from(*days) * 24 + i64::from(*h),
            i64::from(*mi),
            i64::from(*s),
            i64::from(*us),
        ),
        _ => {
            let t = text(v)?;
            let bad = || ConnectorError::Malformed(format!("`{t}` is not a TIME value"));
            let (neg, body) = t.strip_prefix('-').map_or((false, t), |b| (true, b));
            let (hms, frac) = body.split_once('.').unwrap_or((body, ""));
            let mut parts = hms.split(':').map(|p| p.parse::<i64>().ok());
            let (Some(Some(h)), Some(Some(mi)), Some(Some(s)), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            if frac.len() > 6 || !frac.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            let us = format!("{frac:0<6}").parse::<i64>().map_err(|_| bad())?;
            (neg, h, mi, s, us)
        }
    };
    // Every part in its range before any arithmetic: a binary TIME of 200 million days (a
    // hostile server's) overflowed i64, and `1:-5:00` as text read as 55 minutes.
    let parts_fit = (0..=838).contains(&hours)
        && (0..60).contains(&mi)
        && (0..60).contains(&s)
        && (0..1_000_000).contains(&us);
    let micros = parts_fit
        .then(|| ((hours * 60 + mi) * 60 + s) * 1_000_000 + us)
        .filter(|m| *m <= MAX_TIME_MICROS)
        .ok_or_else(|| {
            ConnectorError::OutOfRange(format!(
                "TIME value `{}` is outside -838:59:59 to 838:59:59",
                text_lossy(v)
            ))
        })?;
    Ok(if neg { -micros } else { micros })
}

/// MySQL's largest TIME, 838:59:59, in microseconds (fractions up to .999999 are refused
/// by the server above it: 838:59:59.000000 is the maximum).
const MAX_TIME_MICROS: i64 = (838 * 3600 + 59 * 60 + 59) * 1_000_000;

/// Rows of the binary protocol decoded into Arrow columns.
pub struct Decoder {
    cols: Vec<Col>,
    fields: Vec<Arc<Field>>,
    /// The wire layout of each column, from the result set's column definitions.
    kinds: Vec<WireKind>,
    /// Rows per batch: the builders start with room for them.
    capacity: usize,
    rows: usize,
    rows_before: u64,
}

impl Decoder {
    pub fn new(fields: &[Arc<Field>], capacity: usize) -> ConnectorResult<Decoder> {
        Ok(Decoder {
            cols: fields
                .iter()
                .map(|f| Col::new(f, capacity))
                .collect::<Result<_, _>>()?,
            fields: fields.to_vec(),
            kinds: Vec::new(),
            capacity,
            rows: 0,
            rows_before: 0,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The wire layout of each column of the result set.
    pub fn set_wire_kinds(&mut self, kinds: Vec<WireKind>) -> ConnectorResult<()> {
        if kinds.len() != self.cols.len() {
            return Err(ConnectorError::Malformed(format!(
                "the server sent {} columns, expected {}",
                kinds.len(),
                self.cols.len()
            )));
        }
        self.kinds = kinds;
        Ok(())
    }

    /// Appends one binary-protocol row packet: 0x00, a NULL bitmap (offset by two bits),
    /// then the values that are not NULL.
    pub fn push_packet(&mut self, row: &[u8]) -> ConnectorResult<()> {
        let number = self.row_number();
        let bitmap_len = (self.cols.len() + 9) / 8;
        let Some((bitmap, mut values)) = row.get(1..).and_then(|r| r.split_at_checked(bitmap_len))
        else {
            return Err(ConnectorError::Malformed(format!(
                "row {number}: the server sent a cut row packet"
            )));
        };
        for (i, (col, kind)) in self.cols.iter_mut().zip(&self.kinds).enumerate() {
            let bit = i + 2;
            let pushed = if bitmap[bit / 8] >> (bit % 8) & 1 == 1 {
                col.push_null();
                Ok(())
            } else {
                match kind.split_value(values) {
                    Some((raw, rest)) => {
                        values = rest;
                        col.push_raw(*kind, raw)
                    }
                    None => Err(ConnectorError::malformed(
                        "the row packet ends inside this value",
                    )),
                }
            };
            pushed.map_err(|e| e.in_row(number, self.fields[i].name().as_str()))?;
        }
        if !values.is_empty() {
            return Err(ConnectorError::Malformed(format!(
                "row {number}: the server sent {} bytes after the last column",
                values.len()
            )));
        }
        self.rows += 1;
        Ok(())
    }

    /// The number (from 1, over the whole read) of the row being pushed.
    fn row_number(&self) -> u64 {
        self.rows_before + self.rows as u64 + 1
    }

    /// The rows decoded so far as arrays, in column order. The error names the first row
    /// and column whose text is not valid UTF-8.
    pub fn take(&mut self) -> ConnectorResult<Vec<ArrayRef>> {
        let first = self.rows_before;
        self.rows_before += self.rows as u64;
        self.rows = 0;
        let capacity = self.capacity;
        (self.cols.iter_mut().zip(&self.fields))
            .map(|(col, field)| {
                let done = match Col::new(field, capacity) {
                    Ok(fresh) => std::mem::replace(col, fresh).finish(),
                    Err(_) => col.finish(),
                };
                done.map_err(|row| {
                    ConnectorError::malformed(
                        "not valid UTF-8; select it as binary (`CAST(col AS BINARY)`) in a \
                         `query:`",
                    )
                    .in_row(first + row as u64 + 1, field.name().as_str())
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Creating tables: Arrow fields → MySQL column types.

/// The MySQL type to create for an Arrow field: its recorded `mysql_type` when it came from
/// MySQL, else the natural match. `key` asks for a type an index can hold (no TEXT/BLOB).
pub fn ddl_type(field: &Field, key: bool) -> ConnectorResult<String> {
    let recorded = field
        .metadata()
        .get(MYSQL_TYPE)
        .filter(|t| !matches!(t.as_str(), "enum" | "set"));
    let t = match recorded {
        Some(t) => t.clone(),
        None if field
            .metadata()
            .get("pg_type")
            .is_some_and(|t| t == "json" || t == "jsonb") =>
        {
            "json".into()
        }
        None => natural(field.data_type())?,
    };
    if key {
        if t.ends_with("text") || t == "json" || t == "enum" || t == "set" {
            return Ok("varchar(255)".into());
        }
        if t.ends_with("blob") {
            return Ok("varbinary(255)".into());
        }
    }
    Ok(t)
}

fn natural(t: &DataType) -> ConnectorResult<String> {
    Ok(match t {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::UInt8 => "tinyint unsigned".into(),
        DataType::UInt16 => "smallint unsigned".into(),
        DataType::UInt32 => "int unsigned".into(),
        DataType::UInt64 => "bigint unsigned".into(),
        DataType::Float16 | DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => {
            let s = (*s).max(0);
            if *p > 65 || s > 30 {
                return Err(ConnectorError::Unsupported(format!(
                    "{t} (MySQL decimals hold at most 65 digits, 30 after the point)"
                )));
            }
            format!("decimal({p},{s})")
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "longtext".into(),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "longblob".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Time32(TimeUnit::Second) => "time".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time(6)".into(),
        // A duration goes back as the TIME it came from (it must fit ±838:59:59).
        DataType::Duration(TimeUnit::Second) => "time".into(),
        DataType::Duration(_) => "time(6)".into(),
        // DATETIME holds years 1000-9999 (TIMESTAMP only 1970-2038); values are UTC.
        DataType::Timestamp(TimeUnit::Second, _) => "datetime".into(),
        DataType::Timestamp(_, _) => "datetime(6)".into(),
        DataType::Dictionary(_, v) => natural(v)?,
        other => return Err(ConnectorError::Unsupported(other.to_string())),
    })
}

// ---------------------------------------------------------------------------------------
// Encoding: Arrow columns → text values for LOAD DATA or INSERT.

/// One column ready to encode, cast to one of the forms below.
pub enum Enc {
    Bool(BooleanArray),
    I64(Int64Array),
    U64(UInt64Array),
    F32(Float32Array),
    F64(Float64Array),
    Dec(Decimal128Array, i8),
    Text(StringArray),
    Bytes(BinaryArray),
    Date(Date32Array),
    Time(Time64MicrosecondArray),
    Duration(DurationMicrosecondArray),
    Ts(TimestampMicrosecondArray),
}

impl Enc {
    /// Casts a column to its encodable form; the error names the Arrow type.
    pub fn try_new(array: &ArrayRef) -> ConnectorResult<Enc> {
        let opts = CastOptions {
            safe: false,
            format_options: FormatOptions::default(),
        };
        let cast = |t: DataType| cast_with_options(array, &t, &opts);
        use DataType as D;
        Ok(match array.data_type() {
            D::Boolean => Enc::Bool(array.as_boolean().clone()),
            D::Int8 | D::Int16 | D::Int32 | D::Int64 => {
                Enc::I64(cast(D::Int64)?.as_primitive().clone())
            }
            D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 => {
                Enc::U64(cast(D::UInt64)?.as_primitive().clone())
            }
            D::Float16 | D::Float32 => Enc::F32(cast(D::Float32)?.as_primitive().clone()),
            D::Float64 => Enc::F64(array.as_primitive().clone()),
            D::Decimal32(p, s) | D::Decimal64(p, s) | D::Decimal128(p, s) => Enc::Dec(
                cast(D::Decimal128((*p).min(38), *s))?
                    .as_primitive()
                    .clone(),
                *s,
            ),
            D::Decimal256(..) | D::Utf8 | D::LargeUtf8 | D::Utf8View | D::Dictionary(..) => {
                Enc::Text(cast(D::Utf8)?.as_string::<i32>().clone())
            }
            D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => {
                Enc::Bytes(cast(D::Binary)?.as_binary::<i32>().clone())
            }
            D::Date32 | D::Date64 => Enc::Date(cast(D::Date32)?.as_primitive().clone()),
            D::Time32(_) | D::Time64(_) => Enc::Time(
                cast(D::Time64(TimeUnit::Microsecond))?
                    .as_primitive()
                    .clone(),
            ),
            D::Duration(_) => Enc::Duration(
                cast(D::Duration(TimeUnit::Microsecond))?
                    .as_primitive()
                    .clone(),
            ),
            D::Timestamp(_, tz) => Enc::Ts(
                cast(D::Timestamp(TimeUnit::Microsecond, tz.clone()))?
                    .as_primitive()
                    .clone(),
            ),
            other => {
                return Err(ConnectorError::Unsupported(format!(
                    "Arrow type {other} has no MySQL form; cast it in a processor"
                )));
            }
        })
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            Enc::Bool(a) => a.is_null(row),
            Enc::I64(a) => a.is_null(row),
            Enc::U64(a) => a.is_null(row),
            Enc::F32(a) => a.is_null(row),
            Enc::F64(a) => a.is_null(row),
            Enc::Dec(a, _) => a.is_null(row),
            Enc::Text(a) => a.is_null(row),
            Enc::Bytes(a) => a.is_null(row),
            Enc::Date(a) => a.is_null(row),
            Enc::Time(a) => a.is_null(row),
            Enc::Duration(a) => a.is_null(row),
            Enc::Ts(a) => a.is_null(row),
        }
    }

    /// Writes a non-NULL value that needs no escaping (numbers, dates, times).
    fn put_plain(&self, row: usize, out: &mut Vec<u8>) -> ConnectorResult<()> {
        match self {
            Enc::Bool(a) => out.push(if a.value(row) { b'1' } else { b'0' }),
            Enc::I64(a) => {
                out.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes())
            }
            Enc::U64(a) => {
                out.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes())
            }
            // A float goes as the exact double it is, so the server rounds it back to itself.
            Enc::F32(a) => put_float(f64::from(a.value(row)), out)?,
            Enc::F64(a) => put_float(a.value(row), out)?,
            Enc::Dec(a, s) => put_decimal(a.value(row), *s, out),
            Enc::Date(a) => put_date(i64::from(a.value(row)), out),
            Enc::Time(a) => {
                let v = a.value(row);
                if !(0..MICROS_PER_DAY).contains(&v) {
                    return Err(ConnectorError::OutOfRange(format!(
                        "time {v} µs is not within a day"
                    )));
                }
                put_time(v, out);
            }
            Enc::Duration(a) => {
                let v = a.value(row);
                if v.unsigned_abs() > MAX_TIME_MICROS as u64 {
                    return Err(ConnectorError::OutOfRange(format!(
                        "duration {v} µs is outside MySQL's TIME range (-838:59:59 to 838:59:59)"
                    )));
                }
                if v < 0 {
                    out.push(b'-');
                }
                put_time(v.abs(), out);
            }
            Enc::Ts(a) => {
                let v = a.value(row);
                put_date(v.div_euclid(MICROS_PER_DAY), out);
                out.push(b' ');
                put_time(v.rem_euclid(MICROS_PER_DAY), out);
            }
            Enc::Text(_) | Enc::Bytes(_) => {}
        }
        Ok(())
    }

    fn bytes(&self, row: usize) -> Option<&[u8]> {
        match self {
            Enc::Text(a) => Some(a.value(row).as_bytes()),
            Enc::Bytes(a) => Some(a.value(row)),
            _ => None,
        }
    }

    /// Appends the value as a `LOAD DATA` field (tab-separated, backslash-escaped, `\N`).
    pub fn put_field(&self, row: usize, out: &mut Vec<u8>) -> ConnectorResult<()> {
        if self.is_null(row) {
            out.extend_from_slice(b"\\N");
            return Ok(());
        }
        match self.bytes(row) {
            Some(b) => {
                for &c in b {
                    match c {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        0 => out.extend_from_slice(b"\\0"),
                        c => out.push(c),
                    }
                }
                Ok(())
            }
            None => self.put_plain(row, out),
        }
    }

    /// Appends the value as an SQL literal (`NULL`, `'text'`, `X'00ff'`, `12.5`).
    pub fn put_literal(&self, row: usize, out: &mut Vec<u8>) -> ConnectorResult<()> {
        if self.is_null(row) {
            out.extend_from_slice(b"NULL");
            return Ok(());
        }
        match self {
            Enc::Text(a) => {
                out.push(b'\'');
                for &c in a.value(row).as_bytes() {
                    match c {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\'' => out.extend_from_slice(b"\\'"),
                        0 => out.extend_from_slice(b"\\0"),
                        c => out.push(c),
                    }
                }
                out.push(b'\'');
            }
            Enc::Bytes(a) => {
                out.extend_from_slice(b"X'");
                for c in a.value(row) {
                    let _ = write!(out, "{c:02x}");
                }
                out.push(b'\'');
            }
            Enc::Date(_) | Enc::Time(_) | Enc::Duration(_) | Enc::Ts(_) => {
                out.push(b'\'');
                self.put_plain(row, out)?;
                out.push(b'\'');
            }
            _ => self.put_plain(row, out)?,
        }
        Ok(())
    }
}

fn put_float(f: f64, out: &mut Vec<u8>) -> ConnectorResult<()> {
    if !f.is_finite() {
        return Err(ConnectorError::OutOfRange(format!(
            "{f} has no MySQL value (no NaN or infinities)"
        )));
    }
    out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes());
    Ok(())
}

pub fn put_decimal(v: i128, s: i8, out: &mut Vec<u8>) {
    if v < 0 {
        out.push(b'-');
    }
    let digits = v.unsigned_abs().to_string();
    if s <= 0 {
        out.extend_from_slice(digits.as_bytes());
        out.extend(std::iter::repeat_n(b'0', usize::from(s.unsigned_abs())));
        return;
    }
    let s = usize::from(s.unsigned_abs());
    if digits.len() > s {
        let (i, f) = digits.split_at(digits.len() - s);
        out.extend_from_slice(i.as_bytes());
        out.push(b'.');
        out.extend_from_slice(f.as_bytes());
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', s - digits.len()));
        out.extend_from_slice(digits.as_bytes());
    }
}

fn put_date(days: i64, out: &mut Vec<u8>) {
    let (y, m, d) = civil_from_days(days);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
}

fn put_time(micros: i64, out: &mut Vec<u8>) {
    let secs = micros / 1_000_000;
    let us = micros % 1_000_000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{us:06}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{Date32Type, Decimal128Type, Int64Type};

    #[test]
    fn the_decimal_fast_path_agrees_with_the_exact_parser() {
        for (text, scale) in [
            ("12.50", 2),
            ("-0.07", 2),
            ("0.00", 2),
            ("999999999999999999", 0),
            ("-9999999999999999.99", 2),
            ("12", 0),
            // 19 digits: past i64 (this wrapped into a wrong value once).
            ("9999999999999999999", 0),
            ("-9223372036854775809", 0),
            ("12345678901234567.9", 1),
        ] {
            let fast = decimal_fast(text.as_bytes(), scale).expect(text);
            assert_eq!(Some(fast), parse_decimal(text, scale).ok(), "{text}");
        }
        // Not the server's form: left to the exact parser.
        for (text, scale) in [("12.5", 2), ("1e3", 0), (".5", 1), ("12", 2), ("1.2.3", 1)] {
            assert_eq!(decimal_fast(text.as_bytes(), scale), None, "{text}");
        }
        assert_eq!(decimal_fast(b"99999999999999999999", 0), None, "20 digits");
    }

    #[test]
    fn decimals_parse_and_print_exactly() {
        assert_eq!(parse_decimal("12.50", 2).unwrap(), 1250);
        assert_eq!(parse_decimal("-0.01", 2).unwrap(), -1);
        assert_eq!(parse_decimal("7", 3).unwrap(), 7000);
        assert!(parse_decimal("1.234", 2).is_err());
        assert!(parse_decimal("12a", 0).is_err());
        let max = "9".repeat(38);
        assert_eq!(parse_decimal(&max, 0).unwrap().to_string(), max);
        let mut out = Vec::new();
        put_decimal(-5, 2, &mut out);
        out.push(b' ');
        put_decimal(12345, 2, &mut out);
        out.push(b' ');
        put_decimal(3, -2, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "-0.05 123.45 300");
    }

    #[test]
    fn dates_and_times() {
        for d in [-354_285, -1, 0, 19_723, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        let v = Wire::Date(1000, 1, 1, 0, 0, 0, 0);
        assert_eq!(datetime(&v).unwrap(), (-354_285, 0));
        assert!(datetime(&Wire::Date(0, 0, 0, 0, 0, 0, 0)).is_err());
        // TIME is a duration: the whole of -838:59:59 to 838:59:59, binary or text.
        assert_eq!(
            duration(&Wire::Time(false, 0, 23, 59, 59, 999_999)).unwrap(),
            MICROS_PER_DAY - 1
        );
        assert_eq!(
            duration(&Wire::Time(true, 34, 22, 59, 59, 0)).unwrap(),
            -MAX_TIME_MICROS
        );
        assert_eq!(
            duration(&Wire::Bytes(b"838:59:59")).unwrap(),
            MAX_TIME_MICROS
        );
        assert_eq!(duration(&Wire::Bytes(b"-00:00:00.5")).unwrap(), -500_000);
        for bad in [
            &b"839:00:00"[..],
            b"1:60:00",
            b"12:00",
            b"x:00:00",
            b"1:00:00.1234567",
        ] {
            assert!(duration(&Wire::Bytes(bad)).is_err(), "{bad:?}");
        }
        // Parts out of range, checked before the arithmetic (`1:-5:00` was 55 minutes; the
        // days and microseconds overflowed i64).
        for bad in [
            Wire::Bytes(b"1:-5:00"),
            Wire::Bytes(b"0:0:-1"),
            Wire::Bytes(b"9223372036854775807:00:00"),
            Wire::Time(false, u32::MAX, 23, 59, 59, 0),
            Wire::Time(true, 0, 0, 0, 0, 1_000_000),
        ] {
            let err = duration(&bad).unwrap_err();
            assert!(
                matches!(err, ConnectorError::OutOfRange(_)),
                "{bad:?}: {err}"
            );
        }
        let mut out = Vec::new();
        put_date(-354_285, &mut out);
        out.push(b' ');
        put_time(MICROS_PER_DAY - 1, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "1000-01-01 23:59:59.999999"
        );
    }

    #[test]
    fn binary_protocol_values_decode() {
        use WireKind as K;
        // MYSQL_TYPE_* numbers and the UNSIGNED flag.
        assert_eq!(K::from_column(8, true), K::Int(8, true));
        assert_eq!(K::from_column(9, false), K::Int(4, false));
        assert_eq!(K::from_column(13, false), K::Int(2, false));
        assert_eq!(K::from_column(1, true), K::Int(1, true));
        assert_eq!(K::from_column(246, false), K::Bytes);
        assert_eq!(K::from_column(7, false), K::Date);
        assert_eq!(K::from_column(19, false), K::Time);
        assert_eq!(K::Int(1, false).decode(&[0xff]).ok(), Some(Wire::Int(-1)));
        assert_eq!(K::Int(1, true).decode(&[0xff]).ok(), Some(Wire::UInt(255)));
        assert_eq!(
            K::Int(2, false).decode(&[0x00, 0x80]).ok(),
            Some(Wire::Int(-32768))
        );
        assert_eq!(
            K::Int(4, false).decode(&(-5i32).to_le_bytes()).ok(),
            Some(Wire::Int(-5))
        );
        assert_eq!(
            K::Int(8, false).decode(&i64::MIN.to_le_bytes()).ok(),
            Some(Wire::Int(i64::MIN))
        );
        assert_eq!(
            K::Int(8, true).decode(&u64::MAX.to_le_bytes()).ok(),
            Some(Wire::UInt(u64::MAX))
        );
        assert_eq!(
            K::Double.decode(&1.5f64.to_le_bytes()).ok(),
            Some(Wire::Double(1.5))
        );
        assert_eq!(
            K::Float.decode(&(-2.25f32).to_le_bytes()).ok(),
            Some(Wire::Float(-2.25))
        );
        assert_eq!(
            K::Date.decode(&[0]).ok(),
            Some(Wire::Date(0, 0, 0, 0, 0, 0, 0))
        );
        assert_eq!(
            K::Date.decode(&[4, 0xe8, 0x07, 2, 29]).ok(),
            Some(Wire::Date(2024, 2, 29, 0, 0, 0, 0))
        );
        assert_eq!(
            K::Date.decode(&[7, 0xe8, 0x07, 2, 29, 23, 59, 58]).ok(),
            Some(Wire::Date(2024, 2, 29, 23, 59, 58, 0))
        );
        let mut dt = vec![11, 0xe8, 0x07, 2, 29, 23, 59, 58];
        dt.extend(999_999u32.to_le_bytes());
        assert_eq!(
            K::Date.decode(&dt).ok(),
            Some(Wire::Date(2024, 2, 29, 23, 59, 58, 999_999))
        );
        let mut t = vec![12, 1];
        t.extend(34u32.to_le_bytes());
        t.extend([22, 59, 59]);
        t.extend(5u32.to_le_bytes());
        assert_eq!(
            K::Time.decode(&t).ok(),
            Some(Wire::Time(true, 34, 22, 59, 59, 5))
        );
        assert_eq!(
            K::Time.decode(&t[..9]).map_err(|_| ()),
            Err(()),
            "length byte says 12"
        );
        assert_eq!(
            K::Time.decode(&[0]).ok(),
            Some(Wire::Time(false, 0, 0, 0, 0, 0))
        );
        // Cut or overlong values are errors, not panics.
        for (kind, raw) in [
            (K::Int(8, false), &[1u8, 2][..]),
            (K::Int(2, true), &[1, 2, 3][..]),
            (K::Double, &[][..]),
            (K::Date, &[][..]),
            (K::Date, &[4, 1, 2][..]),
            (K::Date, &[5, 1, 2, 3, 4, 5][..]),
            (K::Time, &[8, 1][..]),
        ] {
            let err = kind.decode(raw).unwrap_err().to_string();
            assert!(err.contains("the server sent"), "{kind:?} {raw:?}: {err}");
        }
        assert_eq!(K::Bytes.decode(b"12.50").ok(), Some(Wire::Bytes(b"12.50")));
    }

    #[test]
    fn rows_decode_into_arrays_and_bad_text_names_its_row() {
        let fields: Vec<Arc<Field>> = [
            ("id", DataType::Int64),
            ("price", DataType::Decimal128(15, 2)),
            ("day", DataType::Date32),
            ("note", DataType::Utf8),
        ]
        .into_iter()
        .map(|(n, t)| Arc::new(Field::new(n, t, true)))
        .collect();
        // BIGINT, DECIMAL, DATE, VARCHAR as protocol types.
        let kinds = || {
            [8, 246, 10, 253]
                .map(|t| WireKind::from_column(t, false))
                .to_vec()
        };
        let mut d = Decoder::new(&fields, 4).unwrap();
        d.set_wire_kinds(kinds()).unwrap();
        let day = [4, 0xe8, 0x07, 2, 29];
        let (seven, minus_one) = (7i64.to_le_bytes(), (-1i64).to_le_bytes());
        let rows: [[Option<&[u8]>; 4]; 3] = [
            [
                Some(&seven),
                Some(b"-12.50"),
                Some(&day),
                Some("née".as_bytes()),
            ],
            [None, Some(b"3"), None, None],
            [Some(&minus_one), Some(b"0.07"), Some(&[0]), Some(b"x")],
        ];
        for row in &rows[..2] {
            d.push_packet(&packet(row)).unwrap();
        }
        let cols = d.take().unwrap();
        assert_eq!(cols[0].as_primitive::<Int64Type>().value(0), 7);
        assert!(cols[0].is_null(1));
        let prices = cols[1].as_primitive::<Decimal128Type>();
        assert_eq!((prices.value(0), prices.value(1)), (-1250, 300));
        assert_eq!(
            cols[2].as_primitive::<Date32Type>().value(0),
            days_from_civil(2024, 2, 29) as i32
        );
        assert_eq!(cols[3].as_string::<i32>().value(0), "née");
        assert!(cols[3].is_null(1));

        // Text is checked once per batch; the message names the row over the whole read.
        for note in [&b"ok"[..], b"a\xffb"] {
            d.push_packet(&packet(&[None, None, None, Some(note)]))
                .unwrap();
        }
        let err = d.take().unwrap_err().to_string();
        assert!(
            err.starts_with("row 4, column `note`: not valid UTF-8"),
            "{err}"
        );

        // A zero date (length 0) is refused with the row and column named.
        let mut d = Decoder::new(&fields, 4).unwrap();
        d.set_wire_kinds(kinds()).unwrap();
        let err = d.push_packet(&packet(&rows[2])).unwrap_err().to_string();
        assert!(err.starts_with("row 1, column `day`: "), "{err}");
        assert!(err.contains("zero date"), "{err}");

        // Cut packets are errors naming the row (and column), never panics.
        let whole = packet(&rows[0]);
        for cut in [1, 2, 5, 12, whole.len() - 1] {
            let err = d.push_packet(&whole[..cut]).unwrap_err().to_string();
            assert!(err.starts_with("row 1"), "{cut}: {err}");
        }
        // Bytes after the last value are a malformed row, not ignored.
        let mut long = whole.clone();
        long.extend_from_slice(b"junk");
        let err = d.push_packet(&long).unwrap_err().to_string();
        assert!(err.contains("4 bytes after the last column"), "{err}");
        assert!(
            d.set_wire_kinds(kinds()[..1].to_vec())
                .unwrap_err()
                .to_string()
                .contains("sent 1 columns, expected 4")
        );
    }

    /// The mysql_wire fuzz target's find: a binary TIME of 0x0C000000 days (the server's
    /// bytes, after the row header and NULL bitmap) overflowed i64 while being converted
    /// to microseconds; it is a range error naming the row and column.
    #[test]
    fn a_time_of_200_million_days_is_an_error() {
        let fields = [Arc::new(Field::new(
            "t",
            DataType::Duration(TimeUnit::Microsecond),
            true,
        ))];
        let mut d = Decoder::new(&fields, 4).unwrap();
        d.set_wire_kinds(vec![WireKind::from_column(11, false)])
            .unwrap();
        let packet = [0, 0, 12, 0, 0, 0, 0, 0x0C, 30, 0, 0, 0x63, 0x79, 0x3B, 0x09];
        let err = d.push_packet(&packet).unwrap_err().to_string();
        assert!(err.starts_with("row 1, column `t`: "), "{err}");
        assert!(err.contains("outside -838:59:59 to 838:59:59"), "{err}");
    }

    /// A binary-protocol row packet of `cells` (text cells get their length prefix).
    fn packet(cells: &[Option<&[u8]>]) -> Vec<u8> {
        let mut p = vec![0u8; 1 + (cells.len() + 9) / 8];
        for (i, cell) in cells.iter().enumerate() {
            match cell {
                None => p[1 + (i + 2) / 8] |= 1 << ((i + 2) % 8),
                Some(v) if i == 1 || i == 3 => {
                    p.push(v.len() as u8);
                    p.extend_from_slice(v);
                }
                Some(v) => p.extend_from_slice(v),
            }
        }
        p
    }

    #[test]
    fn fields_are_escaped() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![Some("a\tb\\c\nd\0"), None]));
        let e = Enc::try_new(&a).unwrap();
        let mut out = Vec::new();
        e.put_field(0, &mut out).unwrap();
        out.push(b'|');
        e.put_field(1, &mut out).unwrap();
        out.push(b'|');
        e.put_literal(0, &mut out).unwrap();
        assert_eq!(out, b"a\\tb\\\\c\\nd\\0|\\N|'a\tb\\\\c\nd\\0'".to_vec());
    }

    #[test]
    fn display_widths_are_dropped() {
        assert_eq!(normalize("tinyint(3) unsigned"), "tinyint unsigned");
        assert_eq!(normalize("int(11)"), "int");
        assert_eq!(normalize("tinyint(1)"), "tinyint(1)");
        assert_eq!(normalize("decimal(15,2)"), "decimal(15,2)");
        assert_eq!(normalize("enum('a','b')"), "enum('a','b')");
    }
}
