//! File connectors end to end: CSV, Parquet, JSON, compression (gzip, zstd, bzip2, xz),
//! escape/comment, preserve_order, writer options, listing inputs, console, preview and
//! explain.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::{Value, json};

/// Runs `job` (text) in `dir` and asserts success.
fn run_ok(dir: &Path, job: &str) -> Out {
    let path = write_job(dir, job);
    let out = run_job(dir, &path, &[]);
    out.success();
    assert_no_temp_files(dir);
    out
}

// ------------------------------------------------------------------ CSV → Parquet → CSV

const TYPED_CSV: &str = "\
i,neg,big,small,f,b,d,ts,s,e
1,-5,9223372036854775807,-9223372036854775808,1.5,true,2024-02-29,2024-02-29T12:34:56.789,\"a, b\",x
2,0,0,0,-0.25,false,1900-01-01,1969-12-31T23:59:59.500,\"say \"\"hi\"\"\",
3,,,,1.5e300,,,,\"héllo, 日本 🎉\",z
4,42,-1,1,,true,2000-12-31,2000-01-01T00:00:01.001,,w
";

#[test]
fn csv_parquet_csv_round_trip_keeps_values_and_types() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "typed.csv", TYPED_CSV);
    run_ok(
        d,
        "input: {type: csv, path: typed.csv}\noutput: {type: parquet, path: mid/typed.parquet}\n",
    );
    let parquet = d.join("mid/typed.parquet");
    let (schema, batches) = read_batches(&parquet);
    let types: Vec<(String, DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let expect_type = |name: &str, ok: &dyn Fn(&DataType) -> bool, want: &str| {
        let (_, t) = types
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no column {name}: {types:?}"));
        assert!(ok(t), "column {name}: type {t:?}, expected {want}");
    };
    for c in ["i", "neg", "big", "small"] {
        expect_type(c, &|t| *t == DataType::Int64, "Int64");
    }
    expect_type("f", &|t| *t == DataType::Float64, "Float64");
    expect_type("b", &|t| *t == DataType::Boolean, "Boolean");
    expect_type("d", &|t| *t == DataType::Date32, "Date32");
    expect_type(
        "ts",
        &|t| matches!(t, DataType::Timestamp(_, None)),
        "Timestamp",
    );
    for c in ["s", "e"] {
        expect_type(
            c,
            &|t| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8),
            "Utf8/Utf8View",
        );
    }
    assert_eq!(
        types.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["i", "neg", "big", "small", "f", "b", "d", "ts", "s", "e"]
    );

    // The Parquet values, empty CSV fields as NULL.
    let mut pq_rows = batches_to_rows(&batches);
    pq_rows.sort_by_key(|r| r[0].parse::<i64>().expect("i"));
    assert_eq!(pq_rows[0][2], "9223372036854775807");
    assert_eq!(pq_rows[0][3], "-9223372036854775808");
    assert_eq!(pq_rows[1][8], "say \"hi\"");
    assert_eq!(pq_rows[1][9], "NULL", "empty string field is NULL");
    assert_eq!(pq_rows[2][1..4], ["NULL"; 3], "empty fields are NULL");
    assert_eq!(pq_rows[2][5..8], ["NULL"; 3], "empty fields are NULL");
    assert_eq!(pq_rows[2][8], "héllo, 日本 🎉");
    assert_eq!(pq_rows[3][8], "NULL");
    assert_eq!(pq_rows[1][6], "1900-01-01");

    // Back to CSV: every value as it was.
    run_ok(
        d,
        "input: {type: parquet, path: mid/typed.parquet}\npipeline:\n  processors:\n    - {type: sql, query: 'SELECT * FROM input ORDER BY i'}\noutput: {type: csv, path: back.csv}\n",
    );
    let back = std::fs::read_to_string(d.join("back.csv")).expect("back.csv");
    let norm = |rows: Vec<Vec<String>>| -> Vec<Vec<String>> {
        rows.into_iter()
            .map(|r| r.iter().map(|c| norm_cell(c)).collect())
            .collect()
    };
    assert_eq!(
        norm(parse_csv(&back)),
        norm(parse_csv(TYPED_CSV)),
        "round trip changed values:\n{back}"
    );
}

// ------------------------------------------------------------------ compressed CSV

const PLAIN_CSV: &str = "id,name,score\n1,ada,3.5\n2,grace,4\n3,alan,\n";

/// Numbers written with leading zeros are codes (zip codes, ids): inference keeps them as
/// text, zeros and all, as DuckDB does; `0`, `0.5` and `-0.25` stay numbers, and `schema:`
/// still wins.
#[test]
fn zero_padded_numbers_stay_text() {
    let dir = tempdir();
    let d = dir.path();
    let mut csv = "zip,code,n,f,neg,forced\n".to_string();
    for i in 0..50 {
        csv.push_str(&format!("{},{i},{i},0.5,-0.25,{i}\n", 10000 + i));
    }
    csv.push_str("08123,007,0,0.5,-01.5,012\n");
    write_file(d, "zips.csv", &csv);
    run_ok(
        d,
        "input: {type: csv, path: zips.csv, schema: {forced: bigint}}\n\
         output: {type: parquet, path: zips.parquet}\n",
    );
    let (schema, batches) = read_batches(&d.join("zips.parquet"));
    let types: Vec<String> = (schema.fields().iter())
        .map(|f| format!("{}:{}", f.name(), f.data_type()))
        .collect();
    assert_eq!(
        types,
        [
            "zip:Utf8View",
            "code:Utf8View",
            "n:Int64",
            "f:Float64",
            "neg:Utf8View",
            "forced:Int64"
        ],
    );
    let last = batches.last().unwrap();
    let row = last.num_rows() - 1;
    let text = |c: usize| {
        datafusion::arrow::util::display::array_value_to_string(last.column(c), row).unwrap()
    };
    assert_eq!(
        (text(0), text(1), text(4), text(5)),
        ("08123".into(), "007".into(), "-01.5".into(), "12".into())
    );
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Compresses `src` into `dst` with the command-line tool, or python3 when it is missing.
fn compress(kind: &str, src: &Path, dst: &Path) {
    let status = if have(kind) {
        let out = Command::new(kind).arg("-c").arg(src).output().expect(kind);
        assert!(out.status.success(), "{kind} failed");
        std::fs::write(dst, out.stdout).expect("write compressed");
        return;
    } else {
        let code = match kind {
            "gzip" => {
                "import gzip,sys; open(sys.argv[2],'wb').write(gzip.compress(open(sys.argv[1],'rb').read()))"
            }
            "bzip2" => {
                "import bz2,sys; open(sys.argv[2],'wb').write(bz2.compress(open(sys.argv[1],'rb').read()))"
            }
            "xz" => {
                "import lzma,sys; open(sys.argv[2],'wb').write(lzma.compress(open(sys.argv[1],'rb').read()))"
            }
            _ => {
                "import sys\ntry:\n import compression.zstd as z\nexcept ImportError:\n import zstandard as z\nd=open(sys.argv[1],'rb').read()\nopen(sys.argv[2],'wb').write(z.compress(d) if hasattr(z,'compress') else z.ZstdCompressor().compress(d))"
            }
        };
        Command::new("python3")
            .args(["-c", code])
            .arg(src)
            .arg(dst)
            .status()
            .expect("python3")
    };
    assert!(status.success(), "compressing with python3 failed");
}

#[test]
fn compressed_csv_input() {
    let dir = tempdir();
    let d = dir.path();
    let src = write_file(d, "plain.csv", PLAIN_CSV);
    compress("gzip", &src, &d.join("data.csv.gz"));
    compress("zstd", &src, &d.join("data.csv.zst"));
    compress("bzip2", &src, &d.join("data.csv.bz2"));
    compress("xz", &src, &d.join("data.csv.xz"));
    compress("gzip", &src, &d.join("gzipped.bin"));
    compress("xz", &src, &d.join("xzipped.bin"));
    let want = rows(&[
        &["1", "ada", "3.5"],
        &["2", "grace", "4.0"],
        &["3", "alan", "NULL"],
    ]);
    for (path, extra) in [
        ("data.csv.gz", ""),
        ("data.csv.zst", ""),
        ("data.csv.bz2", ""),
        ("data.csv.xz", ""),
        ("gzipped.bin", ", compression: gzip"),
        ("xzipped.bin", ", compression: xz"),
    ] {
        run_ok(
            d,
            &format!(
                "input: {{type: csv, path: {path}{extra}}}\noutput: {{type: csv, path: out/{path}.csv}}\n"
            ),
        );
        let out = d.join(format!("out/{path}.csv"));
        assert_eq!(read_rows(&out), want, "{path}");
    }
}

#[test]
fn csv_escape_and_comment_characters() {
    let dir = tempdir();
    let d = dir.path();
    write_file(
        d,
        "odd.csv",
        "id;text\n# a comment line\n1;'say \\'hi\\', ok'\n#2;commented out\n3;'semi; colon'\n",
    );
    run_ok(
        d,
        "input: {type: csv, path: odd.csv, delimiter: ';', quote: \"'\", escape: '\\', comment: '#'}\n\
         output: {type: csv, path: out.csv}\n",
    );
    assert_eq!(
        read_rows(&d.join("out.csv")),
        rows(&[&["1", "say 'hi', ok"], &["3", "semi; colon"]])
    );
}

/// `preserve_order` keeps the input's row order even for a file large enough that the
/// scan would otherwise split it into byte ranges read in parallel.
#[test]
fn preserve_order_on_a_file_large_enough_to_split() {
    let dir = tempdir();
    let d = dir.path();
    let n = 600_000u64;
    let mut csv = String::from("id,pad\n");
    let ids: Vec<u64> = (0..n).map(|i| (i * 7919) % n).collect();
    for id in &ids {
        csv.push_str(&format!("{id},xxxxxxxxxxxxxxxx\n"));
    }
    assert!(csv.len() > 12 << 20, "big enough to split: {}", csv.len());
    write_file(d, "big.csv", &csv);
    let job = |settings: &str| {
        format!(
            "input: {{type: csv, path: big.csv}}\n{settings}pipeline:\n  processors:\n    \
             - {{type: filter, condition: 'id % 3 <> 0'}}\n    - {{type: sql, query: 'SELECT id FROM input'}}\n\
             output: {{type: csv, path: out.csv}}\n"
        )
    };
    // Without it the scan runs in several ranges…
    let plain = write_job(d, &job(""));
    let plan = fust(d, &["explain", plain.to_str().expect("utf-8")], &[]);
    plan.success();
    let partitions = plan
        .stdout
        .split_once("CsvScanExec: partitions=")
        .and_then(|(_, t)| t.split(',').next())
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no CsvScanExec:\n{}", plan.stdout));
    assert!(partitions > 1, "{}", plan.stdout);
    // …and with it the output is in file order.
    run_ok(d, &job("settings: {preserve_order: true}\n"));
    // Read as plain lines: a reader of our own could reorder what it reads in parallel.
    let text = std::fs::read_to_string(d.join("out.csv")).expect("out.csv");
    let got: Vec<u64> = text
        .lines()
        .skip(1)
        .map(|l| l.parse().expect("an id"))
        .collect();
    let want: Vec<u64> = ids.into_iter().filter(|id| id % 3 != 0).collect();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "rows out of order");
}

// ------------------------------------------------------------------ JSON

const NDJSON: &str = r#"{"id":1,"name":"a","tags":["x","y"],"addr":{"city":"Paris","zip":"75001"}}
{"id":2,"name":"b","tags":[],"addr":{"city":"Oslo","zip":null}}
{"id":3,"name":null,"tags":["z"],"addr":null}
"#;

/// JSON values with null members removed (writers may omit them).
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn read_ndjson(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("json output")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            strip_nulls(
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")),
            )
        })
        .collect()
}

fn nested_expected() -> Vec<Value> {
    [
        json!({"id":1,"name":"a","tags":["x","y"],"addr":{"city":"Paris","zip":"75001"},"city":"Paris","ntags":2}),
        json!({"id":2,"name":"b","tags":[],"addr":{"city":"Oslo"},"city":"Oslo","ntags":0}),
        json!({"id":3,"tags":["z"],"ntags":1}),
    ]
    .into_iter()
    .map(strip_nulls)
    .collect()
}

const NESTED_QUERY: &str = "SELECT id, name, tags, addr, addr['city'] AS city, cardinality(tags) AS ntags FROM input ORDER BY id";

fn nested_job(d: &Path, input: &str) {
    let job = format!(
        "input: {{type: json, path: {input}}}\npipeline:\n  processors:\n    - type: sql\n      query: \"{NESTED_QUERY}\"\noutput: {{type: json, path: out/{input}.out.json}}\n"
    );
    run_ok(d, &job);
    assert_eq!(
        read_ndjson(&d.join(format!("out/{input}.out.json"))),
        nested_expected(),
        "{input}"
    );
}

fn ndjson_values() -> Vec<Value> {
    NDJSON
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

#[test]
fn json_ndjson_input_with_nested_values() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "events.ndjson", NDJSON);
    nested_job(d, "events.ndjson");
    // The nested columns as preview shows them.
    let job = write_file(
        d,
        "preview.yaml",
        "input: {type: json, path: events.ndjson}\npipeline:\n  processors:\n    - {type: sql, query: 'SELECT * FROM input ORDER BY id'}\noutput: {type: json, path: never.json}\n",
    );
    let out = fust(
        d,
        &["preview", job.to_str().expect("utf-8"), "--limit", "5"],
        &[],
    );
    out.success();
    for want in [
        "[x, y]",
        "{city: Paris, zip: 75001}",
        "{city: Oslo, zip: }",
        "[z]",
    ] {
        assert!(
            out.stdout.contains(want),
            "preview lacks {want:?}:\n{}",
            out.stdout
        );
    }
    assert!(!d.join("never.json").exists(), "preview wrote the output");
}

#[test]
fn json_array_input_on_one_line() {
    let dir = tempdir();
    let d = dir.path();
    write_file(
        d,
        "events.json",
        serde_json::to_string(&ndjson_values()).expect("json"),
    );
    nested_job(d, "events.json");
}

#[test]
fn json_array_input_pretty_printed() {
    // An array with one object over several lines, as most tools write it.
    let dir = tempdir();
    let d = dir.path();
    write_file(
        d,
        "events.json",
        serde_json::to_string_pretty(&ndjson_values()).expect("json"),
    );
    nested_job(d, "events.json");
}

#[test]
fn json_output_ndjson_and_array() {
    let dir = tempdir();
    let d = dir.path();
    write_file(
        d,
        "in.csv",
        "id,name,ok,score\n1,ada,true,1.5\n2,\"o\"\"neil\",false,\n",
    );
    run_ok(
        d,
        "input: {type: csv, path: in.csv}\nsettings: {preserve_order: true}\noutput: {type: json, path: out.ndjson}\n",
    );
    let want = vec![
        json!({"id":1,"name":"ada","ok":true,"score":1.5}),
        strip_nulls(json!({"id":2,"name":"o\"neil","ok":false,"score":null})),
    ];
    assert_eq!(read_ndjson(&d.join("out.ndjson")), want);
    run_ok(
        d,
        "input: {type: csv, path: in.csv}\nsettings: {preserve_order: true}\noutput: {type: json, path: out.json, format: array}\n",
    );
    let text = std::fs::read_to_string(d.join("out.json")).expect("out.json");
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not one JSON array ({e}):\n{text}"));
    assert_eq!(strip_nulls(v), Value::Array(want));
    // And it reads back through DataFusion as NDJSON too.
    assert_eq!(
        read_rows(&d.join("out.ndjson")),
        rows(&[
            &["1", "ada", "true", "1.5"],
            &["2", "o\"neil", "false", "NULL"]
        ])
    );
}

// ------------------------------------------------------------------ CSV writer options

const TWO_ROWS: &str = "id,name\n1,a\n2,b\n";

#[test]
fn csv_writer_header_and_delimiter() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "in.csv", "id,name,note\n1,a,\n2,\"b|c\",x\n");
    run_ok(
        d,
        "input: {type: csv, path: in.csv}\nsettings: {preserve_order: true}\noutput: {type: csv, path: out.txt, write_header: false, delimiter: '|', null_value: 'NULL'}\n",
    );
    assert_eq!(
        std::fs::read_to_string(d.join("out.txt")).expect("out"),
        "1|a|NULL\n2|\"b|c\"|x\n"
    );
}

fn append_twice(output_options: &str) {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "in.csv", TWO_ROWS);
    let job = format!(
        "input: {{type: csv, path: in.csv}}\nsettings: {{preserve_order: true}}\noutput: {{type: csv, path: out/all.csv, {output_options}}}\n"
    );
    run_ok(d, &job);
    assert_eq!(
        std::fs::read_to_string(d.join("out/all.csv")).expect("out"),
        TWO_ROWS,
        "{output_options}"
    );
    run_ok(d, &job);
    assert_eq!(
        std::fs::read_to_string(d.join("out/all.csv")).expect("out"),
        "id,name\n1,a\n2,b\n1,a\n2,b\n",
        "{output_options}: rows doubled, header once"
    );
}

#[test]
fn csv_append_mode_twice() {
    append_twice("mode: append");
}

#[test]
fn csv_fustgo_append_true() {
    append_twice("append: true");
}

#[test]
fn csv_error_if_exists_keeps_the_file() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "in.csv", TWO_ROWS);
    write_file(d, "out/exists.csv", "keep me\n");
    let job = write_job(
        d,
        "input: {type: csv, path: in.csv}\noutput: {type: csv, path: out/exists.csv, mode: error_if_exists}\n",
    );
    let out = run_job(d, &job, &[]);
    out.failure();
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert!(out.stderr.contains("out/exists.csv"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(d.join("out/exists.csv")).expect("file"),
        "keep me\n"
    );
    assert_no_temp_files(d);
    // Without the file, the same job writes it.
    std::fs::remove_file(d.join("out/exists.csv")).expect("rm");
    run_job(d, &job, &[]).success();
    assert_eq!(
        read_rows(&d.join("out/exists.csv")),
        rows(&[&["1", "a"], &["2", "b"]])
    );
}

#[test]
fn csv_overwrite_replaces() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "in.csv", TWO_ROWS);
    write_file(d, "out.csv", "old,stuff\n9,z\n9,z\n9,z\n");
    run_ok(
        d,
        "input: {type: csv, path: in.csv}\noutput: {type: csv, path: out.csv}\n",
    );
    assert_eq!(
        read_rows(&d.join("out.csv")),
        rows(&[&["1", "a"], &["2", "b"]])
    );
}

// ------------------------------------------------------------------ Parquet writer

fn parquet_meta(path: &Path) -> (Vec<Compression>, Vec<i64>, Option<String>) {
    let file = std::fs::File::open(path).expect("open parquet");
    let reader = SerializedFileReader::new(file).expect("parquet reader");
    let meta = reader.metadata();
    let mut codecs = Vec::new();
    let mut counts = Vec::new();
    for rg in meta.row_groups() {
        counts.push(rg.num_rows());
        codecs.extend(rg.columns().iter().map(|c| c.compression()));
    }
    (
        codecs,
        counts,
        meta.file_metadata().created_by().map(str::to_string),
    )
}

#[test]
fn parquet_compression_and_row_groups() {
    let dir = tempdir();
    let d = dir.path();
    let mut csv = String::from("id,text\n");
    for i in 1..=10 {
        csv.push_str(&format!(
            "{i},row number {i} with some repeated text text text\n"
        ));
    }
    write_file(d, "in.csv", &csv);
    run_ok(
        d,
        "input: {type: csv, path: in.csv}\noutput: {type: parquet, path: snappy.parquet, compression: snappy, row_group_size: 3}\n",
    );
    run_ok(
        d,
        "input: {type: csv, path: in.csv}\noutput: {type: parquet, path: zstd.parquet}\n",
    );
    run_ok(
        d,
        "input: {type: csv, path: in.csv}\noutput: {type: parquet, path: none.parquet, compression: none}\n",
    );

    let (codecs, counts, created_by) = parquet_meta(&d.join("snappy.parquet"));
    assert!(
        codecs.iter().all(|c| *c == Compression::SNAPPY),
        "{codecs:?}"
    );
    assert_eq!(counts, [3, 3, 3, 1], "row_group_size: 3");
    assert!(
        created_by.as_deref().is_some_and(|c| c.starts_with("fust")),
        "created_by {created_by:?}"
    );

    let (codecs, counts, _) = parquet_meta(&d.join("zstd.parquet"));
    assert!(
        !codecs.is_empty() && codecs.iter().all(|c| matches!(c, Compression::ZSTD(_))),
        "default zstd: {codecs:?}"
    );
    assert_eq!(counts, [10]);

    let (codecs, _, _) = parquet_meta(&d.join("none.parquet"));
    assert!(
        codecs.iter().all(|c| *c == Compression::UNCOMPRESSED),
        "{codecs:?}"
    );

    for f in ["snappy.parquet", "zstd.parquet", "none.parquet"] {
        let got = read_rows(&d.join(f));
        assert_eq!(got.len(), 10, "{f}");
        assert!(
            got.iter()
                .any(|r| r[0] == "7" && r[1] == "row number 7 with some repeated text text text")
        );
    }
}

// ------------------------------------------------------------------ listing inputs

#[test]
fn directory_and_glob_inputs() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "parts/a.csv", "id,v\n1,x\n2,y\n");
    write_file(d, "parts/b.csv", "id,v\n3,z\n");
    write_file(
        d,
        "parts/notes.txt",
        "this is not csv, and it has, other, fields\n",
    );
    write_file(d, "other/c.csv", "id,v\n4,w\n");
    let want = rows(&[&["1", "x"], &["2", "y"], &["3", "z"]]);
    for (path, name) in [
        ("parts/", "dir_slash"),
        ("parts", "dir"),
        ("parts/*.csv", "glob"),
        ("'parts/[ab].csv'", "glob_class"),
    ] {
        run_ok(
            d,
            &format!(
                "input: {{type: csv, path: {path}}}\noutput: {{type: csv, path: out/{name}.csv}}\n"
            ),
        );
        assert_eq!(
            read_rows(&d.join(format!("out/{name}.csv"))),
            want,
            "input path {path}"
        );
    }
    // A glob that matches nothing is an error naming it.
    let job = write_job(
        d,
        "input: {type: csv, path: 'nothing/*.csv'}\noutput: {type: csv, path: out/none.csv}\n",
    );
    let out = run_job(d, &job, &[]);
    out.failure();
    assert!(out.stderr.contains("nothing/*.csv"), "{}", out.stderr);
    assert!(!d.join("out/none.csv").exists());
}

#[test]
fn file_urls_for_input_and_output() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "in/a.csv", "id,v\n1,x\n2,y\n");
    let input = format!("file://{}", d.join("in/a.csv").display());
    let output = format!("file://{}", d.join("out/a.parquet").display());
    run_ok(
        d,
        &format!(
            "input: {{type: csv, path: '{input}'}}\noutput: {{type: parquet, path: '{output}'}}\n"
        ),
    );
    assert_eq!(
        read_rows(&d.join("out/a.parquet")),
        rows(&[&["1", "x"], &["2", "y"]])
    );
}

// ------------------------------------------------------------------ console, preview, explain

#[test]
fn console_sink_prints_the_rows() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "in.csv", "id,name\n1,ada\n2,grace\n3,alan\n");
    let out = run_ok(
        d,
        "input: {type: csv, path: in.csv}\npipeline:\n  processors:\n    - {type: sql, query: 'SELECT * FROM input ORDER BY id'}\noutput: {type: console}\n",
    );
    let table: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 4, "header + 3 rows:\n{}", out.stdout);
    for (line, want) in
        table
            .iter()
            .zip([["id", "name"], ["1", "ada"], ["2", "grace"], ["3", "alan"]])
    {
        let cells: Vec<&str> = line
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(cells, want, "{}", out.stdout);
    }
    assert!(out.stdout.contains("3 rows"), "{}", out.stdout);

    let out = run_ok(
        d,
        "input: {type: csv, path: in.csv}\noutput: {type: console, limit: 2}\n",
    );
    let table: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 3, "header + 2 rows:\n{}", out.stdout);
    assert!(out.stdout.contains("1 more not shown"), "{}", out.stdout);
}

#[test]
fn preview_prints_n_rows_and_writes_nothing() {
    let dir = tempdir();
    let d = dir.path();
    let mut csv = String::from("id,sq\n");
    for i in 1..=50 {
        csv.push_str(&format!("{i},{}\n", i * i));
    }
    write_file(d, "in.csv", &csv);
    let job = write_job(
        d,
        "input: {type: csv, path: in.csv}\npipeline:\n  processors:\n    - {type: sql, query: 'SELECT * FROM input ORDER BY id DESC'}\noutput: {type: csv, path: out/result.csv}\n",
    );
    let out = fust(
        d,
        &["preview", job.to_str().expect("utf-8"), "--limit", "3"],
        &[],
    );
    out.success();
    let data: Vec<Vec<String>> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with('|'))
        .skip(1)
        .map(|l| {
            l.split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect();
    assert_eq!(
        data,
        rows(&[&["50", "2500"], &["49", "2401"], &["48", "2304"]]),
        "{}",
        out.stdout
    );
    assert!(
        !d.join("out").exists(),
        "preview created {:?}",
        list_files(d)
    );
}

#[test]
fn explain_shows_pushdown_into_parquet_scan() {
    let dir = tempdir();
    let d = dir.path();
    let parquet = repo_root().join("examples/data/orders.parquet");
    let job = write_job(
        d,
        &format!(
            "input: {{type: parquet, path: '{}'}}\npipeline:\n  processors:\n    - {{type: filter, condition: 'amount > 100'}}\n    - {{type: sql, query: 'SELECT order_id FROM input'}}\noutput: {{type: csv, path: out.csv}}\n",
            parquet.display()
        ),
    );
    let out = fust(d, &["explain", job.to_str().expect("utf-8")], &[]);
    out.success();
    let text = &out.stdout;
    assert!(text.contains("logical_plan"), "{text}");
    let physical = text
        .split_once("physical_plan")
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("no physical plan:\n{text}"));
    let scan = physical
        .lines()
        .find(|l| l.contains("DataSourceExec"))
        .unwrap_or_else(|| panic!("no DataSourceExec:\n{text}"));
    assert!(
        scan.contains("predicate=") && scan.contains("amount@") && scan.contains("> 100"),
        "predicate not pushed into the scan: {scan}"
    );
    assert!(
        scan.contains("projection=[order_id, amount]"),
        "projection should list only the needed columns: {scan}"
    );
    assert!(!d.join("out.csv").exists(), "explain wrote the output");
}

/// A run writing a file first removes the temporary files that killed runs (`kill -9`)
/// left for that same file; a temp of a live process (a run in progress) stays.
#[test]
fn temp_files_of_killed_runs_are_swept() {
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "in.csv", "id\n1\n2\n");
    // No process has this pid (above Linux's pid_max), and this test process is alive.
    let dead = write_file(d, "out/.x.csv.fust-4294967294-0-1.tmp", "half a file");
    let live = write_file(
        d,
        &format!("out/.x.csv.fust-{}-0-1.tmp", std::process::id()),
        "in progress",
    );
    let other = write_file(d, "out/.y.csv.fust-4294967294-0-1.tmp", "another output's");
    let job = write_job(
        d,
        "input: {type: csv, path: in.csv}\noutput: {type: csv, path: out/x.csv}\n",
    );
    run_job(d, &job, &[]).success();
    assert!(!dead.exists(), "the killed run's temp file is still there");
    assert!(live.exists(), "a live process's temp file was removed");
    assert!(other.exists(), "another output's temp file was removed");
    assert_eq!(read_rows(&d.join("out/x.csv")), rows(&[&["1"], &["2"]]));
}
