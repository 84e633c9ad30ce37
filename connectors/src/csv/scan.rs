//! Fust's own reader for plain CSV files on local disk: it splits records straight from the
//! file's bytes (eight bytes at a time) and parses each wanted column into Arrow, with no
//! copy of the text in between. It follows the rules of arrow-csv (which DataFusion's CSV
//! scan uses, and which Fust still uses for compressed, remote and unusual files): quoted
//! fields with doubled quotes, LF, CRLF or CR line ends, blank lines skipped, an empty field
//! is NULL, and the same value parsers. Errors name the file's line (not the record number).

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::scan::{PartitionedRead, SourceExec};
use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, NullArray, PrimitiveArray, PrimitiveBuilder,
    RecordBatch, RecordBatchOptions, StringBuilder,
};
use datafusion::arrow::compute::kernels::cast_utils::{Parser, parse_decimal};
use datafusion::arrow::compute::{filter as filter_array, prep_null_mask_filter};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, SchemaRef, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::arrow::error::ArrowError;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, DataFusionError};
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::{Count, ExecutionPlanMetricsSet, MetricBuilder};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use fust_engine::executor::ROWS_READ;
use fust_engine::{ReadError, StageRejects};

/// How the files are written; the reader is used only without escape or comment characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvDialect {
    pub delimiter: u8,
    pub quote: u8,
    pub has_header: bool,
    /// Whether a quoted value may hold a line break (files are then never split).
    pub newlines_in_values: bool,
}

/// Whether the next byte range of the file starts at the record this one stopped before
/// (`next`, at or after `stop`). The next range skips to just after the first line end at
/// or after its start (`stop - 1` here) without knowing whether that line end is inside a
/// quoted value; this range, having parsed up to `next`, does know. The guess is right when
/// only line ends (blank lines, the `\n` of a `\r\n`) lie between it and `next`; when it
/// is inside a quoted value, the other range would invent rows from the rest of the value
/// (and its field count may well match), so the read fails instead.
fn boundary_holds(buf: &[u8], stop: usize, next: usize) -> bool {
    let is_end = |b: &u8| *b == b'\n' || *b == b'\r';
    let Some(between) = buf.get(stop.saturating_sub(1)..next) else {
        return false;
    };
    match between.iter().position(is_end) {
        Some(i) => between[i + 1..].iter().all(is_end),
        // The last record ends the file without a line end: no range follows.
        None => next >= buf.len(),
    }
}

/// Whether the reader can produce this column type (others go through arrow-csv).
pub fn supported_type(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        t,
        Null | Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float32
            | Float64
            | Date32
            | Decimal128(_, _)
            | Utf8
    )
}

// ---------------------------------------------------------------------------------------
// Splitting records
// ---------------------------------------------------------------------------------------

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The high bit of each byte of `x` that is zero, and no other bit.
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Field boundaries of the records split so far: `columns` spans per record, row-major.
#[derive(Debug, Default)]
struct Fields {
    spans: Vec<(u32, u32)>,
    /// Where each record starts in the buffer (to name its line in errors).
    starts: Vec<u32>,
}

impl Fields {
    fn rows(&self) -> usize {
        self.starts.len()
    }

    fn clear(&mut self) {
        self.spans.clear();
        self.starts.clear();
    }
}

/// A record whose field count is not the header's: where it starts and where the next
/// may.
#[derive(Debug, PartialEq, Eq)]
struct BadRecord {
    start: usize,
    fields: usize,
    next: usize,
}

/// Where splitting stopped.
#[derive(Debug, PartialEq, Eq)]
struct Split {
    /// The first byte not consumed.
    pos: usize,
    /// No record of this range is left: the next starts at or after `stop`, or the input
    /// is at its end.
    done: bool,
}

enum Step {
    /// A whole record: where the next may start, and how many fields it had.
    Record { next: usize, fields: usize },
    /// The buffer ends inside the record.
    Incomplete,
}

#[derive(Debug, Clone, Copy)]
struct Splitter {
    delimiter: u8,
    quote: u8,
    columns: usize,
    delimiter_x8: u64,
}

impl Splitter {
    fn new(delimiter: u8, quote: u8, columns: usize) -> Self {
        Splitter {
            delimiter,
            quote,
            columns,
            delimiter_x8: ONES * u64::from(delimiter),
        }
    }

    #[inline(always)]
    fn is_end(&self, b: u8) -> bool {
        b == self.delimiter || b == b'\n' || b == b'\r'
    }

    /// The first delimiter or line-end byte at or after `pos`.
    #[inline(always)]
    fn find_end(&self, buf: &[u8], pos: usize) -> Option<usize> {
        const LF: u64 = ONES * b'\n' as u64;
        const CR: u64 = ONES * b'\r' as u64;
        let rest = buf.get(pos..)?;
        let mut words = rest.chunks_exact(8);
        for (i, word) in words.by_ref().enumerate() {
            let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
            let hits = zero_bytes(w ^ self.delimiter_x8) | zero_bytes(w ^ LF) | zero_bytes(w ^ CR);
            if hits != 0 {
                return Some(pos + i * 8 + (hits.trailing_zeros() / 8) as usize);
            }
        }
        let tail = words.remainder();
        let base = buf.len() - tail.len();
        tail.iter().position(|&b| self.is_end(b)).map(|i| base + i)
    }

    /// Splits records from `buf[pos..]` into `out` until `max_rows` are held, a record
    /// would start at or after `stop`, or the buffer ends inside a record (`eof`: the
    /// input has no more bytes, so the last record ends with the buffer).
    fn split(
        &self,
        buf: &mut [u8],
        mut pos: usize,
        eof: bool,
        stop: usize,
        max_rows: usize,
        out: &mut Fields,
    ) -> Result<Split, BadRecord> {
        while out.rows() < max_rows {
            // Blank lines are not records.
            while pos < buf.len() && (buf[pos] == b'\n' || buf[pos] == b'\r') {
                pos += 1;
            }
            if pos >= stop {
                return Ok(Split { pos, done: true });
            }
            if pos >= buf.len() {
                return Ok(Split { pos, done: eof });
            }
            let mark = out.spans.len();
            match self.record(buf, pos, eof, &mut out.spans) {
                Step::Record { next, fields } => {
                    if fields != self.columns {
                        out.spans.truncate(mark);
                        return Err(BadRecord {
                            start: pos,
                            fields,
                            next,
                        });
                    }
                    out.starts.push(pos as u32);
                    pos = next;
                }
                Step::Incomplete => {
                    out.spans.truncate(mark);
                    return Ok(Split { pos, done: false });
                }
            }
        }
        Ok(Split { pos, done: false })
    }

    /// Splits the record starting at `pos` (not a line end).
    #[inline]
    fn record(
        &self,
        buf: &mut [u8],
        mut pos: usize,
        eof: bool,
        spans: &mut Vec<(u32, u32)>,
    ) -> Step {
        let len = buf.len();
        let mut fields = 0;
        // Quoted fields to unquote once the record is known to be whole: (span, close, after).
        let mut unquote: Vec<(usize, usize, usize)> = Vec::new();
        loop {
            let (start, end, after) = if pos >= len {
                if !eof {
                    return Step::Incomplete;
                }
                (pos, pos, pos)
            } else if buf[pos] == self.quote {
                match self.quoted(buf, pos, eof) {
                    Some(Quoted::Plain { close, after }) => (pos + 1, close, after),
                    Some(Quoted::Escaped { close, after }) => {
                        unquote.push((spans.len(), close, after));
                        (pos + 1, close, after)
                    }
                    None => return Step::Incomplete,
                }
            } else {
                match self.find_end(buf, pos) {
                    Some(p) => (pos, p, p),
                    None if eof => (pos, len, len),
                    None => return Step::Incomplete,
                }
            };
            fields += 1;
            if fields <= self.columns {
                spans.push((start as u32, end as u32));
            }
            if after < len && buf[after] == self.delimiter {
                pos = after + 1;
                continue;
            }
            let next = match buf.get(after) {
                None => len,
                Some(b'\r') if buf.get(after + 1) == Some(&b'\n') => after + 2,
                Some(_) => after + 1,
            };
            for (span, close, after) in unquote {
                if let Some((start, end)) = spans.get_mut(span) {
                    *end = self.unquote(buf, *start as usize, close, after) as u32;
                }
            }
            return Step::Record { next, fields };
        }
    }

    /// Where the quoted field starting at `pos` ends; changes nothing. `None` when the
    /// buffer ends first and more input may follow.
    fn quoted(&self, buf: &[u8], pos: usize, eof: bool) -> Option<Quoted> {
        let q = self.quote;
        let mut r = pos + 1;
        let mut doubled = false;
        let close = loop {
            match buf[r..].iter().position(|&b| b == q) {
                // An unclosed quote runs to the end of the input.
                None => {
                    return eof.then_some(Quoted::Plain {
                        close: buf.len(),
                        after: buf.len(),
                    });
                }
                Some(i) => {
                    let at = r + i;
                    match buf.get(at + 1) {
                        None if !eof => return None,
                        Some(&b) if b == q => {
                            doubled = true;
                            r = at + 2;
                        }
                        _ => break at,
                    }
                }
            }
        };
        // After the closing quote, text up to the next delimiter or line end is kept as is.
        let after = match buf.get(close + 1) {
            None => close + 1,
            Some(&b) if self.is_end(b) => close + 1,
            Some(_) => match self.find_end(buf, close + 1) {
                Some(p) => p,
                None if eof => buf.len(),
                None => return None,
            },
        };
        Some(match !doubled && after == close + 1 {
            true => Quoted::Plain { close, after },
            false => Quoted::Escaped { close, after },
        })
    }

    /// Unquotes a field in place: drops the closing quote and one of each doubled pair;
    /// returns where the text now ends.
    fn unquote(&self, buf: &mut [u8], start: usize, close: usize, after: usize) -> usize {
        let q = self.quote;
        let mut w = start;
        let mut i = start;
        while i < after {
            let b = buf[i];
            if i == close {
                i += 1;
                continue;
            }
            if b == q && i < close {
                // One of a doubled pair: keep the second.
                buf[w] = q;
                w += 1;
                i += 2;
                continue;
            }
            buf[w] = b;
            w += 1;
            i += 1;
        }
        // The bytes left behind must not break the UTF-8 check of the whole buffer.
        buf[w..after].fill(b' ');
        w
    }
}

/// How a quoted field ends: `close` is its closing quote, `after` the byte that ends it.
enum Quoted {
    /// The text is the bytes between the quotes.
    Plain { close: usize, after: usize },
    /// Doubled quotes or text after the closing quote: unquote in place.
    Escaped { close: usize, after: usize },
}

// ---------------------------------------------------------------------------------------
// Parsing columns
// ---------------------------------------------------------------------------------------

/// A value that does not parse as its column's type.
struct BadValue {
    row: usize,
    column: usize,
    value: String,
    expected: String,
}

/// The text of one column of a batch of records.
struct ColumnText<'a> {
    text: &'a str,
    /// Byte offset of `text` in the buffer.
    base: usize,
    fields: &'a Fields,
    columns: usize,
    column: usize,
    /// The records to read (all when `None`).
    selection: Option<&'a [u32]>,
}

impl<'a> ColumnText<'a> {
    #[inline(always)]
    fn get(&self, row: usize) -> &'a str {
        let (s, e) = self.fields.spans[row * self.columns + self.column];
        self.text
            .get(s as usize - self.base..e as usize - self.base)
            .unwrap_or_default()
    }

    /// How many values the array will hold.
    fn rows(&self) -> usize {
        self.selection.map_or(self.fields.rows(), <[u32]>::len)
    }

    /// The record of the array's `i`-th value.
    #[inline(always)]
    fn row(&self, i: usize) -> usize {
        self.selection.map_or(i, |s| s[i] as usize)
    }

    fn bad(&self, row: usize, expected: &DataType) -> BadValue {
        BadValue {
            row,
            column: self.column,
            value: self.get(row).to_string(),
            expected: expected.to_string(),
        }
    }

    /// Parses every value with `parse`; an empty field is NULL.
    fn parsed<T: ArrowPrimitiveType>(
        &self,
        expected: &DataType,
        parse: impl Fn(&str) -> Option<T::Native>,
    ) -> Result<PrimitiveArray<T>, BadValue> {
        let mut b = PrimitiveBuilder::<T>::with_capacity(self.rows());
        for i in 0..self.rows() {
            let row = self.row(i);
            let s = self.get(row);
            if s.is_empty() {
                b.append_null();
            } else {
                match parse(s) {
                    Some(v) => b.append_value(v),
                    None => return Err(self.bad(row, expected)),
                }
            }
        }
        Ok(b.finish())
    }

    fn primitive<T: ArrowPrimitiveType + Parser>(&self) -> Result<ArrayRef, BadValue> {
        Ok(Arc::new(self.parsed::<T>(&T::DATA_TYPE, T::parse)?))
    }

    /// Dates written `YYYY-MM-DD` are computed directly; any other form goes to arrow's
    /// parser, so the results are the same (a test compares them).
    fn date32(&self) -> Result<ArrayRef, BadValue> {
        let array = self.parsed::<Date32Type>(&DataType::Date32, |s| {
            ymd_days(s.as_bytes()).or_else(|| Date32Type::parse(s))
        })?;
        Ok(Arc::new(array))
    }

    fn decimal(&self, precision: u8, scale: i8) -> Result<ArrayRef, BadValue> {
        let t = DataType::Decimal128(precision, scale);
        let array = self
            .parsed::<Decimal128Type>(&t, |s| {
                (!long_exponent(s))
                    .then(|| parse_decimal::<Decimal128Type>(s, precision, scale).ok())
                    .flatten()
            })?
            .with_precision_and_scale(precision, scale)
            .map_err(|_| self.bad(0, &t))?;
        Ok(Arc::new(array))
    }

    fn boolean(&self) -> Result<ArrayRef, BadValue> {
        let mut b = BooleanBuilder::with_capacity(self.rows());
        for i in 0..self.rows() {
            let row = self.row(i);
            let s = self.get(row);
            if s.is_empty() {
                b.append_null();
            } else if s.eq_ignore_ascii_case("true") {
                b.append_value(true);
            } else if s.eq_ignore_ascii_case("false") {
                b.append_value(false);
            } else {
                return Err(self.bad(row, &DataType::Boolean));
            }
        }
        Ok(Arc::new(b.finish()))
    }

    fn string(&self) -> ArrayRef {
        let rows = self.rows();
        let bytes: usize = (0..rows).map(|i| self.get(self.row(i)).len()).sum();
        let mut b = StringBuilder::with_capacity(rows, bytes);
        for i in 0..rows {
            let s = self.get(self.row(i));
            if s.is_empty() {
                b.append_null();
            } else {
                b.append_value(s);
            }
        }
        Arc::new(b.finish())
    }

    fn array(&self, t: &DataType) -> Result<ArrayRef, BadValue> {
        use DataType::*;
        match t {
            Utf8 => Ok(self.string()),
            Boolean => self.boolean(),
            Int8 => self.primitive::<Int8Type>(),
            Int16 => self.primitive::<Int16Type>(),
            Int32 => self.primitive::<Int32Type>(),
            Int64 => self.primitive::<Int64Type>(),
            UInt8 => self.primitive::<UInt8Type>(),
            UInt16 => self.primitive::<UInt16Type>(),
            UInt32 => self.primitive::<UInt32Type>(),
            UInt64 => self.primitive::<UInt64Type>(),
            Float32 => self.primitive::<Float32Type>(),
            Float64 => self.primitive::<Float64Type>(),
            Date32 => self.date32(),
            Decimal128(p, s) => self.decimal(*p, *s),
            _ => Ok(Arc::new(NullArray::new(self.rows()))),
        }
    }
}

/// Whether `s` has an exponent of more than four digits (`1e65537`). arrow-cast's
/// `parse_decimal` sums the exponent in an i16 that wraps: `1e65537` read as 10, not as an
/// error (the csv_reader fuzz target's find, as an overflow panic with overflow checks on).
/// No decimal128 needs an exponent past 9999, so such text is refused before it gets there.
fn long_exponent(s: &str) -> bool {
    s.bytes()
        .position(|b| b == b'e' || b == b'E')
        .is_some_and(|e| {
            let exp = s[e + 1..].trim_start_matches(['+', '-']);
            exp.len() > 4
        })
}

/// Days since 1970-01-01 of a valid date written `YYYY-MM-DD`; `None` for anything else.
#[inline]
fn ymd_days(s: &[u8]) -> Option<i32> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = s else {
        return None;
    };
    let digit = |c: u8| {
        let d = c.wrapping_sub(b'0');
        (d < 10).then_some(i32::from(d))
    };
    let year = digit(y0)? * 1000 + digit(y1)? * 100 + digit(y2)? * 10 + digit(y3)?;
    let month = digit(m0)? * 10 + digit(m1)?;
    let day = digit(d0)? * 10 + digit(d1)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > month_days {
        return None;
    }
    // Days from civil (H. Hinnant): years start in March, eras are 400 years.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

// ---------------------------------------------------------------------------------------
// Reading one range of a file
// ---------------------------------------------------------------------------------------

/// Bytes read from the file at a time.
const BLOCK: usize = 4 << 20;

/// A byte range of one file; it owns the records that start inside it.
#[derive(Debug, Clone)]
pub struct FileRange {
    pub path: PathBuf,
    pub start: u64,
    pub end: u64,
}

/// Filters the reader applies itself, so DataFusion does not filter again: the columns
/// they read are parsed first, the other columns only for the records they keep.
#[derive(Debug)]
struct Predicate {
    expr: Arc<dyn PhysicalExpr>,
    /// The file columns it reads, in file order; `schema` is theirs.
    columns: Vec<usize>,
    schema: SchemaRef,
    /// As written, for `fust explain`.
    text: String,
}

/// Whether the reader can apply `e` exactly as DataFusion's filter would: plain row-wise
/// expressions over the columns (no subquery, aggregate or volatile function).
fn row_wise(e: &Expr) -> bool {
    let other = e.exists(|n| {
        Ok(!matches!(
            n,
            Expr::Column(_)
                | Expr::Literal(..)
                | Expr::BinaryExpr(_)
                | Expr::Not(_)
                | Expr::IsNull(_)
                | Expr::IsNotNull(_)
                | Expr::IsTrue(_)
                | Expr::IsFalse(_)
                | Expr::IsNotTrue(_)
                | Expr::IsNotFalse(_)
                | Expr::IsUnknown(_)
                | Expr::IsNotUnknown(_)
                | Expr::Negative(_)
                | Expr::Between(_)
                | Expr::Case(_)
                | Expr::Cast(_)
                | Expr::TryCast(_)
                | Expr::ScalarFunction(_)
                | Expr::Like(_)
                | Expr::SimilarTo(_)
                | Expr::InList(_)
        ))
    });
    matches!(other, Ok(false)) && !e.is_volatile()
}

/// What one partition reads and how.
struct RangeReader {
    splitter: Splitter,
    has_header: bool,
    file_schema: SchemaRef,
    projection: Vec<usize>,
    schema: SchemaRef,
    predicate: Option<Arc<Predicate>>,
    batch_size: usize,
    block: usize,
    /// Name files in messages (when the source has several).
    name_files: bool,
    /// Records read, before the predicate (the run's "rows in").
    read: Count,
    rejects: StageRejects,
}

/// An error of this source, reported against the input that read it.
fn read_error(message: String) -> DataFusionError {
    ReadError::wrap(DataFusionError::Execution(message))
}

fn io_error(path: &Path, e: std::io::Error) -> DataFusionError {
    read_error(format!("cannot read {}: {e}", path.display()))
}

/// Why a batch could not be built: a value that does not parse, or anything else.
enum BatchError {
    Value(BadValue),
    Other(DataFusionError),
}

impl From<DataFusionError> for BatchError {
    fn from(e: DataFusionError) -> Self {
        BatchError::Other(e)
    }
}

impl From<ArrowError> for BatchError {
    fn from(e: ArrowError) -> Self {
        BatchError::Other(e.into())
    }
}

/// A record's text without its line end, for a dead-letter row.
fn record_text(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .rposition(|b| *b != b'\n' && *b != b'\r')
        .map_or(0, |i| i + 1);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The line numbers of bytes of one file, asked for in increasing order (as a range's
/// records are): each call reads only the bytes since the last.
struct LineCounter {
    path: PathBuf,
    /// The path as positions show it: relative to the working directory when inside it.
    shown: String,
    /// Opened at the first question, kept for the next.
    file: Option<File>,
    offset: u64,
    line: u64,
}

impl LineCounter {
    fn new(path: &Path) -> Self {
        LineCounter {
            path: path.to_path_buf(),
            shown: crate::common::file::shown_path(path),
            file: None,
            offset: 0,
            line: 1,
        }
    }

    /// The 1-based line of the byte at `offset` (0 when the file cannot be read).
    fn line_of(&mut self, offset: u64) -> u64 {
        if offset < self.offset {
            (self.offset, self.line) = (0, 1);
        }
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        let Some(file) = self.file.as_mut() else {
            return 0;
        };
        let from = self.offset;
        let counted = file.seek(SeekFrom::Start(from)).and_then(|_| {
            let mut part = file.take(offset - from);
            let mut buf = vec![0u8; 1 << 16];
            let mut lines = 0u64;
            loop {
                let n = part.read(&mut buf)?;
                if n == 0 {
                    return Ok(lines);
                }
                lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            }
        });
        match counted {
            Ok(n) => {
                self.line += n;
                self.offset = offset;
                self.line
            }
            Err(_) => 0,
        }
    }
}


impl RangeReader {
    fn fail(&self, range: &FileRange, offset: u64, what: String) -> DataFusionError {
        let path = range.path.as_path();
        let line = match LineCounter::new(path).line_of(offset) {
            0 => String::new(),
            l => format!("line {l}: "),
        };
        let file = match self.name_files {
            true => format!("{}, ", path.display()),
            false => String::new(),
        };
        // A range after a cut starts past the first line end after it, guessing that the
        // line end closes a record. Inside a quoted value it does not, and this range may
        // fail on the value's rest before the range before it finds the quoted line break:
        // what it read is then not a record of the file, so say what the likely cause is.
        let hint = match range.start > 0 && !what.contains("newlines_in_values") {
            true => {
                "; if a quoted value in this file holds a line break, set \
                 `newlines_in_values: true` on this input (the file is then read in one piece \
                 instead of being cut for parallel reading)"
            }
            false => "",
        };
        read_error(format!("{file}{line}{what}{hint}"))
    }

    /// Reads `range`, sending batches to `tx`; stops early when the receiver is gone or
    /// `limit` rows were sent. Returns the rows sent.
    fn read(
        &self,
        range: &FileRange,
        limit: Option<usize>,
        tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
    ) -> Result<usize> {
        let path = range.path.as_path();
        let mut file = File::open(path).map_err(|e| io_error(path, e))?;
        // Bytes of the file from `offset` on are in `buf`.
        let mut offset = range.start.saturating_sub(1);
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| io_error(path, e))?;
        let mut buf: Vec<u8> = Vec::with_capacity(self.block);
        let mut eof = false;
        let block = self.block;
        let fill = |buf: &mut Vec<u8>, file: &mut File, eof: &mut bool| -> Result<()> {
            // Reads into the spare capacity: no zeroing of the block first.
            buf.reserve(block);
            let got = file
                .take(block as u64)
                .read_to_end(buf)
                .map_err(|e| io_error(path, e))?;
            *eof = got < block;
            if buf.len() >= u32::MAX as usize {
                return Err(read_error(format!(
                    "{}: a record longer than 4 GiB",
                    path.display()
                )));
            }
            Ok(())
        };
        // A range that does not start the file begins after the first line end at or
        // after its start (the record that line end closes belongs to the range before).
        let mut pos = 0;
        if range.start > 0 {
            loop {
                fill(&mut buf, &mut file, &mut eof)?;
                if let Some(i) = buf.iter().position(|&b| b == b'\n' || b == b'\r') {
                    pos = i + 1;
                    break;
                }
                if eof {
                    return Ok(0);
                }
                offset += buf.len() as u64;
                buf.clear();
            }
        } else {
            fill(&mut buf, &mut file, &mut eof)?;
        }
        let mut fields = Fields::default();
        let mut header = self.has_header && range.start == 0;
        let mut sent = 0usize;
        let mut lines = LineCounter::new(path);
        loop {
            // Records starting at or after the range's end belong to the next range.
            let stop = range.end.saturating_sub(offset).min(usize::MAX as u64) as usize;
            let want = match header {
                true => 1,
                false => {
                    let left = limit.map_or(usize::MAX, |l| l.saturating_sub(sent));
                    self.batch_size.min(left)
                }
            };
            if want == 0 {
                return Ok(sent);
            }
            let mut wrong_count = None;
            let split = match self
                .splitter
                .split(&mut buf, pos, eof, stop, want, &mut fields)
            {
                Ok(split) => split,
                // The records before it go on as a batch; it is reported after them.
                Err(bad) if !header && self.rejects.tolerates() => {
                    let split = Split {
                        pos: bad.next,
                        done: false,
                    };
                    wrong_count = Some(bad);
                    split
                }
                Err(bad) => {
                    return Err(self.fail(
                        range,
                        offset + bad.start as u64,
                        self.field_count(bad.fields),
                    ));
                }
            };
            pos = split.pos;
            if split.done && pos >= stop && !boundary_holds(&buf, stop, pos) {
                return Err(self.fail(
                    range,
                    offset + stop as u64 - 1,
                    "a quoted value holds a line break where the file is cut for parallel \
                     reading, so the rows after it cannot be found; set \
                     `newlines_in_values: true` on this input (the file is then read in one \
                     piece)"
                        .into(),
                ));
            }
            let taken = fields.rows();
            if header && taken == 1 {
                header = false;
            } else if !header
                && taken > 0
                && let Some(batch) = {
                    let batch = self.batch(range, &buf, pos, offset, &mut fields, &mut lines)?;
                    // Records read: those the bad-value check kept (it reported the rest).
                    self.read.add(fields.rows());
                    batch
                }
            {
                sent += batch.num_rows();
                if tx.blocking_send(Ok(batch)).is_err() {
                    return Ok(sent);
                }
            }
            fields.clear();
            if let Some(bad) = wrong_count {
                let raw = record_text(&buf[bad.start..bad.next]);
                let reason = self.field_count(bad.fields);
                self.reject(
                    &mut lines,
                    offset + bad.start as u64,
                    raw,
                    reason,
                    "wrong field count",
                )?;
                if tx.is_closed() {
                    return Ok(sent);
                }
                continue;
            }
            // Stop when the run is cancelled, even while the filter keeps no rows.
            if split.done || tx.is_closed() {
                return Ok(sent);
            }
            if taken == want {
                continue;
            }
            // The buffer ends inside a record: keep its start and read on.
            if eof {
                return Ok(sent);
            }
            buf.drain(..pos);
            offset += pos as u64;
            pos = 0;
            fill(&mut buf, &mut file, &mut eof)?;
        }
    }

    fn field_count(&self, found: usize) -> String {
        format!(
            "expected {} fields (as in the first line), found {found}",
            self.splitter.columns
        )
    }

    /// Reports a bad record at byte `at` of the file, as `FILE:LINE`.
    fn reject(
        &self,
        lines: &mut LineCounter,
        at: u64,
        raw: String,
        reason: String,
        kind: &str,
    ) -> Result<()> {
        let line = lines.line_of(at);
        let position = format!("{}:{line}", lines.shown);
        let record = fust_engine::BadRecord {
            raw,
            reason,
            kind: kind.to_string(),
            position,
        };
        // A blocking thread of the runtime (see `open`) may wait for the dead-letter queue.
        tokio::runtime::Handle::current()
            .block_on(self.rejects.reject(record))
            .map_err(|e| read_error(e.to_string()))
    }

    /// Parses the records in `fields` (which end before `buf[to]`) into a batch of those
    /// the predicate keeps (`None` when it keeps none). A value that does not parse fails
    /// the read, or, when bad records are tolerated, is reported and its record left out.
    fn batch(
        &self,
        range: &FileRange,
        buf: &[u8],
        to: usize,
        offset: u64,
        fields: &mut Fields,
        lines: &mut LineCounter,
    ) -> Result<Option<RecordBatch>> {
        loop {
            let bad = match self.try_batch(range, buf, to, offset, fields) {
                Ok(batch) => return Ok(batch),
                Err(BatchError::Other(e)) => return Err(e),
                Err(BatchError::Value(bad)) => bad,
            };
            let start = fields.starts.get(bad.row).map_or(0, |&s| s as usize);
            let reason = format!(
                "cannot read '{}' in column `{}` as {}",
                bad.value,
                self.file_schema.field(bad.column).name(),
                bad.expected
            );
            if !self.rejects.tolerates() {
                return Err(self.fail(range, offset + start as u64, reason));
            }
            // The record runs to the first line end after its last field.
            let columns = self.splitter.columns;
            let last = fields
                .spans
                .get((bad.row + 1) * columns - 1)
                .map_or(start, |&(_, e)| e as usize);
            let end = buf[last..to]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
                .map_or(to, |i| last + i);
            let raw = record_text(&buf[start..end]);
            self.reject(
                lines,
                offset + start as u64,
                raw,
                reason,
                "unreadable value",
            )?;
            fields
                .spans
                .drain(bad.row * columns..(bad.row + 1) * columns);
            fields.starts.remove(bad.row);
            if fields.rows() == 0 {
                return Ok(None);
            }
        }
    }

    fn try_batch(
        &self,
        range: &FileRange,
        buf: &[u8],
        to: usize,
        offset: u64,
        fields: &Fields,
    ) -> Result<Option<RecordBatch>, BatchError> {
        let base = fields.starts.first().map_or(to, |&s| s as usize);
        let text = std::str::from_utf8(&buf[base..to]).map_err(|e| {
            self.fail(
                range,
                offset + (base + e.valid_up_to()) as u64,
                "the text is not valid UTF-8; convert the file to UTF-8".to_string(),
            )
        })?;
        let parse = |c: usize, selection: Option<&[u32]>| -> Result<ArrayRef, BatchError> {
            let column = ColumnText {
                text,
                base,
                fields,
                columns: self.splitter.columns,
                column: c,
                selection,
            };
            column
                .array(self.file_schema.field(c).data_type())
                .map_err(BatchError::Value)
        };
        let mut rows = fields.rows();
        let mut parsed: Vec<(usize, ArrayRef)> = Vec::new();
        let mut selection: Option<Vec<u32>> = None;
        if let Some(p) = &self.predicate {
            let arrays = p
                .columns
                .iter()
                .map(|&c| parse(c, None))
                .collect::<Result<Vec<_>, BatchError>>()?;
            let options = RecordBatchOptions::new().with_row_count(Some(rows));
            let input =
                RecordBatch::try_new_with_options(p.schema.clone(), arrays.clone(), &options)?;
            let value = p.expr.evaluate(&input)?.into_array(rows)?;
            let mask = value.as_boolean_opt().ok_or_else(|| {
                DataFusionError::Plan(format!("the filter `{}` is not a condition", p.text))
            })?;
            let mask = match mask.null_count() {
                0 => mask.clone(),
                _ => prep_null_mask_filter(mask),
            };
            let kept = mask.true_count();
            if kept == 0 {
                return Ok(None);
            }
            if kept < rows {
                selection = Some(mask.values().set_indices().map(|i| i as u32).collect());
                for (c, a) in p.columns.iter().zip(&arrays) {
                    parsed.push((*c, filter_array(a, &mask)?));
                }
            } else {
                parsed = p.columns.iter().copied().zip(arrays).collect();
            }
            rows = kept;
        }
        let mut arrays = Vec::with_capacity(self.projection.len());
        for &c in &self.projection {
            let array = match parsed.iter().find(|(p, _)| *p == c) {
                Some((_, a)) => a.clone(),
                None => parse(c, selection.as_deref())?,
            };
            arrays.push(array);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(Some(RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &options,
        )?))
    }
}

// ---------------------------------------------------------------------------------------
// DataFusion table and plan
// ---------------------------------------------------------------------------------------

/// Local CSV files read with the fast reader.
#[derive(Debug)]
pub struct CsvTable {
    /// Files in order, with their sizes.
    files: Vec<(PathBuf, u64)>,
    schema: SchemaRef,
    dialect: CsvDialect,
    /// Bytes read at a time.
    block: usize,
    rejects: StageRejects,
}

impl CsvTable {
    /// `None` when the files or the schema need arrow-csv (a type it can't read).
    pub fn try_new(
        files: Vec<(PathBuf, u64)>,
        schema: SchemaRef,
        dialect: CsvDialect,
    ) -> Option<Self> {
        let ok = !files.is_empty()
            && schema
                .fields()
                .iter()
                .all(|f| supported_type(f.data_type()))
            && dialect.delimiter != b'\n'
            && dialect.delimiter != b'\r'
            && dialect.quote != dialect.delimiter;
        ok.then_some(CsvTable {
            files,
            schema,
            dialect,
            block: BLOCK,
            rejects: StageRejects::default(),
        })
    }

    /// Reports records with the wrong field count or a value that does not parse to
    /// `rejects` (which may let the run go on) instead of failing.
    pub fn with_rejects(mut self, rejects: StageRejects) -> Self {
        self.rejects = rejects;
        self
    }

    /// Reads `block` bytes at a time (tests use tiny blocks to cut records).
    pub fn with_block_size(mut self, block: usize) -> Self {
        self.block = block.max(1);
        self
    }

    /// Plans `e` over the columns it reads.
    fn predicate(&self, state: &dyn Session, e: Expr) -> Result<Predicate> {
        let text = e.to_string();
        let e = e
            .transform(|n| {
                Ok(match n {
                    Expr::Column(c) => {
                        Transformed::yes(Expr::Column(Column::new_unqualified(c.name)))
                    }
                    other => Transformed::no(other),
                })
            })?
            .data;
        let mut columns = e
            .column_refs()
            .iter()
            .map(|c| self.schema.index_of(&c.name))
            .collect::<Result<Vec<_>, _>>()?;
        columns.sort_unstable();
        columns.dedup();
        let schema = Arc::new(self.schema.project(&columns)?);
        let expr = state.create_physical_expr(e, &DFSchema::try_from(schema.as_ref().clone())?)?;
        Ok(Predicate {
            expr,
            columns,
            schema,
            text,
        })
    }

    /// Cuts the files into at most `n` groups of consecutive byte ranges of about equal
    /// size (whole files only when `split` is false).
    fn groups(&self, n: usize, split: bool) -> Vec<Vec<FileRange>> {
        let n = n.max(1);
        let total: u64 = self.files.iter().map(|(_, s)| *s).sum();
        if !split {
            let per = self.files.len().div_ceil(n).max(1);
            return self
                .files
                .chunks(per)
                .map(|c| {
                    c.iter()
                        .map(|(p, s)| FileRange {
                            path: p.clone(),
                            start: 0,
                            end: *s,
                        })
                        .collect()
                })
                .collect();
        }
        let per = total.div_ceil(n as u64).max(1);
        let mut groups: Vec<Vec<FileRange>> = vec![Vec::new()];
        let mut room = per;
        for (path, size) in &self.files {
            let mut at = 0;
            while at < *size {
                if room == 0 {
                    groups.push(Vec::new());
                    room = per;
                }
                let take = room.min(size - at);
                if let Some(g) = groups.last_mut() {
                    g.push(FileRange {
                        path: path.clone(),
                        start: at,
                        end: at + take,
                    });
                }
                at += take;
                room -= take;
            }
        }
        groups.retain(|g| !g.is_empty());
        if groups.is_empty() {
            groups.push(Vec::new());
        }
        groups
    }
}

#[async_trait]
impl TableProvider for CsvTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Row-wise filters are applied by the reader, exactly (see [`Predicate`]).
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match row_wise(f) {
                true => TableProviderFilterPushDown::Exact,
                false => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let predicate = match conjunction(filters.iter().cloned()) {
            Some(e) => Some(Arc::new(self.predicate(state, e)?)),
            None => None,
        };
        let options = state.config_options();
        let total: u64 = self.files.iter().map(|(_, s)| *s).sum();
        let split = options.optimizer.repartition_file_scans
            && !self.dialect.newlines_in_values
            && total >= options.optimizer.repartition_file_min_size as u64;
        let groups = self.groups(state.config().target_partitions(), split);
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        let schema = Arc::new(self.schema.project(&projection)?);
        let read = CsvRead {
            groups,
            file_schema: self.schema.clone(),
            projection,
            schema: schema.clone(),
            predicate,
            dialect: self.dialect,
            batch_size: state.config().batch_size().max(1),
            block: self.block,
            limit,
            name_files: self.files.len() > 1,
            rejects: self.rejects.clone(),
        };
        Ok(Arc::new(SourceExec::new(read, schema)))
    }
}

/// Reads groups of CSV byte ranges, one group per partition, each on a blocking thread
/// (`CsvScanExec` in plans).
#[derive(Debug)]
struct CsvRead {
    groups: Vec<Vec<FileRange>>,
    file_schema: SchemaRef,
    projection: Vec<usize>,
    schema: SchemaRef,
    predicate: Option<Arc<Predicate>>,
    dialect: CsvDialect,
    batch_size: usize,
    block: usize,
    limit: Option<usize>,
    name_files: bool,
    rejects: StageRejects,
}

impl PartitionedRead for CsvRead {
    fn name(&self) -> &'static str {
        "CsvScanExec"
    }

    fn partitions(&self) -> usize {
        self.groups.len()
    }

    fn describe(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let ranges: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|r| format!("{}:{}..{}", r.path.display(), r.start, r.end))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        let columns: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        write!(
            f,
            "partitions={}, projection=[{}], ranges=[{}]",
            self.groups.len(),
            columns.join(", "),
            ranges.join("; ")
        )?;
        if let Some(p) = &self.predicate {
            write!(f, ", predicate={}", p.text)?;
        }
        if let Some(l) = self.limit {
            write!(f, ", limit={l}")?;
        }
        Ok(())
    }

    fn open(
        &self,
        partition: usize,
        metrics: &ExecutionPlanMetricsSet,
    ) -> Result<SendableRecordBatchStream> {
        let group = self.groups[partition].clone();
        let read = MetricBuilder::new(metrics).counter(ROWS_READ, partition);
        let reader = RangeReader {
            splitter: Splitter::new(
                self.dialect.delimiter,
                self.dialect.quote,
                self.file_schema.fields().len(),
            ),
            has_header: self.dialect.has_header,
            file_schema: self.file_schema.clone(),
            projection: self.projection.clone(),
            schema: self.schema.clone(),
            predicate: self.predicate.clone(),
            batch_size: self.batch_size,
            block: self.block,
            name_files: self.name_files,
            read,
            rejects: self.rejects.clone(),
        };
        let limit = self.limit;
        let mut builder = RecordBatchReceiverStreamBuilder::new(self.schema.clone(), 2);
        let tx = builder.tx();
        builder.spawn_blocking(move || {
            let mut sent = 0;
            for range in &group {
                let left = limit.map(|l| l.saturating_sub(sent));
                if left == Some(0) || tx.is_closed() {
                    break;
                }
                sent += reader.read(range, left, &tx)?;
            }
            Ok(())
        });
        Ok(builder.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(text: &str, columns: usize) -> Result<Vec<Vec<String>>, BadRecord> {
        let splitter = Splitter::new(b',', b'"', columns);
        let mut buf = text.as_bytes().to_vec();
        let mut fields = Fields::default();
        let end = splitter.split(&mut buf, 0, true, usize::MAX, usize::MAX, &mut fields)?;
        assert!(end.done, "{end:?}");
        Ok(fields
            .spans
            .chunks(columns)
            .map(|r| {
                r.iter()
                    .map(|&(s, e)| String::from_utf8_lossy(&buf[s as usize..e as usize]).into())
                    .collect()
            })
            .collect())
    }

    #[test]
    fn splits_like_arrow_csv() {
        let rows = split_all(
            "a,b,c\n1,,x y\r\n\n\"q,1\",\"he said \"\"hi\"\"\",\"\"\r\n\"ab\"cd,\"\",long-field-over-8-bytes\rlast,2,",
            3,
        )
        .expect("splits");
        let want: Vec<Vec<&str>> = vec![
            vec!["a", "b", "c"],
            vec!["1", "", "x y"],
            vec!["q,1", "he said \"hi\"", ""],
            vec!["abcd", "", "long-field-over-8-bytes"],
            vec!["last", "2", ""],
        ];
        assert_eq!(rows, want);
        // Quoted line breaks stay in the value; a mid-field quote is literal.
        let rows = split_all("\"two\nlines\",x\"y\n", 2).expect("splits");
        assert_eq!(rows, vec![vec!["two\nlines", "x\"y"]]);
    }

    #[test]
    fn names_records_with_the_wrong_field_count() {
        let err = split_all("a,b\n1,2\n3\n", 2).expect_err("short record");
        assert_eq!(
            err,
            BadRecord {
                start: 8,
                fields: 1,
                next: 10,
            }
        );
        let err = split_all("a,b\n1,2,3\n", 2).expect_err("long record");
        assert_eq!(
            err,
            BadRecord {
                start: 4,
                fields: 3,
                next: 10,
            }
        );
    }

    #[test]
    fn stops_inside_a_record_until_more_input() {
        let splitter = Splitter::new(b',', b'"', 2);
        for text in [
            "1,2\n3,4",
            "1,2\n3,\"4",
            "1,2\n3,\"4\"",
            "1,2\n3,\"4\"\"5\"",
        ] {
            let mut buf = text.as_bytes().to_vec();
            let mut fields = Fields::default();
            let split = splitter
                .split(&mut buf, 0, false, usize::MAX, 10, &mut fields)
                .expect("splits");
            assert_eq!(
                (split.pos, split.done, fields.rows()),
                (4, false, 1),
                "{text}"
            );
            assert_eq!(&buf[..], text.as_bytes(), "left unchanged: {text}");
        }
    }

    #[test]
    fn stops_before_a_record_past_the_range() {
        let splitter = Splitter::new(b',', b'"', 1);
        let mut buf = b"a\nbb\n\nccc\n".to_vec();
        let mut fields = Fields::default();
        // A record starting at 5 or later belongs to the next range.
        let split = splitter
            .split(&mut buf, 0, true, 5, 10, &mut fields)
            .expect("splits");
        assert_eq!((split.pos, split.done, fields.rows()), (6, true, 2));
    }

    #[test]
    fn dates_as_arrow_reads_them() {
        // Every day from 0000-01-01 to 2200-12-31 written YYYY-MM-DD, plus invalid ones.
        let mut n = 0;
        for year in 0..=2200 {
            for month in 1..=13 {
                for day in 0..=32 {
                    let text = format!("{year:04}-{month:02}-{day:02}");
                    let ours = ymd_days(text.as_bytes());
                    if let Some(v) = ours {
                        assert_eq!(Some(v), Date32Type::parse(&text), "{text}");
                        n += 1;
                    } else {
                        assert_eq!(Date32Type::parse(&text), None, "{text}");
                    }
                }
            }
        }
        // 2201 years, 534 of them leap years.
        assert_eq!(n, 2201 * 365 + 534);
        for other in [
            "2024-1-05",
            "+2024-01-05",
            "2024-01-05T00:00:00",
            "20240105",
            " 2024-01-05",
        ] {
            assert_eq!(ymd_days(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn finds_ends_in_every_word_position() {
        let splitter = Splitter::new(b';', b'"', 1);
        for at in 0..20 {
            let mut text = vec![b'x'; 20];
            text[at] = b';';
            assert_eq!(splitter.find_end(&text, 0), Some(at));
            text[at] = 0xff;
            assert_eq!(splitter.find_end(&text, 0), None);
        }
    }
}

/// The same files read by this reader and by DataFusion's, compared row by row.
#[cfg(test)]
mod against_arrow_csv {
    use std::io::Write;

    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::file_format::csv::CsvFormat;
    use datafusion::datasource::listing::{
        ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
    };
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    fn session(partitions: usize, batch_size: usize) -> SessionContext {
        let mut config = SessionConfig::new()
            .with_target_partitions(partitions)
            .with_batch_size(batch_size);
        config.options_mut().optimizer.repartition_file_min_size = 0;
        SessionContext::new_with_config(config)
    }

    /// Sorted lines of the pretty table of a query over `t`.
    async fn rows(
        ctx: &SessionContext,
        t: Arc<dyn TableProvider>,
        sql: &str,
    ) -> Result<Vec<String>> {
        ctx.deregister_table("t")?;
        ctx.register_table("t", t)?;
        let batches = ctx.sql(sql).await?.collect().await?;
        let text = pretty_format_batches(&batches)?.to_string();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        Ok(lines)
    }

    /// Reads `text` both ways with `dialect`, returning (fust, datafusion) rows.
    async fn both(
        text: &[u8],
        dialect: CsvDialect,
        partitions: usize,
        batch_size: usize,
        block: usize,
        sql: &str,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.csv");
        File::create(&path)?.write_all(text)?;
        let ctx = session(partitions, batch_size);
        let format = CsvFormat::default()
            .with_has_header(dialect.has_header)
            .with_delimiter(dialect.delimiter)
            .with_quote(dialect.quote)
            .with_newlines_in_values(dialect.newlines_in_values);
        let url = ListingTableUrl::parse(path.to_string_lossy())?;
        let options = ListingOptions::new(Arc::new(format));
        let schema = options.infer_schema(&ctx.state(), &url).await?;
        let arrow: Arc<dyn TableProvider> = Arc::new(ListingTable::try_new(
            ListingTableConfig::new(url)
                .with_listing_options(options)
                .with_schema(schema.clone()),
        )?);
        let size = std::fs::metadata(&path)?.len();
        let fust = CsvTable::try_new(vec![(path, size)], schema, dialect)
            .ok_or_else(|| DataFusionError::Internal("not readable".into()))?
            .with_block_size(block);
        let fust = rows(&ctx, Arc::new(fust), sql).await?;
        let arrow = rows(&ctx, arrow, sql).await?;
        Ok((fust, arrow))
    }

    fn dialect() -> CsvDialect {
        CsvDialect {
            delimiter: b',',
            quote: b'"',
            has_header: true,
            newlines_in_values: false,
        }
    }

    /// Rows of every inferred type, with NULLs, quotes, doubled quotes, CRLF and blank lines.
    fn sample(rows: usize) -> Vec<u8> {
        let mut text = String::from("id,amount,day,flag,label,note\n");
        for i in 0..rows {
            let amount = match i % 7 {
                0 => String::new(),
                k => format!("{}.{}", i * 3, k),
            };
            let flag = ["true", "false", "", "TRUE"][i % 4];
            let label = match i % 5 {
                0 => format!("\"a, \"\"quoted\"\" {i}\""),
                1 => String::new(),
                2 => "\"\"".to_string(),
                3 => format!("plain-{i}-ünïcode"),
                _ => format!("x{i}"),
            };
            let end = if i % 3 == 0 { "\r\n" } else { "\n" };
            text.push_str(&format!(
                "{i},{amount},2024-{:02}-{:02},{flag},{label},n{}{end}",
                i % 12 + 1,
                i % 28 + 1,
                i * 7
            ));
            if i % 50 == 0 {
                text.push('\n');
            }
        }
        text.into_bytes()
    }

    #[tokio::test]
    async fn same_rows_as_arrow_csv() -> Result<()> {
        let text = sample(2000);
        let sql = "SELECT * FROM t";
        for (partitions, batch_size, block) in [(1, 8192, 4 << 20), (4, 7, 64), (3, 100, 1000)] {
            let (fust, arrow) = both(&text, dialect(), partitions, batch_size, block, sql).await?;
            assert_eq!(fust.len(), 2000 + 4, "rows plus table borders");
            assert_eq!(
                fust, arrow,
                "partitions {partitions}, batch {batch_size}, block {block}"
            );
        }
        // Projections, filters (on columns read or not), a count with no column, a limit.
        for sql in [
            "SELECT note, day FROM t WHERE flag",
            "SELECT id, label FROM t WHERE amount > 100 AND label IS NOT NULL",
            "SELECT * FROM t WHERE upper(label) LIKE 'PLAIN%' OR id % 97 = 0",
            "SELECT count(*) FROM t WHERE day < DATE '2024-03-01'",
            "SELECT id FROM t WHERE amount > 1e9",
        ] {
            let (fust, arrow) = both(&text, dialect(), 4, 64, 256, sql).await?;
            assert_eq!(fust, arrow, "{sql}");
            assert!(fust.len() > 4 || sql.contains("1e9"), "{sql}: {fust:?}");
        }
        let (fust, arrow) = both(&text, dialect(), 4, 64, 256, "SELECT count(*) FROM t").await?;
        assert_eq!(fust, arrow);
        assert!(fust.iter().any(|l| l.contains("| 2000 ")), "{fust:?}");
        let (fust, _) = both(&text, dialect(), 2, 64, 256, "SELECT * FROM t LIMIT 5").await?;
        assert_eq!(fust.len(), 5 + 4);
        Ok(())
    }

    /// A quoted value with a line break where the file is cut into ranges: the range after
    /// the cut would start inside the value and read `7,fake"` as a row (the field count
    /// matches). The read fails, naming the option that reads such files, wherever the
    /// cuts fall; with the option set, the rows are exact.
    #[tokio::test]
    async fn quoted_line_breaks_at_a_range_cut_fail_instead_of_inventing_rows() -> Result<()> {
        let mut text = b"id,note\n".to_vec();
        for i in 0..2000 {
            text.extend_from_slice(format!("{i},\"line one\n7,fake\"\n").as_bytes());
        }
        let (mut failed, mut whole) = (0, 0);
        for partitions in [2, 3, 4, 7] {
            match fust_only(
                &text,
                dialect(),
                partitions,
                4096,
                "SELECT count(*) AS n FROM t",
            )
            .await
            {
                Err(e) => {
                    assert!(e.to_string().contains("newlines_in_values: true"), "{e}");
                    failed += 1;
                }
                Ok(fust) => {
                    assert!(fust.iter().any(|l| l.contains("| 2000 |")), "{fust:?}");
                    whole += 1;
                }
            }
        }
        assert!(
            failed > 0,
            "no cut fell inside a value ({whole} whole reads)"
        );
        let lines = dialect_with_newlines();
        let (fust, arrow) = both(
            &text,
            lines,
            4,
            100,
            4096,
            "SELECT count(*) AS n, max(note) FROM t",
        )
        .await?;
        assert_eq!(fust, arrow);
        assert!(fust.iter().any(|l| l.contains("| 2000 |")), "{fust:?}");

        // Blank lines and CRLF at the cuts are not mistaken for it.
        let mut text = b"id,note\r\n".to_vec();
        for i in 0..3000 {
            text.extend_from_slice(format!("{i},\"a,b\"\r\n\r\n").as_bytes());
        }
        for partitions in [2, 3, 5, 8] {
            let fust = fust_only(
                &text,
                dialect(),
                partitions,
                1024,
                "SELECT count(*) AS n FROM t",
            )
            .await?;
            assert!(
                fust.iter().any(|l| l.contains("| 3000 |")),
                "{partitions}: {fust:?}"
            );
        }
        Ok(())
    }

    /// The csv_reader fuzz target's find: when the range after a cut inside a quoted value
    /// failed first, its error ("expected 2 fields, found 1" on the value's second line)
    /// named a line that is no record and not the option that reads such files. Which
    /// range fails first depends on the threads, hence several cuts and block sizes.
    #[tokio::test]
    async fn every_error_after_a_cut_names_newlines_in_values() -> Result<()> {
        let text = b"id,note\n1,\"two\nlines\"\n2,x\n";
        for partitions in 2..=8 {
            for block in [1, 4, 64] {
                let sql = "SELECT * FROM t";
                match fust_only(text, dialect(), partitions, block, sql).await {
                    Ok(rows) => assert_eq!(rows.len(), 2 + 4, "{partitions}: {rows:?}"),
                    Err(e) => assert!(
                        e.to_string().contains("newlines_in_values"),
                        "{partitions} partitions, block {block}: {e}"
                    ),
                }
            }
        }
        Ok(())
    }

    /// A decimal with a five-digit exponent is an error, not arrow-cast's wrapped
    /// exponent: `1e65537` was read as 10.00.
    #[tokio::test]
    async fn decimals_with_huge_exponents_are_errors() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.csv");
        let schema = Arc::new(Schema::new(vec![Field::new(
            "d",
            DataType::Decimal128(10, 2),
            true,
        )]));
        for (text, want) in [("d\n1e3\n", Some("1000.00")), ("d\n1e65537\n", None)] {
            std::fs::write(&path, text)?;
            let t = CsvTable::try_new(
                vec![(path.clone(), text.len() as u64)],
                schema.clone(),
                dialect(),
            )
            .ok_or_else(|| DataFusionError::Internal("not readable".into()))?;
            match (
                rows(&session(1, 100), Arc::new(t), "SELECT d FROM t").await,
                want,
            ) {
                (Ok(rows), Some(want)) => {
                    assert!(rows.iter().any(|r| r.contains(want)), "{rows:?}")
                }
                (Err(e), None) => assert!(e.to_string().contains("cannot read '1e65537'"), "{e}"),
                (other, _) => panic!("{text:?}: {other:?}"),
            }
        }
        Ok(())
    }

    /// Reads `text` with Fust's reader only.
    async fn fust_only(
        text: &[u8],
        dialect: CsvDialect,
        partitions: usize,
        block: usize,
        sql: &str,
    ) -> Result<Vec<String>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.csv");
        File::create(&path)?.write_all(text)?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("note", DataType::Utf8, true),
        ]));
        let size = text.len() as u64;
        let t = CsvTable::try_new(vec![(path, size)], schema, dialect)
            .ok_or_else(|| DataFusionError::Internal("not readable".into()))?
            .with_block_size(block);
        rows(&session(partitions, 100), Arc::new(t), sql).await
    }

    fn dialect_with_newlines() -> CsvDialect {
        CsvDialect {
            newlines_in_values: true,
            ..dialect()
        }
    }

    #[tokio::test]
    async fn other_delimiter_no_header_and_values_with_line_breaks() -> Result<()> {
        let text = b"1;\"two\nlines\";3.5\n2;plain;\n\n3;\"semi;colon\";-1e3\n".to_vec();
        let d = CsvDialect {
            delimiter: b';',
            has_header: false,
            newlines_in_values: true,
            ..dialect()
        };
        let (fust, arrow) = both(&text, d, 4, 2, 8, "SELECT * FROM t").await?;
        assert_eq!(fust, arrow);
        assert!(fust.iter().any(|l| l.contains("semi;colon")), "{fust:?}");
        Ok(())
    }
}

#[cfg(test)]
mod pushdown {
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::SessionContext;

    use super::*;

    #[tokio::test]
    async fn row_wise_filters_run_in_the_scan() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "a,b\n1,x\n2,y\n3,z\n")?;
        let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
            datafusion::arrow::datatypes::Field::new("a", DataType::Int64, true),
            datafusion::arrow::datatypes::Field::new("b", DataType::Utf8, true),
        ]));
        let dialect = CsvDialect {
            delimiter: b',',
            quote: b'"',
            has_header: true,
            newlines_in_values: false,
        };
        let table = CsvTable::try_new(
            vec![(path.clone(), std::fs::metadata(&path)?.len())],
            schema,
            dialect,
        )
        .ok_or_else(|| DataFusionError::Internal("not readable".into()))?;
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::new(table))?;
        let df = ctx.sql("SELECT b FROM t WHERE a >= 2 AND b <> 'z'").await?;
        let plan = df.clone().create_physical_plan().await?;
        let text = displayable(plan.as_ref()).indent(true).to_string();
        assert!(
            text.contains("predicate=a >= Int64(2) AND b != Utf8(\"z\")"),
            "{text}"
        );
        assert!(!text.contains("FilterExec"), "{text}");
        let batches = df.collect().await?;
        let rows: Vec<&str> = batches
            .iter()
            .flat_map(|b| {
                let col = b.column(0).as_string::<i32>();
                (0..col.len()).map(move |i| col.value(i))
            })
            .collect();
        assert_eq!(rows, ["y"]);
        // random() is not pushed: DataFusion filters after the scan.
        let plan = ctx
            .sql("SELECT b FROM t WHERE random() < 2")
            .await?
            .create_physical_plan()
            .await?;
        let text = displayable(plan.as_ref()).indent(true).to_string();
        assert!(text.contains("FilterExec"), "{text}");
        Ok(())
    }
}
