//! A fast CSV encoder for the common column types (integers, floats, booleans, dates,
//! strings), writing each row straight into one buffer. It produces exactly the bytes that
//! arrow's CSV writer does (same integer, `ryu` float and ISO date formats, quotes only
//! where needed); batches with any other type use arrow's writer. A unit test compares
//! the two on edge cases.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float32Array, Float64Array,
    GenericStringArray, PrimitiveArray, StringViewArray,
};
use datafusion::arrow::datatypes::{
    DataType, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};

enum Col<'a> {
    I8(&'a PrimitiveArray<Int8Type>),
    I16(&'a PrimitiveArray<Int16Type>),
    I32(&'a PrimitiveArray<Int32Type>),
    I64(&'a PrimitiveArray<Int64Type>),
    U8(&'a PrimitiveArray<UInt8Type>),
    U16(&'a PrimitiveArray<UInt16Type>),
    U32(&'a PrimitiveArray<UInt32Type>),
    U64(&'a PrimitiveArray<UInt64Type>),
    F32(&'a Float32Array),
    F64(&'a Float64Array),
    Bool(&'a BooleanArray),
    Date(&'a Date32Array),
    Str(&'a GenericStringArray<i32>),
    LargeStr(&'a GenericStringArray<i64>),
    View(&'a StringViewArray),
}

fn col(a: &ArrayRef) -> Option<Col<'_>> {
    Some(match a.data_type() {
        DataType::Int8 => Col::I8(a.as_primitive()),
        DataType::Int16 => Col::I16(a.as_primitive()),
        DataType::Int32 => Col::I32(a.as_primitive()),
        DataType::Int64 => Col::I64(a.as_primitive()),
        DataType::UInt8 => Col::U8(a.as_primitive()),
        DataType::UInt16 => Col::U16(a.as_primitive()),
        DataType::UInt32 => Col::U32(a.as_primitive()),
        DataType::UInt64 => Col::U64(a.as_primitive()),
        DataType::Float32 => Col::F32(a.as_primitive()),
        DataType::Float64 => Col::F64(a.as_primitive()),
        DataType::Boolean => Col::Bool(a.as_boolean()),
        DataType::Date32 => Col::Date(a.as_primitive()),
        DataType::Utf8 => Col::Str(a.as_string::<i32>()),
        DataType::LargeUtf8 => Col::LargeStr(a.as_string::<i64>()),
        DataType::Utf8View => Col::View(a.as_string_view()),
        _ => return None,
    })
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil(days: i32) -> (i64, u32, u32) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Encodes `batch` as CSV rows (no header), or `None` when a column type or shape is not
/// handled here (the caller then uses arrow's writer).
pub fn encode(batch: &RecordBatch, delimiter: u8, quote: u8, null: &str) -> Option<Vec<u8>> {
    // A one-column row with an empty value is quoted by the csv crate: leave it to arrow.
    if batch.num_columns() < 2 {
        return None;
    }
    let cols: Vec<Col<'_>> = batch.columns().iter().map(col).collect::<Option<_>>()?;
    let mut special = [false; 256];
    for b in [delimiter, quote, b'\n', b'\r'] {
        special[b as usize] = true;
    }
    let mut out = Vec::with_capacity(batch.get_array_memory_size() * 3 / 2);
    let mut ints = itoa::Buffer::new();
    let mut floats = ryu::Buffer::new();
    let null = null.as_bytes();
    let text = |out: &mut Vec<u8>, s: &[u8]| {
        if s.iter().any(|b| special[*b as usize]) {
            out.push(quote);
            for &b in s {
                if b == quote {
                    out.push(quote);
                }
                out.push(b);
            }
            out.push(quote);
        } else {
            out.extend_from_slice(s);
        }
    };
    for row in 0..batch.num_rows() {
        for (j, c) in cols.iter().enumerate() {
            if j > 0 {
                out.push(delimiter);
            }
            macro_rules! int {
                ($a:expr) => {
                    if $a.is_null(row) {
                        out.extend_from_slice(null)
                    } else {
                        out.extend_from_slice(ints.format($a.value(row)).as_bytes())
                    }
                };
            }
            match c {
                Col::I8(a) => int!(a),
                Col::I16(a) => int!(a),
                Col::I32(a) => int!(a),
                Col::I64(a) => int!(a),
                Col::U8(a) => int!(a),
                Col::U16(a) => int!(a),
                Col::U32(a) => int!(a),
                Col::U64(a) => int!(a),
                Col::F32(a) if a.is_valid(row) => {
                    out.extend_from_slice(floats.format(a.value(row)).as_bytes())
                }
                Col::F64(a) if a.is_valid(row) => {
                    out.extend_from_slice(floats.format(a.value(row)).as_bytes())
                }
                Col::Bool(a) if a.is_valid(row) => {
                    out.extend_from_slice(if a.value(row) { b"true" } else { b"false" })
                }
                Col::Date(a) if a.is_valid(row) => {
                    let (y, m, d) = civil(a.value(row));
                    if !(0..=9999).contains(&y) {
                        return None; // chrono writes a sign and more digits: leave it to arrow
                    }
                    let y = y as u32;
                    out.extend_from_slice(&[
                        b'0' + (y / 1000) as u8,
                        b'0' + (y / 100 % 10) as u8,
                        b'0' + (y / 10 % 10) as u8,
                        b'0' + (y % 10) as u8,
                        b'-',
                        b'0' + (m / 10) as u8,
                        b'0' + (m % 10) as u8,
                        b'-',
                        b'0' + (d / 10) as u8,
                        b'0' + (d % 10) as u8,
                    ]);
                }
                Col::Str(a) if a.is_valid(row) => text(&mut out, a.value(row).as_bytes()),
                Col::LargeStr(a) if a.is_valid(row) => text(&mut out, a.value(row).as_bytes()),
                Col::View(a) if a.is_valid(row) => text(&mut out, a.value(row).as_bytes()),
                _ => out.extend_from_slice(null),
            }
        }
        out.push(b'\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int8Array, Int64Array, StringArray, UInt64Array};
    use datafusion::arrow::csv::WriterBuilder;
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn arrow_csv(batch: &RecordBatch, delimiter: u8, null: &str) -> Vec<u8> {
        let mut buf = Vec::new();
        WriterBuilder::new()
            .with_header(false)
            .with_delimiter(delimiter)
            .with_null(null.to_string())
            .build(&mut buf)
            .write(batch)
            .expect("arrow writes");
        buf
    }

    #[test]
    fn same_bytes_as_arrow() {
        let strings = vec![
            Some("plain"),
            Some("a, b"),
            Some("say \"hi\""),
            Some("line\nbreak"),
            Some(""),
            None,
            Some("héllo 日本 🎉"),
            Some("semi;colon"),
        ];
        let n = strings.len();
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, true),
            Field::new("u", DataType::UInt64, true),
            Field::new("t", DataType::Int8, true),
            Field::new("f", DataType::Float64, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("d", DataType::Date32, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("v", DataType::Utf8View, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![
                    Some(i64::MIN),
                    Some(i64::MAX),
                    Some(0),
                    Some(-5),
                    None,
                    Some(42),
                    Some(1),
                    Some(-1),
                ])),
                Arc::new(UInt64Array::from(vec![
                    Some(u64::MAX),
                    Some(0),
                    None,
                    Some(7),
                    Some(8),
                    Some(9),
                    Some(10),
                    Some(11),
                ])),
                Arc::new(Int8Array::from(vec![
                    Some(-128),
                    Some(127),
                    None,
                    Some(0),
                    Some(1),
                    Some(2),
                    Some(3),
                    Some(4),
                ])),
                Arc::new(Float64Array::from(vec![
                    Some(1.5),
                    Some(-0.25),
                    Some(1.5e300),
                    Some(f64::NAN),
                    Some(f64::INFINITY),
                    Some(f64::NEG_INFINITY),
                    None,
                    Some(0.1 + 0.2),
                ])),
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                    Some(true),
                    Some(false),
                    Some(false),
                    None,
                ])),
                Arc::new(Date32Array::from(vec![
                    Some(0),
                    Some(19_782),
                    Some(-25_567),
                    Some(-719_162),
                    Some(2_932_896),
                    None,
                    Some(-1),
                    Some(11_016),
                ])),
                Arc::new(StringArray::from(strings.clone())),
                Arc::new(StringViewArray::from(strings)),
            ],
        )
        .expect("batch");
        assert_eq!(batch.num_rows(), n);
        for (delimiter, null) in [(b',', ""), (b';', "NULL"), (b'\t', "\\N")] {
            let fast = encode(&batch, delimiter, b'"', null).expect("handled");
            assert_eq!(
                String::from_utf8_lossy(&fast),
                String::from_utf8_lossy(&arrow_csv(&batch, delimiter, null)),
                "delimiter {:?}",
                delimiter as char
            );
        }
    }

    #[test]
    fn unhandled_shapes_fall_back() {
        let one = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)])),
            vec![Arc::new(StringArray::from(vec![Some("")]))],
        )
        .expect("batch");
        assert!(encode(&one, b',', b'"', "").is_none());
        let far = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("d", DataType::Date32, true),
                Field::new("i", DataType::Int64, true),
            ])),
            vec![
                Arc::new(Date32Array::from(vec![Some(3_000_000)])),
                Arc::new(Int64Array::from(vec![Some(1)])),
            ],
        )
        .expect("batch");
        assert!(encode(&far, b',', b'"', "").is_none());
    }
}
