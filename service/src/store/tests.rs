//! Every backend against a real server: PostgreSQL on 127.0.0.1:5432 (user postgres)
//! and MariaDB on 127.0.0.1:3306 (root), each test in a database of its own that is
//! dropped afterwards, and SQLite in a temporary directory. The server tests fail,
//! never skip, when a server is unreachable.

use std::collections::BTreeSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use futures::future::join_all;
use sqlx::Connection;

use super::migrations::MIGRATIONS;
use super::*;

/// The server part of `FUST_TEST_PG_URL` / `FUST_TEST_MYSQL_URL` (the database is
/// dropped: each test makes its own), or the local server `scripts/services` starts.
fn test_server(var: &str, default: &str) -> String {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => {
            let authority = url.find("://").map_or(0, |i| i + 3);
            match url[authority..].find('/') {
                Some(slash) => url[..authority + slash].to_string(),
                None => url,
            }
        }
        _ => default.to_string(),
    }
}

/// Runs `sql` on the server through a plain connection (no migrations).
async fn admin(url: &str, sql: String) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap_or_else(|e| {
        panic!("these tests need the database server at {url} (fails, never skips): {e}")
    });
    sqlx::raw_sql(AssertSqlSafe(sql.clone()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
}

/// Creates a fresh database on the server, runs `body` with its URL and drops it,
/// also when `body` panics.
async fn with_scratch_db<F, Fut>(server: &str, admin_db: &str, body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let name = format!("fust_meta_{}", uuid::Uuid::new_v4().simple());
    let admin_url = format!("{server}/{admin_db}");
    admin(&admin_url, format!("CREATE DATABASE {name}")).await;
    let outcome = AssertUnwindSafe(body(format!("{server}/{name}")))
        .catch_unwind()
        .await;
    let drop_sql = if server.starts_with("postgres") {
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    } else {
        format!("DROP DATABASE IF EXISTS {name}")
    };
    admin(&admin_url, drop_sql).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn new_run(job: &str, version: i64) -> NewRun {
    NewRun {
        job: job.into(),
        job_version: version,
        trigger: "manual".into(),
        attempt: 1,
        scheduled_for: None,
    }
}

fn assert_illegal(result: StoreResult<RunRecord>, want_from: RunState, want_to: RunState) {
    match result {
        Err(StoreError::IllegalTransition { from, to, .. }) => {
            assert_eq!((from, to), (want_from, want_to));
        }
        other => panic!("expected IllegalTransition {want_from}→{want_to}, got {other:?}"),
    }
}

/// The same assertions for every backend.
async fn exercise(url: &str, backend: Backend) {
    // Migrations: a second connect is a no-op.
    let store = Store::connect(url).await.unwrap();
    assert_eq!(store.backend(), backend);
    let again = Store::connect(url).await.unwrap();
    let latest = i64::try_from(MIGRATIONS.len()).unwrap();
    assert_eq!(again.schema_version().await.unwrap(), latest);
    assert_eq!(store.schema_version().await.unwrap(), latest);
    again.pool.close().await;
    assert!(!format!("{store:?}").contains("127.0.0.1"));

    exercise_jobs(&store).await;
    exercise_runs(&store).await;
    exercise_logs(&store).await;
    exercise_state(&store).await;
    store.pool.close().await;
}

async fn exercise_jobs(store: &Store) {
    let created = store.create_job("orders", "a: 1").await.unwrap();
    assert_eq!((created.version, created.definition.as_str()), (1, "a: 1"));
    assert_eq!(created.created_at, created.updated_at);
    match store.create_job("orders", "other").await {
        Err(StoreError::Conflict { what, name }) => {
            assert_eq!((what, name.as_str()), ("job", "orders"))
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    // Identical definition: no new version.
    let (same, was_created) = store.put_job("orders", "a: 1").await.unwrap();
    assert_eq!((same.clone(), was_created), (created.clone(), false));
    let (v2, was_created) = store.put_job("orders", "a: 2").await.unwrap();
    assert!(!was_created);
    assert_eq!((v2.version, v2.definition.as_str()), (2, "a: 2"));
    assert_eq!(v2.created_at, created.created_at);
    assert!(v2.updated_at >= created.updated_at);
    let (users, was_created) = store.put_job("users", "u").await.unwrap();
    assert!(was_created);
    assert_eq!(users.version, 1);
    // Keys are case-sensitive on every backend (binary collation on MySQL).
    store.create_job("Orders", "capital").await.unwrap();

    assert_eq!(store.get_job("orders").await.unwrap(), Some(v2.clone()));
    assert_eq!(store.get_job("nope").await.unwrap(), None);
    let names: Vec<String> = store
        .list_jobs()
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.name)
        .collect();
    assert_eq!(names, ["Orders", "orders", "users"]);
    let versions = store.job_versions("orders").await.unwrap();
    let defs: Vec<(i64, &str)> = versions
        .iter()
        .map(|v| (v.version, v.definition.as_str()))
        .collect();
    assert_eq!(defs, [(1, "a: 1"), (2, "a: 2")]);
    assert_eq!(versions[1].created_at, v2.updated_at);
    assert_eq!(
        store
            .job_version("orders", 1)
            .await
            .unwrap()
            .unwrap()
            .definition,
        "a: 1"
    );
    assert_eq!(store.job_version("orders", 9).await.unwrap(), None);

    // Deleting keeps the versions; re-creating continues their numbering.
    assert!(store.delete_job("orders").await.unwrap());
    assert!(!store.delete_job("orders").await.unwrap());
    assert_eq!(store.get_job("orders").await.unwrap(), None);
    assert_eq!(store.job_versions("orders").await.unwrap().len(), 2);
    let recreated = store.create_job("orders", "a: 3").await.unwrap();
    assert_eq!(recreated.version, 3);
    store.delete_job("users").await.unwrap();
    let (users, was_created) = store.put_job("users", "u2").await.unwrap();
    assert_eq!((users.version, was_created), (2, true));
    assert_eq!(store.job_versions("orders").await.unwrap().len(), 3);

    // Concurrent put_job of different definitions: every one gets its own version.
    let defs: Vec<String> = (0..8).map(|i| format!("d{i}")).collect();
    let puts = join_all(defs.iter().map(|d| store.put_job("race", d))).await;
    let mut got: Vec<i64> = puts.into_iter().map(|r| r.unwrap().0.version).collect();
    got.sort_unstable();
    assert_eq!(got, (1..=8).collect::<Vec<_>>());
    assert_eq!(store.job_versions("race").await.unwrap().len(), 8);

    // Enabled by default; disabling adds no version, and a new version keeps the flag.
    assert!(store.get_job("race").await.unwrap().unwrap().enabled);
    let off = store.set_job_enabled("race", false).await.unwrap().unwrap();
    assert_eq!((off.enabled, off.version), (false, 8));
    // Unchanged rows (MySQL counts none) are still found.
    let again = store.set_job_enabled("race", false).await.unwrap().unwrap();
    assert!(!again.enabled);
    let (v9, _) = store.put_job("race", "d9").await.unwrap();
    assert_eq!((v9.enabled, v9.version), (false, 9));
    let listed = store.list_jobs().await.unwrap();
    assert!(!listed.iter().find(|j| j.name == "race").unwrap().enabled);
    assert!(
        listed
            .iter()
            .filter(|j| j.name != "race")
            .all(|j| j.enabled)
    );
    let on = store.set_job_enabled("race", true).await.unwrap().unwrap();
    assert!(on.enabled);
    assert_eq!(store.set_job_enabled("ghost", false).await.unwrap(), None);
    // A re-created job starts enabled.
    store.set_job_enabled("race", false).await.unwrap();
    store.delete_job("race").await.unwrap();
    assert!(store.create_job("race", "d10").await.unwrap().enabled);
}

async fn exercise_runs(store: &Store) {
    let r1 = store
        .create_run(NewRun {
            scheduled_for: Some(123),
            attempt: 2,
            ..new_run("orders", 3)
        })
        .await
        .unwrap();
    assert_eq!(r1.state, RunState::Pending);
    assert_eq!(store.get_run(&r1.id).await.unwrap().as_ref(), Some(&r1));
    assert_eq!(store.get_run("no-such-run").await.unwrap(), None);

    let started = store
        .transition(
            &r1.id,
            RunState::Pending,
            RunState::Running,
            RunUpdate {
                started_at: Some(1_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (started.state, started.started_at),
        (RunState::Running, Some(1_000))
    );
    assert_eq!(started.scheduled_for, Some(123));
    assert_eq!(started.attempt, 2);
    assert_illegal(
        store
            .transition(
                &r1.id,
                RunState::Running,
                RunState::Running,
                RunUpdate::default(),
            )
            .await,
        RunState::Running,
        RunState::Running,
    );
    store.update_progress(&r1.id, 10, 9, 100).await.unwrap();
    let progressed = store.get_run(&r1.id).await.unwrap().unwrap();
    assert_eq!(
        (
            progressed.rows_in,
            progressed.rows_out,
            progressed.bytes_out
        ),
        (10, 9, 100)
    );
    let done = store
        .transition(
            &r1.id,
            RunState::Running,
            RunState::Succeeded,
            RunUpdate {
                finished_at: Some(2_000),
                rows_in: Some(11),
                rows_out: Some(10),
                bytes_in: Some(500),
                bytes_out: Some(200),
                target: Some("dw.orders".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        done,
        RunRecord {
            state: RunState::Succeeded,
            started_at: Some(1_000),
            finished_at: Some(2_000),
            rows_in: 11,
            rows_out: 10,
            bytes_in: 500,
            bytes_out: 200,
            target: Some("dw.orders".into()),
            ..r1.clone()
        }
    );
    // Nothing leaves a terminal state; a stale `from` reports the actual state.
    assert_illegal(
        store
            .transition(
                &r1.id,
                RunState::Succeeded,
                RunState::Running,
                RunUpdate::default(),
            )
            .await,
        RunState::Succeeded,
        RunState::Running,
    );
    assert_illegal(
        store
            .transition(
                &r1.id,
                RunState::Running,
                RunState::Failed,
                RunUpdate::default(),
            )
            .await,
        RunState::Succeeded,
        RunState::Failed,
    );
    match store
        .transition(
            "no-such-run",
            RunState::Pending,
            RunState::Running,
            RunUpdate::default(),
        )
        .await
    {
        Err(StoreError::NotFound { what: "run", name }) => assert_eq!(name, "no-such-run"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    // Progress after the end is ignored; an unknown run is NotFound.
    store.update_progress(&r1.id, 99, 99, 99).await.unwrap();
    assert_eq!(store.get_run(&r1.id).await.unwrap().unwrap().rows_in, 11);
    assert!(matches!(
        store.update_progress("no-such-run", 1, 1, 1).await,
        Err(StoreError::NotFound { .. })
    ));

    // Two workers claim the same run at once: exactly one wins.
    let r2 = store.create_run(new_run("orders", 3)).await.unwrap();
    let (a, b) = tokio::join!(
        store.transition(
            &r2.id,
            RunState::Pending,
            RunState::Running,
            RunUpdate::default()
        ),
        store.transition(
            &r2.id,
            RunState::Pending,
            RunState::Running,
            RunUpdate::default()
        ),
    );
    let (won, lost) = if a.is_ok() { (a, b) } else { (b, a) };
    assert_eq!(won.unwrap().state, RunState::Running);
    assert_illegal(lost, RunState::Running, RunState::Running);

    let r3 = store.create_run(new_run("orders", 3)).await.unwrap();
    let cancelled = store
        .transition(
            &r3.id,
            RunState::Pending,
            RunState::Cancelled,
            RunUpdate {
                error: Some("by user".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (cancelled.state, cancelled.error.as_deref()),
        (RunState::Cancelled, Some("by user"))
    );
    let r4 = store.create_run(new_run("orders", 3)).await.unwrap();
    store
        .transition(
            &r4.id,
            RunState::Pending,
            RunState::Failed,
            RunUpdate {
                error: Some("no such table".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut interrupted = BTreeSet::from([r2.id.clone()]);
    for _ in 0..2 {
        let run = store.create_run(new_run("users", 2)).await.unwrap();
        store
            .transition(
                &run.id,
                RunState::Pending,
                RunState::Running,
                RunUpdate::default(),
            )
            .await
            .unwrap();
        interrupted.insert(run.id);
    }
    let r7 = store.create_run(new_run("users", 2)).await.unwrap();

    let failed: BTreeSet<String> = store
        .fail_interrupted("server restarted")
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(failed, interrupted);
    for id in &failed {
        let run = store.get_run(id).await.unwrap().unwrap();
        assert_eq!(
            (run.state, run.error.as_deref()),
            (RunState::Failed, Some("server restarted"))
        );
        assert!(run.finished_at.is_some());
    }
    assert!(store.fail_interrupted("again").await.unwrap().is_empty());

    let pending = store.runs_in_state(RunState::Pending).await.unwrap();
    assert_eq!(
        pending.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [r7.id.as_str()]
    );
    assert_eq!(
        store.count_by_state().await.unwrap(),
        [
            (RunState::Pending, 1),
            (RunState::Running, 0),
            (RunState::Succeeded, 1),
            (RunState::Failed, 4),
            (RunState::Cancelled, 1),
        ]
    );

    let all = store.list_runs(RunFilter::default()).await.unwrap();
    assert_eq!(all.len(), 7);
    assert!(
        all.windows(2)
            .all(|w| (w[0].created_at, &w[0].id) >= (w[1].created_at, &w[1].id))
    );
    let failed_orders = store
        .list_runs(RunFilter {
            job: Some("orders".into()),
            state: Some(RunState::Failed),
            limit: None,
        })
        .await
        .unwrap();
    let ids: BTreeSet<&str> = failed_orders.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, BTreeSet::from([r2.id.as_str(), r4.id.as_str()]));
    assert_eq!(
        store
            .list_runs(RunFilter {
                limit: Some(2),
                ..Default::default()
            })
            .await
            .unwrap(),
        all[..2]
    );
    assert_eq!(
        store
            .list_runs(RunFilter {
                job: Some("users".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        store.last_run("users").await.unwrap().unwrap().created_at,
        r7.created_at
    );
    let last_orders = store.last_run("orders").await.unwrap().unwrap();
    assert_eq!(
        last_orders.id,
        all.iter().find(|r| r.job == "orders").unwrap().id
    );
    assert_eq!(store.last_run("ghost").await.unwrap(), None);

    // The last run of every stored job in one query (jobs without runs are absent).
    let latest = store.latest_runs().await.unwrap();
    assert_eq!(latest["orders"].id, last_orders.id);
    for job in store.list_jobs().await.unwrap() {
        assert_eq!(
            latest.get(&job.name),
            store.last_run(&job.name).await.unwrap().as_ref(),
            "{}",
            job.name
        );
    }
    assert!(latest.keys().all(|k| k != "ghost"));

    // Counts since a time; runs that changed since a time.
    let all_time = store.count_by_state().await.unwrap();
    assert_eq!(store.count_by_state_since(0).await.unwrap(), all_time);
    let later = now_ms() + 3_600_000;
    let none = store.count_by_state_since(later).await.unwrap();
    assert!(none.iter().all(|(_, n)| *n == 0), "{none:?}");
    assert_eq!(none.len(), RunState::ALL.len());
    let active = store.runs_changed_since(later, 10_000).await.unwrap();
    let count = |s: RunState| all_time.iter().find(|(x, _)| *x == s).unwrap().1;
    assert_eq!(
        active.len() as i64,
        count(RunState::Pending) + count(RunState::Running)
    );
    assert!(active.iter().all(|r| !r.state.is_terminal()));
    assert!(
        active
            .windows(2)
            .all(|w| w[0].created_at <= w[1].created_at)
    );
    assert_eq!(
        store.runs_changed_since(later, 1).await.unwrap().len(),
        1.min(active.len())
    );
}

async fn exercise_logs(store: &Store) {
    let run = store.create_run(new_run("orders", 3)).await.unwrap();
    let seqs = join_all((0..50).map(|i| {
        let message = format!("line {i}");
        let run_id = run.id.clone();
        async move { store.append_log(&run_id, "info", &message).await }
    }))
    .await;
    let mut seqs: Vec<i64> = seqs.into_iter().map(Result::unwrap).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());

    let lines = store.logs(&run.id, 0, 1_000).await.unwrap();
    assert_eq!(
        lines.iter().map(|l| l.seq).collect::<Vec<_>>(),
        (1..=50).collect::<Vec<_>>()
    );
    let messages: BTreeSet<String> = lines.iter().map(|l| l.message.clone()).collect();
    assert_eq!(messages, (0..50).map(|i| format!("line {i}")).collect());
    assert!(
        lines
            .iter()
            .all(|l| l.run_id == run.id && l.level == "info" && l.at > 0)
    );
    let tail = store.logs(&run.id, 45, 10).await.unwrap();
    assert_eq!(
        tail.iter().map(|l| l.seq).collect::<Vec<_>>(),
        [46, 47, 48, 49, 50]
    );
    let head = store.logs(&run.id, 0, 3).await.unwrap();
    assert_eq!(head.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        store.append_log(&run.id, "warn", "after").await.unwrap(),
        51
    );
    assert!(matches!(
        store.append_log("no-such-run", "info", "x").await,
        Err(StoreError::NotFound { what: "run", .. })
    ));
    assert!(store.logs("no-such-run", 0, 10).await.unwrap().is_empty());
}

async fn exercise_state(store: &Store) {
    assert_eq!(store.get_state("orders", "cursor").await.unwrap(), None);
    store.put_state("orders", "cursor", "10").await.unwrap();
    store.put_state("orders", "cursor", "20").await.unwrap();
    store.put_state("orders", "other", "x").await.unwrap();
    store.put_state("users", "cursor", "u").await.unwrap();
    assert_eq!(
        store
            .get_state("orders", "cursor")
            .await
            .unwrap()
            .as_deref(),
        Some("20")
    );
    assert_eq!(
        store.get_state("orders", "other").await.unwrap().as_deref(),
        Some("x")
    );
    assert_eq!(
        store.get_state("users", "cursor").await.unwrap().as_deref(),
        Some("u")
    );
    let big = "é".repeat(100_000);
    store.put_state("orders", "big", &big).await.unwrap();
    assert_eq!(store.get_state("orders", "big").await.unwrap(), Some(big));

    assert_eq!(store.get_meta("scheduler.last_tick").await.unwrap(), None);
    store.put_meta("scheduler.last_tick", "1").await.unwrap();
    store.put_meta("scheduler.last_tick", "2").await.unwrap();
    assert_eq!(
        store
            .get_meta("scheduler.last_tick")
            .await
            .unwrap()
            .as_deref(),
        Some("2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("meta.db").display());
    exercise(&url, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store() {
    with_scratch_db(
        &test_server("FUST_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432"),
        "postgres",
        |url| async move {
            exercise(&url, Backend::Postgres).await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_store() {
    with_scratch_db(
        &test_server("FUST_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"),
        "test",
        |url| async move {
            // mariadb:// is accepted as another name for mysql://.
            exercise(&url.replacen("mysql://", "mariadb://", 1), Backend::Mysql).await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_creates_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A bare path is a SQLite database too.
    let store = Store::connect(dir.path().join("meta.sqlite").to_str().unwrap())
        .await
        .unwrap();
    let created =
        join_all((0..200).map(|i| store.create_run(new_run(&format!("job{}", i % 5), 1)))).await;
    let created: BTreeSet<String> = created.into_iter().map(|r| r.unwrap().id).collect();
    assert_eq!(created.len(), 200);
    let listed = store
        .list_runs(RunFilter {
            limit: Some(1_000),
            ..Default::default()
        })
        .await
        .unwrap();
    let listed: BTreeSet<String> = listed.into_iter().map(|r| r.id).collect();
    assert_eq!(listed, created);
    assert_eq!(
        store.count_by_state().await.unwrap()[0],
        (RunState::Pending, 200)
    );
}

#[tokio::test]
async fn sqlite_connection_settings() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    let mut conn = store.pool.acquire().await.unwrap();
    for (pragma, want) in [("journal_mode", "wal")] {
        let row = sqlx::query(AssertSqlSafe(format!("PRAGMA {pragma}")))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(row.try_get::<String, _>(0).unwrap(), want);
    }
    for (pragma, want) in [
        ("synchronous", 1_i64),
        ("busy_timeout", 10_000),
        ("foreign_keys", 1),
    ] {
        let row = sqlx::query(AssertSqlSafe(format!("PRAGMA {pragma}")))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(row.try_get::<i64, _>(0).unwrap(), want, "{pragma}");
    }
}

#[tokio::test]
async fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("new.db").display());
    let store = Store::connect(&url).await.unwrap();
    store
        .query("INSERT INTO fust_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
        .bind(999_i64)
        .bind("from the future")
        .bind(0_i64)
        .execute(&store.pool)
        .await
        .unwrap();
    store.pool.close().await;
    let err = Store::connect(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::Schema(_)), "{err}");
    assert!(
        err.to_string()
            .contains("schema version 999, newer than this fust binary knows (3)"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_data_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("bad.db").display()))
        .await
        .unwrap();
    let run = store.create_run(new_run("j", 1)).await.unwrap();
    store
        .query("UPDATE fust_runs SET state = 'exploded'")
        .execute(&store.pool)
        .await
        .unwrap();
    let err = store.get_run(&run.id).await.unwrap_err();
    assert!(
        err.to_string().contains("unknown run state `exploded`"),
        "{err}"
    );
    assert!(store.count_by_state().await.is_err());
}

#[tokio::test]
async fn connect_errors_hide_the_password() {
    let err = Store::connect("postgres://fust:s3cret@127.0.0.1:1/meta")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(
            "metadata store postgres: cannot connect to postgres://fust:***@127.0.0.1:1/meta"
        ),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
    assert!(err.retryable());
    let err = Store::connect("redis://localhost").await.unwrap_err();
    assert!(matches!(err, StoreError::Schema(_)), "{err}");
}

#[test]
fn urls() {
    let cases = [
        (
            "sqlite:///tmp/a.db",
            Backend::Sqlite,
            "sqlite:///tmp/a.db?mode=rwc",
        ),
        (
            "sqlite://a.db?mode=ro",
            Backend::Sqlite,
            "sqlite://a.db?mode=ro",
        ),
        (
            "sqlite://a.db?cache=shared",
            Backend::Sqlite,
            "sqlite://a.db?cache=shared&mode=rwc",
        ),
        (
            "/var/lib/fust/meta.db",
            Backend::Sqlite,
            "sqlite:/var/lib/fust/meta.db?mode=rwc",
        ),
        (
            "meta 1?.SQLite",
            Backend::Sqlite,
            "sqlite:meta 1%3F.SQLite?mode=rwc",
        ),
        (
            "postgresql://u@h/db",
            Backend::Postgres,
            "postgresql://u@h/db",
        ),
        ("POSTGRES://u@h/db", Backend::Postgres, "postgres://u@h/db"),
        (
            "mariadb://root@h:3306/db",
            Backend::Mysql,
            "mysql://root@h:3306/db",
        ),
        ("mysql://root@h/db", Backend::Mysql, "mysql://root@h/db"),
    ];
    for (input, backend, url) in cases {
        assert_eq!(
            normalize_url(input).unwrap(),
            (backend, url.to_owned()),
            "{input}"
        );
    }
    let err = normalize_url("ftp://me:pw@host/x").unwrap_err().to_string();
    assert!(
        err.contains("ftp://me:***@host/x") && !err.contains("pw@"),
        "{err}"
    );
    assert!(normalize_url("meta.txt").is_err());
    assert_eq!(
        redact_url("postgres://u:p@h:5432/db?x=1"),
        "postgres://u:***@h:5432/db?x=1"
    );
    assert_eq!(redact_url("mysql://root@h/db"), "mysql://root@h/db");
    assert_eq!(
        scrub("bad p4ss here", "postgres://u:p4ss@h/db"),
        "bad *** here"
    );
}

#[test]
fn placeholders_for_postgres() {
    let sql = "UPDATE t SET a = ?, b = ? WHERE id = ?";
    assert_eq!(
        placeholders(sql, Backend::Postgres),
        "UPDATE t SET a = $1, b = $2 WHERE id = $3"
    );
    assert_eq!(placeholders(sql, Backend::Mysql), sql);
    assert_eq!(placeholders(sql, Backend::Sqlite), sql);
}

#[test]
fn state_machine() {
    use RunState::*;
    let allowed = [
        (Pending, Running),
        (Pending, Cancelled),
        (Pending, Failed),
        (Running, Succeeded),
        (Running, Failed),
        (Running, Cancelled),
    ];
    for from in RunState::ALL {
        assert_eq!(RunState::parse(from.as_str()), Some(from));
        assert_eq!(from.to_string(), from.as_str());
        assert_eq!(serde_json::to_string(&from).unwrap(), format!("\"{from}\""));
        for to in RunState::ALL {
            assert_eq!(
                from.can_become(to),
                allowed.contains(&(from, to)),
                "{from}→{to}"
            );
            if from.is_terminal() {
                assert!(!from.can_become(to));
            }
        }
    }
    assert_eq!(RunState::parse("Running"), None);
    assert_eq!(RunState::ALL.iter().filter(|s| s.is_terminal()).count(), 3);
}
