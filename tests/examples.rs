//! The bundled examples run and produce what their data says they should: every expected
//! value is computed here from `examples/data/*.csv` in plain Rust.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use datafusion::arrow::datatypes::DataType;

#[derive(Debug, Clone)]
struct Order {
    order_id: i64,
    cust_id: i64,
    amount: f64,
    status: String,
    order_date: String,
}

fn orders() -> Vec<Order> {
    let text =
        std::fs::read_to_string(repo_root().join("examples/data/orders.csv")).expect("orders.csv");
    let rows = parse_csv(&text);
    assert_eq!(
        rows[0],
        ["order_id", "cust_id", "amount", "status", "order_date"]
    );
    rows[1..]
        .iter()
        .map(|r| Order {
            order_id: r[0].parse().expect("order_id"),
            cust_id: r[1].parse().expect("cust_id"),
            amount: r[2].parse().expect("amount"),
            status: r[3].clone(),
            order_date: r[4].clone(),
        })
        .collect()
}

/// customer_id → (name, country)
fn customers() -> BTreeMap<i64, (String, String)> {
    let text = std::fs::read_to_string(repo_root().join("examples/data/customers.csv"))
        .expect("customers.csv");
    let rows = parse_csv(&text);
    assert_eq!(rows[0], ["customer_id", "name", "country"]);
    rows[1..]
        .iter()
        .map(|r| {
            (
                r[0].parse().expect("customer_id"),
                (r[1].clone(), r[2].clone()),
            )
        })
        .collect()
}

fn run_example(name: &str, out: &Path) -> Out {
    let out_dir = out.to_str().expect("utf-8");
    let res = fust(
        &repo_root(),
        &["run", &format!("examples/{name}.yaml")],
        &[("OUT_DIR", out_dir)],
    );
    res.success();
    res
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn assert_close(actual: &str, expected: f64, what: &str) {
    let a: f64 = actual
        .parse()
        .unwrap_or_else(|_| panic!("{what}: `{actual}` is not a number"));
    assert!(
        (a - expected).abs() < 1e-6,
        "{what}: got {a}, expected {expected}"
    );
}

#[test]
fn csv_to_parquet() {
    let dir = tempdir();
    let res = run_example("csv_to_parquet", dir.path());
    let out = dir.path().join("paid_orders.parquet");
    assert!(
        out.is_file(),
        "no output; files: {:?}",
        list_files(dir.path())
    );
    assert_no_temp_files(dir.path());

    // The one-line summary on stderr.
    let all = orders();
    let expected: Vec<&Order> = all
        .iter()
        .filter(|o| o.status == "paid" && o.amount > 100.0)
        .collect();
    assert!(!expected.is_empty());
    let summary = res
        .stderr
        .lines()
        .find(|l| l.starts_with("paid_orders:"))
        .unwrap_or_else(|| panic!("no summary line: {}", res.stderr));
    assert!(
        summary.contains(&format!("{} rows in", all.len()))
            && summary.contains(&format!("{} rows out", expected.len())),
        "summary: {summary}"
    );
    assert!(
        summary.contains("paid_orders.parquet"),
        "summary names the target: {summary}"
    );

    let (schema, batches) = read_batches(&out);
    let cols: Vec<(&str, &DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    assert_eq!(
        cols,
        vec![
            ("order_id", &DataType::Int64),
            ("customer_id", &DataType::Int64),
            ("amount", &DataType::Float64),
            ("order_date", &DataType::Date32),
            ("amount_cents", &DataType::Int64),
        ],
        "renamed cust_id, computed amount_cents, dropped status"
    );
    let mut actual = batches_to_rows(&batches);
    actual.sort_by_key(|r| r[0].parse::<i64>().expect("order_id"));
    let want: Vec<Vec<String>> = expected
        .iter()
        .map(|o| {
            vec![
                o.order_id.to_string(),
                o.cust_id.to_string(),
                format!("{:?}", o.amount),
                o.order_date.clone(),
                ((o.amount * 100.0) as i64).to_string(),
            ]
        })
        .collect();
    assert_eq!(actual, want);
}

#[test]
fn parquet_to_csv_aggregate() {
    let dir = tempdir();
    run_example("parquet_to_csv_aggregate", dir.path());
    let out = dir.path().join("monthly_revenue.csv");
    assert_no_temp_files(dir.path());
    let text = std::fs::read_to_string(&out).expect("monthly_revenue.csv");

    // (cust_id, "YYYY-MM-01") → (revenue, orders), refunded orders excluded.
    let mut groups: BTreeMap<(i64, String), (f64, i64)> = BTreeMap::new();
    for o in orders().iter().filter(|o| o.status != "refunded") {
        let month = format!("{}-01", &o.order_date[..7]);
        let g = groups.entry((o.cust_id, month)).or_insert((0.0, 0));
        g.0 += o.amount;
        g.1 += 1;
    }
    let lines = parse_csv(&text);
    assert_eq!(lines[0], ["cust_id", "month", "revenue", "orders"]);
    let body = &lines[1..];
    assert_eq!(
        body.len(),
        groups.len(),
        "one row per customer and month:\n{text}"
    );
    // The query orders by cust_id, month: BTreeMap order is the same.
    for (row, ((cust, month), (revenue, n))) in body.iter().zip(&groups) {
        assert_eq!(row[0], cust.to_string(), "{text}");
        assert_eq!(&row[1], month, "{text}");
        assert_close(
            &row[2],
            round2(*revenue),
            &format!("revenue of {cust} in {month}"),
        );
        assert_eq!(row[3], n.to_string(), "orders of {cust} in {month}");
    }
}

#[test]
fn join_customers() {
    let dir = tempdir();
    run_example("join_customers", dir.path());
    let out = dir.path().join("customer_totals.csv");
    assert_no_temp_files(dir.path());
    let text = std::fs::read_to_string(&out).expect("customer_totals.csv");

    let custs = customers();
    let mut totals: BTreeMap<i64, (i64, f64)> = BTreeMap::new();
    for o in orders()
        .iter()
        .filter(|o| o.status == "paid" && custs.contains_key(&o.cust_id))
    {
        let t = totals.entry(o.cust_id).or_insert((0, 0.0));
        t.0 += 1;
        t.1 += o.amount;
    }
    let mut want: Vec<(String, String, i64, f64)> = totals
        .iter()
        .map(|(id, (n, paid))| (custs[id].0.clone(), custs[id].1.clone(), *n, round2(*paid)))
        .collect();
    want.sort_by(|a, b| b.3.total_cmp(&a.3));

    let lines = parse_csv(&text);
    assert_eq!(lines[0], ["name", "country", "orders", "paid"]);
    let body = &lines[1..];
    assert_eq!(
        body.len(),
        want.len(),
        "one row per customer with paid orders:\n{text}"
    );
    for (row, (name, country, n, paid)) in body.iter().zip(&want) {
        assert_eq!(
            (&row[0], &row[1]),
            (name, country),
            "ORDER BY paid DESC:\n{text}"
        );
        assert_eq!(row[2], n.to_string(), "orders of {name}");
        assert_close(&row[3], *paid, &format!("paid total of {name}"));
    }
}

#[test]
fn biggest_order_per_customer() {
    let dir = tempdir();
    run_example("biggest_order_per_customer", dir.path());
    let out = dir.path().join("biggest_orders.csv");
    assert_no_temp_files(dir.path());
    let text = std::fs::read_to_string(&out).expect("biggest_orders.csv");

    let custs = customers();
    let mut biggest: BTreeMap<i64, &Order> = BTreeMap::new();
    let all = orders();
    for o in &all {
        let best = biggest.entry(o.cust_id).or_insert(o);
        if o.amount > best.amount {
            *best = o;
        }
    }
    let mask = |name: &str| {
        let chars: Vec<char> = name.chars().collect();
        let keep = chars.len().min(4);
        "*".repeat(chars.len() - keep) + &chars[chars.len() - keep..].iter().collect::<String>()
    };
    let lines = parse_csv(&text);
    assert_eq!(
        lines[0],
        ["cust_id", "order_id", "amount", "month", "name", "country"]
    );
    let want: Vec<Vec<String>> = biggest
        .values()
        .map(|o| {
            let (name, country) = custs.get(&o.cust_id).cloned().unwrap_or_default();
            vec![
                o.cust_id.to_string(),
                o.order_id.to_string(),
                format!("{:?}", o.amount),
                o.order_date[..7].to_string(),
                mask(&name),
                if country.is_empty() {
                    "??".into()
                } else {
                    country
                },
            ]
        })
        .collect();
    assert_eq!(lines[1..].to_vec(), want, "{text}");
}
