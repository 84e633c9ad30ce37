//! Entry points for the fuzz targets in `fuzz/` (docs/contributing.md, "Fuzzing"): each
//! drives a real decoder with bytes a hostile server or a broken file could send, and must
//! never panic, hang or grow memory without end, whatever the input; an error is a fine
//! answer. Where two ways of reading the same bytes must agree (several partitions against
//! one, a COPY stream in chunks against whole), a disagreement panics too: it is a bug.
//!
//! Not part of the API: the decoders stay private, and this module is the one door the
//! fuzz targets need.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
#[cfg(any(feature = "mysql", feature = "postgres"))]
use datafusion::arrow::array::{ArrayRef, RecordBatchOptions};
#[cfg(feature = "mysql")]
use datafusion::arrow::datatypes::DataType;
#[cfg(feature = "mysql")]
use datafusion::arrow::datatypes::TimeUnit;
use datafusion::arrow::datatypes::{Field, Schema};

/// One tokio runtime per fuzzing thread: building one per input would cost more than most
/// inputs take to decode.
#[cfg(any(feature = "csv", feature = "mysql"))]
fn block_on<F: Future>(f: F) -> F::Output {
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
    }
    RT.with(|rt| rt.block_on(f))
}

#[cfg(any(feature = "mysql", feature = "postgres"))]
/// The first byte of `data` as a length (at most `max`), the bytes it counts, and the rest.
fn take_part(data: &[u8], max: usize) -> (&[u8], &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (&[], &[]);
    };
    rest.split_at(usize::from(n).min(max).min(rest.len()))
}

/// Rows whose columns do not all have the row count are a decoder bug: the reader would
/// fail building the batch, or worse, shift values between rows.
#[cfg(any(feature = "mysql", feature = "postgres"))]
fn check_batch(fields: &[Arc<Field>], columns: Vec<ArrayRef>, rows: usize) {
    let schema = Arc::new(Schema::new(fields.to_vec()));
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    if let Err(e) = RecordBatch::try_new_with_options(schema, columns, &options) {
        panic!("the decoder's columns do not make a batch of {rows} rows: {e}");
    }
}

// ---------------------------------------------------------------------------------------
// MySQL: binary-protocol rows, and a whole conversation with a scripted server.

#[cfg(feature = "mysql")]
use crate::mysql::types::{Decoder, MYSQL_TYPE};
#[cfg(feature = "mysql")]
use crate::mysql::wire::{Conn, Login, StartTls, WireKind};

/// The Arrow column types the MySQL decoder builds (what `field_for` can produce).
#[cfg(feature = "mysql")]
fn mysql_field(i: usize, choice: u8) -> Field {
    let t = match choice % 22 {
        0 => DataType::Boolean,
        1 => DataType::Int8,
        2 => DataType::Int16,
        3 => DataType::Int32,
        4 => DataType::Int64,
        5 => DataType::UInt8,
        6 => DataType::UInt16,
        7 => DataType::UInt32,
        8 | 9 => DataType::UInt64,
        10 => DataType::Float32,
        11 => DataType::Float64,
        12 => DataType::Decimal128(10, 2),
        13 => DataType::Decimal128(38, 0),
        14 => DataType::Decimal128(20, 4),
        15 => DataType::Decimal128(5, 5),
        16 => DataType::Utf8,
        17 => DataType::Binary,
        18 => DataType::Date32,
        19 => DataType::Duration(TimeUnit::Microsecond),
        20 => DataType::Timestamp(TimeUnit::Microsecond, None),
        _ => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    };
    let field = Field::new(format!("c{i}"), t, true);
    // 9: a `bit(n)` column, whose bytes are a big-endian number.
    match choice % 22 {
        9 => field.with_metadata([(MYSQL_TYPE.to_string(), "bit(12)".to_string())].into()),
        _ => field,
    }
}

/// The Arrow type the source would choose for a column sent as `kind`.
#[cfg(feature = "mysql")]
fn mysql_natural(i: usize, kind: WireKind) -> Field {
    let choice = match kind {
        WireKind::Int(1, u) => 1 + 4 * u8::from(u),
        WireKind::Int(2, u) => 2 + 4 * u8::from(u),
        WireKind::Int(4, u) => 3 + 4 * u8::from(u),
        WireKind::Int(_, u) => 4 + 4 * u8::from(u),
        WireKind::Float => 10,
        WireKind::Double => 11,
        WireKind::Date => 20,
        WireKind::Time => 19,
        WireKind::Bytes => 16,
    };
    mysql_field(i, choice)
}

/// Drives the MySQL decoders. `data[0]` chooses: bit 0 clear, binary-protocol rows straight
/// into [`Decoder::push_packet`]; set, a whole conversation ([`mysql_conversation`]), with
/// a password when bit 1 is set and `ssl_mode: preferred` when bit 2 is.
///
/// Rows: `data[1]` is the length of a column list, three bytes a column (Arrow type,
/// `MYSQL_TYPE_*` number, flags: bit 0 UNSIGNED); then row packets, each after its length
/// byte (255: a little-endian u16 length follows).
#[cfg(feature = "mysql")]
pub fn mysql_wire(data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        let (columns, rest) = take_part(data, 32);
        let (chunking, server) = take_part(rest, 16);
        mysql_conversation(columns, chunking, server, mode & 2 == 2, mode & 4 == 4);
        return;
    }
    let (columns, mut packets) = take_part(data, 48);
    let (fields, kinds): (Vec<Arc<Field>>, Vec<WireKind>) = columns
        .chunks_exact(3)
        .enumerate()
        .map(|(i, c)| {
            let kind = WireKind::from_column(c[1], c[2] & 1 == 1);
            (Arc::new(mysql_field(i, c[0])), kind)
        })
        .unzip();
    let Ok(mut decoder) = Decoder::new(&fields, 4) else {
        return;
    };
    if decoder.set_wire_kinds(kinds).is_err() {
        return;
    }
    while let Some((&len, rest)) = packets.split_first() {
        let (len, rest) = match len {
            255 if rest.len() >= 2 => (
                usize::from(u16::from_le_bytes([rest[0], rest[1]])),
                &rest[2..],
            ),
            n => (usize::from(n), rest),
        };
        let (packet, rest) = rest.split_at(len.min(rest.len()));
        packets = rest;
        if decoder.push_packet(packet).is_err() {
            return;
        }
        if decoder.rows() == 4 {
            let rows = decoder.rows();
            match decoder.take() {
                Ok(columns) => check_batch(&fields, columns, rows),
                Err(_) => return,
            }
        }
    }
    let rows = decoder.rows();
    if let Ok(columns) = decoder.take() {
        check_batch(&fields, columns, rows);
    }
}

/// A server that says `script`, handed over in pieces of the sizes in `chunking` (each
/// byte plus one, in turn; all at once when empty); what the client sends is dropped.
#[cfg(feature = "mysql")]
struct Scripted<'a> {
    script: &'a [u8],
    chunking: &'a [u8],
    turn: usize,
}

#[cfg(feature = "mysql")]
impl tokio::io::AsyncRead for Scripted<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let piece = match self.chunking.get(self.turn % self.chunking.len().max(1)) {
            Some(&n) => usize::from(n) + 1,
            None => usize::MAX,
        };
        self.turn += 1;
        let n = piece.min(buf.remaining()).min(self.script.len());
        let (now, later) = self.script.split_at(n);
        buf.put_slice(now);
        self.script = later;
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "mysql")]
impl tokio::io::AsyncWrite for Scripted<'_> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A whole read as the MySQL source does it (`read_rows`): the server's greeting (and,
/// with `starttls`, the `SSLRequest` exchange, over a pass-through "TLS"), login,
/// `SET`, prepare and execute, then rows into a [`Decoder`] three at a time, all from
/// `server` (framed packets as a server sends them). Column `i`'s Arrow type is
/// `columns[i % len]`, or the natural one for its wire layout when `columns` is empty.
#[cfg(feature = "mysql")]
pub fn mysql_conversation(
    columns: &[u8],
    chunking: &[u8],
    server: &[u8],
    password: bool,
    starttls: bool,
) {
    let stream = Scripted {
        script: server,
        chunking,
        turn: 0,
    };
    let login = Login {
        user: "fust",
        password: if password { "secret" } else { "" },
        database: "test",
    };
    block_on(async {
        // The SSLRequest exchange with a "TLS" that leaves the bytes as they are: what the
        // server says after it is still the script.
        let tls = match starttls {
            true => StartTls::Prefer(|s| std::future::ready(Ok(s))),
            false => StartTls::Off,
        };
        let Ok(mut conn) = Conn::login_with(stream, &login, tls).await else {
            return;
        };
        if conn.execute("SET time_zone = '+00:00'").await.is_err() {
            return;
        }
        let Ok(kinds) = conn.query("SELECT * FROM t").await else {
            return;
        };
        let fields: Vec<Arc<Field>> = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| match columns.get(i % columns.len().max(1)) {
                Some(&c) => Arc::new(mysql_field(i, c)),
                None => Arc::new(mysql_natural(i, *kind)),
            })
            .collect();
        let Ok(mut decoder) = Decoder::new(&fields, 3) else {
            return;
        };
        if decoder.set_wire_kinds(kinds).is_err() {
            return;
        }
        loop {
            let Ok(row) = conn.next_row().await else {
                return;
            };
            let last = row.is_none();
            if let Some(row) = row
                && decoder.push_packet(row).is_err()
            {
                return;
            }
            let n = decoder.rows();
            if n > 0 && (n == 3 || last) {
                match decoder.take() {
                    Ok(columns) => check_batch(&fields, columns, n),
                    Err(_) => return,
                }
            }
            if last {
                conn.quit().await;
                return;
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// PostgreSQL: binary COPY streams.

#[cfg(feature = "postgres")]
use crate::postgres::types::{CopyDecoder, PgType};

/// The PostgreSQL column types the COPY decoder reads.
#[cfg(feature = "postgres")]
fn pg_type(choice: u8) -> PgType {
    let scalar = |c: u8| match c % 21 {
        0 => PgType::Bool,
        1 => PgType::Int2,
        2 => PgType::Int4,
        3 => PgType::Int8,
        4 => PgType::Float4,
        5 => PgType::Float8,
        6 => PgType::Numeric(10, 2),
        7 => PgType::Numeric(38, 0),
        8 => PgType::Numeric(38, 38),
        9 => PgType::NumericText,
        10 => PgType::Text("text".into()),
        11 => PgType::Text("bpchar".into()),
        12 => PgType::Bytea,
        13 => PgType::Date,
        14 => PgType::Time,
        15 => PgType::Timestamp,
        16 => PgType::TimestampTz,
        17 => PgType::Interval,
        18 => PgType::Uuid,
        19 => PgType::Jsonb,
        _ => PgType::Json,
    };
    match choice {
        // Arrays of each scalar type (the element OID does not matter when reading).
        128.. => PgType::Array(Box::new(scalar(choice)), 0),
        _ => scalar(choice),
    }
}

/// Drives [`CopyDecoder`] as the PostgreSQL source does: `data[0]` is the length of a
/// column list (a byte a column: the type, an array when 128 or more), then the length of
/// a chunk list (each byte plus one is the size of the next chunk fed, in turn), then the
/// COPY stream. Rows are taken in batches of 2. The same stream fed whole must give the
/// same rows and the same error.
#[cfg(feature = "postgres")]
pub fn pg_copy(data: &[u8]) {
    let (columns, rest) = take_part(data, 16);
    let (chunking, stream) = take_part(rest, 16);
    let fields: Vec<Arc<Field>> = columns
        .iter()
        .enumerate()
        .map(|(i, &c)| Arc::new(pg_type(c).field(&format!("c{i}"))))
        .collect();
    let chunked = pg_read(&fields, stream, chunking);
    let whole = pg_read(&fields, stream, &[]);
    assert_eq!(
        chunked, whole,
        "the COPY stream decodes differently in chunks of {chunking:?} than whole"
    );
}

/// The rows (each column over all batches, as text) or the error of reading `stream` fed
/// in chunks.
#[cfg(feature = "postgres")]
fn pg_read(fields: &[Arc<Field>], stream: &[u8], chunking: &[u8]) -> Result<String, String> {
    // How many bytes follow the trailer depends on where the chunk holding it ends.
    let message = |e: crate::common::ConnectorError| match e.to_string() {
        m if m.ends_with("bytes after the end of the COPY stream") => "bytes after the end".into(),
        m => m,
    };
    let mut decoder = CopyDecoder::new(fields).map_err(message)?;
    let mut batches: Vec<Vec<ArrayRef>> = Vec::new();
    let mut batch = |decoder: &mut CopyDecoder| {
        let rows = decoder.rows();
        let columns = decoder.take();
        check_batch(fields, columns.clone(), rows);
        batches.push(columns);
    };
    let mut rest = stream;
    let mut turn = 0;
    while !rest.is_empty() && !decoder.finished() {
        let n = match chunking.get(turn % chunking.len().max(1)) {
            Some(&n) => usize::from(n) + 1,
            None => rest.len(),
        };
        turn += 1;
        let (chunk, later) = rest.split_at(n.min(rest.len()));
        rest = later;
        decoder.feed(chunk).map_err(message)?;
        if decoder.rows() >= 2 {
            batch(&mut decoder);
        }
    }
    if !rest.is_empty() {
        // The trailer came and more followed: the source feeds that too.
        decoder.feed(rest).map_err(message)?;
    }
    decoder.end().map_err(message)?;
    if decoder.rows() > 0 {
        batch(&mut decoder);
    }
    // Where batches end depends on the chunks; the rows must not.
    let columns: Vec<String> = (0..fields.len())
        .map(|c| {
            let parts: Vec<&dyn datafusion::arrow::array::Array> =
                batches.iter().map(|b| b[c].as_ref()).collect();
            match datafusion::arrow::compute::concat(&parts) {
                Ok(all) => format!("{all:?}"),
                Err(e) => format!("{e}"),
            }
        })
        .collect();
    Ok(columns.join("\n"))
}

/// A column of each common type, as the CSV target reads and the SQL target's tables hold.
pub fn sample_schema() -> datafusion::arrow::datatypes::SchemaRef {
    use datafusion::arrow::datatypes::DataType;
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
        Field::new("day", DataType::Date32, true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("price", DataType::Decimal128(10, 2), true),
    ]))
}

// ---------------------------------------------------------------------------------------
// CSV: Fust's own reader, over a file, in several partitions and in one.

#[cfg(feature = "csv")]
use crate::csv::scan::{CsvDialect, CsvTable};

/// Writes `data[4..]` to a file and reads it with [`CsvTable`] twice: in 2 to 5 partitions
/// with tiny blocks and batches, and in one partition with a large block. `data[0]` picks
/// the dialect (delimiter, quote, header, line breaks in values), `data[1]` the block size,
/// `data[2]` the batch size and partitions, `data[3]` bit 0 a projection for the first read.
/// The schema is fixed: Int64, Utf8, Float64, Date32, Boolean, Decimal128(10, 2).
///
/// When both reads succeed they must hold the same rows (in any order); when only the
/// first fails, the error must name `newlines_in_values` and the file hold a quote (a
/// quoted line break at a cut is what only a split file can meet); when only the second
/// fails, the first missed a bad record.
#[cfg(feature = "csv")]
pub fn csv_reader(data: &[u8]) {
    let [opts, block, sizes, shape, ..] = *data else {
        return;
    };
    let text = &data[4..];
    let dialect = CsvDialect {
        delimiter: [b',', b';', b'\t', b'|'][usize::from(opts & 3)],
        quote: [b'"', b'\''][usize::from(opts >> 2 & 1)],
        has_header: opts & 8 != 0,
        newlines_in_values: opts & 16 != 0,
    };
    let schema = sample_schema();
    let path = csv_file();
    if std::fs::write(&path, text).is_err() {
        return;
    }
    let table = |block: usize| {
        CsvTable::try_new(
            vec![(path.clone(), text.len() as u64)],
            schema.clone(),
            dialect,
        )
        .map(|t| t.with_block_size(block))
    };
    let (Some(split), Some(whole)) = (table(usize::from(block % 64) + 1), table(1 << 20)) else {
        return;
    };
    let projection = (shape & 1 == 1).then(|| vec![5, 0, 3]);
    let partitions = usize::from(sizes >> 4) % 4 + 2;
    let batch = usize::from(sizes & 15) + 1;
    let first = csv_rows(split, partitions, batch, projection.as_ref());
    let second = csv_rows(whole, 1, 8192, None);
    let _ = std::fs::remove_file(&path);
    match (first, second) {
        (Ok(mut a), Ok(b)) => {
            let mut b: Vec<Vec<String>> = match &projection {
                Some(p) => b
                    .into_iter()
                    .map(|row| p.iter().map(|&c| row[c].clone()).collect())
                    .collect(),
                None => b,
            };
            a.sort();
            b.sort();
            assert!(
                a == b,
                "{partitions} partitions (block {}, batch {batch}) read {} rows, one read {}: \
                 {a:?} against {b:?}",
                block % 64 + 1,
                a.len(),
                b.len()
            );
        }
        // Only a quoted value can hold a line break at a cut.
        (Err(e), Ok(_)) => assert!(
            e.contains("newlines_in_values") && text.contains(&dialect.quote),
            "{partitions} partitions failed where one read succeeded: {e}"
        ),
        (Ok(_), Err(e)) if projection.is_none() => {
            panic!("{partitions} partitions read what one read refused: {e}")
        }
        _ => {}
    }
}

/// A new scratch file for each input: a partition of an earlier read that failed may
/// still be reading its own file when the next input is written.
#[cfg(feature = "csv")]
fn csv_file() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("fust-fuzz-{}-{n}.csv", std::process::id()))
}

/// Every row of `table` read in `partitions` partitions, each value as text.
#[cfg(feature = "csv")]
fn csv_rows(
    table: CsvTable,
    partitions: usize,
    batch: usize,
    projection: Option<&Vec<usize>>,
) -> Result<Vec<Vec<String>>, String> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    use datafusion::catalog::TableProvider;
    use datafusion::prelude::{SessionConfig, SessionContext};

    let mut config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(batch);
    config.options_mut().optimizer.repartition_file_min_size = 0;
    let ctx = SessionContext::new_with_config(config);
    let batches: Vec<RecordBatch> = block_on(async {
        let plan = table.scan(&ctx.state(), projection, &[], None).await?;
        datafusion::physical_plan::collect(plan, ctx.task_ctx()).await
    })
    .map_err(|e| e.to_string())?;
    let options = FormatOptions::default().with_null("∅");
    let mut rows = Vec::new();
    for batch in &batches {
        let columns = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        for r in 0..batch.num_rows() {
            rows.push(columns.iter().map(|c| c.value(r).to_string()).collect());
        }
    }
    Ok(rows)
}
