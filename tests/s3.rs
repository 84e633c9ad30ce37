//! Object storage against a real S3 API (moto_server): write Parquet to S3, read it back
//! with another job, and read a glob of CSV files from a bucket. The tests fail (never
//! skip) when moto_server is missing.

mod common;

use common::*;

const ORDERS: &str = "\
id,customer,amount,note
1,ada,12.5,\"first, of many\"
2,grace,-3,
3,alan,1000000.25,\"quote \"\"q\"\"\"
4,ada,0,ünïcode
";

#[test]
fn csv_to_parquet_on_s3_and_back_to_csv() {
    let moto = Moto::start("fust-bucket");
    let env = moto.env();
    let env = env_refs(&env);
    let dir = tempdir();
    let d = dir.path();
    write_file(d, "orders.csv", ORDERS);

    let up = write_file(
        d,
        "up.yaml",
        "name: upload\ninput: {type: csv, path: orders.csv}\noutput: {type: parquet, path: 's3://fust-bucket/warehouse/orders.parquet'}\n",
    );
    let out = run_job(d, &up, &env);
    out.success();
    assert!(
        out.stderr
            .contains("s3://fust-bucket/warehouse/orders.parquet"),
        "summary names the target: {}",
        out.stderr
    );
    assert_eq!(moto.keys(), ["warehouse/orders.parquet"]);

    let down = write_file(
        d,
        "down.yaml",
        "name: download\ninput: {type: parquet, path: 's3://fust-bucket/warehouse/orders.parquet'}\noutput: {type: csv, path: back/orders.csv}\n",
    );
    run_job(d, &down, &env).success();
    assert_no_temp_files(d);
    let back = d.join("back/orders.csv");
    assert_eq!(read_rows(&back), read_rows(&d.join("orders.csv")));
    assert_eq!(read_columns(&back), ["id", "customer", "amount", "note"]);
    assert_eq!(
        read_rows(&back),
        sorted(rows(&[
            &["1", "ada", "12.5", "first, of many"],
            &["2", "grace", "-3.0", "NULL"],
            &["3", "alan", "1000000.25", "quote \"q\""],
            &["4", "ada", "0.0", "ünïcode"],
        ]))
    );

    // Storage options in the job file instead of the environment.
    let explicit = format!(
        "input: {{type: parquet, path: 's3://fust-bucket/warehouse/orders.parquet', storage: {{endpoint: '{}', region: us-east-1, access_key_id: testing, secret_access_key: testing, allow_http: true}}}}\noutput: {{type: csv, path: explicit.csv}}\n",
        moto.endpoint()
    );
    let job = write_file(d, "explicit.yaml", explicit);
    run_job(d, &job, &[]).success();
    assert_eq!(
        read_rows(&d.join("explicit.csv")),
        read_rows(&d.join("orders.csv"))
    );
}

#[test]
fn glob_over_s3_csv_files() {
    let moto = Moto::start("globs");
    let env = moto.env();
    let env = env_refs(&env);
    moto.put("dir/a.csv", b"id,v\n1,x\n2,y\n");
    moto.put("dir/b.csv", b"id,v\n3,z\n");
    moto.put("dir/skip.txt", b"not,a,csv,file\n");
    moto.put("dir/sub/c.csv", b"id,v\n4,w\n");
    moto.put("other/d.csv", b"id,v\n5,q\n");
    let dir = tempdir();
    let d = dir.path();
    let job = write_job(
        d,
        "input: {type: csv, path: 's3://globs/dir/*.csv'}\noutput: {type: csv, path: out.csv}\n",
    );
    let out = run_job(d, &job, &env);
    out.success();
    assert_eq!(
        read_rows(&d.join("out.csv")),
        rows(&[&["1", "x"], &["2", "y"], &["3", "z"]])
    );

    // A prefix ("directory") reads every .csv under it.
    let job = write_job(
        d,
        "input: {type: csv, path: 's3://globs/other/'}\noutput: {type: csv, path: out2.csv}\n",
    );
    run_job(d, &job, &env).success();
    assert_eq!(read_rows(&d.join("out2.csv")), rows(&[&["5", "q"]]));

    // A missing object is an error naming it, and nothing is written.
    let job = write_job(
        d,
        "input: {type: csv, path: 's3://globs/missing.csv'}\noutput: {type: csv, path: out3.csv}\n",
    );
    let out = run_job(d, &job, &env);
    out.failure();
    assert!(out.stderr.contains("missing.csv"), "{}", out.stderr);
    assert!(!d.join("out3.csv").exists());
    assert_no_temp_files(d);
}
