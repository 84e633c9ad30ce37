//! `kill -9` at random points while Fust writes, for every sink kind (issue 16 point 9).
//!
//! Each test runs `fust run` on one job again and again, SIGKILLs it after a random delay
//! within the time a run takes, and after every kill checks that the target holds its old
//! content or the new content, never a part of a run (an append in progress may only show
//! while its journal is there, and then only past the recorded length), and that what
//! killed runs leave does not pile up (at most the last one's temporary file, journal or
//! staging table: the next run sweeps it). After the kills, one clean run; then the
//! target must hold exactly the expected rows (overwrite: this run's; append: the earlier
//! content plus this run's once) and nothing may be left behind.
//!
//! The delays come from a seeded generator: the seed is printed, and `FUST_KILL_SEED=N`
//! replays a failure. `FUST_KILLS=N` changes the number of kills per kind (default 20).

mod common;

use std::collections::hash_map::DefaultHasher;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::rng::{Rng, kills};
use common::{command, mariadb, psql, run_job, temp_files, tempdir, write_file, write_job};
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

/// Rows each run writes to a local file: enough that a debug build spends about half a
/// second on them on the project's 2-core machine, so kills land before, during and after
/// the writing, and twenty kills of eight kinds stay within a minute.
const FILE_ROWS: u64 = 200_000;
/// The same for PostgreSQL and MySQL (LOAD DATA is slower per row).
const PG_ROWS: u64 = 150_000;
const MY_ROWS: u64 = 40_000;

/// The input of every run: `id,name,amount` with name and amount functions of id, so the
/// rows of a table can be checked by aggregates.
fn write_input(dir: &Path, rows: u64) {
    let mut text = String::with_capacity(rows as usize * 24);
    text.push_str("id,name,amount\n");
    for id in 1..=rows {
        text.push_str(&format!("{id},name-{id},{}\n", id * 3));
    }
    write_file(dir, "in.csv", text);
}

/// The lines of a text as an order-independent fingerprint: (count, sum of line hashes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Lines(u64, u64);

impl Lines {
    fn of(bytes: &[u8]) -> Lines {
        let mut out = Lines::default();
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let mut h = DefaultHasher::new();
            line.hash(&mut h);
            out.0 += 1;
            out.1 = out.1.wrapping_add(h.finish());
        }
        out
    }

    /// These lines plus `n` times `unit`.
    fn plus(self, unit: Lines, n: u64) -> Lines {
        Lines(
            self.0 + n * unit.0,
            self.1.wrapping_add(unit.1.wrapping_mul(n)),
        )
    }
}

/// One kind of sink under test.
trait Kind {
    /// The `output:` of the job, writing `target` (a file name or a table name).
    fn output(&self, target: &str) -> String;
    /// The target's content before the first run.
    fn prepare(&mut self, dir: &Path);
    /// Learns what a complete run writes from a clean run into `calibration`, and removes
    /// that target.
    fn learn(&mut self, dir: &Path, calibration: &str);
    /// Called before each killed run (e.g. to drop the table, for the create path).
    fn before_run(&mut self, _i: usize) {}
    /// Checks the target after a kill: old or new content, never partial; `Err` says why.
    fn check(&mut self, dir: &Path) -> Result<String, String>;
    /// What runs left behind (temporary files, journals, staging tables).
    fn residue(&self, dir: &Path) -> Vec<String>;
    /// Called once the kills are over and before the clean run.
    fn settle(&mut self) {}
    /// Checks the target after the clean run.
    fn check_final(&mut self, dir: &Path);
    /// The target's name.
    fn target(&self) -> String;
    /// Rows one run writes.
    fn rows(&self) -> u64;
}

/// Runs the kill loop for one kind; returns nothing, panics with the seed on failure.
fn kill_test(name: &str, kind: &mut dyn Kind) {
    let started = Instant::now();
    let dir = tempdir();
    let d = dir.path();
    write_input(d, kind.rows());
    kind.prepare(d);

    // Clean runs into another target: how long a run takes (the faster of two: the first
    // one also creates the target), and what it writes.
    let calibration = format!("{}_calib", kind.target());
    let job = write_job(
        d,
        &format!(
            "input: {{type: csv, path: in.csv}}\noutput: {}\n",
            kind.output(&calibration)
        ),
    );
    let mut run_ms = u64::MAX;
    for _ in 0..2 {
        let t0 = Instant::now();
        run_job(d, &job, &[]).success();
        run_ms = run_ms.min(t0.elapsed().as_millis() as u64);
        kind.learn(d, &calibration);
    }

    let target = kind.target();
    let job = write_job(
        d,
        &format!(
            "input: {{type: csv, path: in.csv}}\noutput: {}\n",
            kind.output(&target)
        ),
    );
    let mut rng = Rng::new(name);
    let (mut killed, mut completed) = (0, 0);
    for i in 0..kills() {
        kind.before_run(i);
        // Within a clean run's time: most kills land while writing, a few after the
        // commit (then the next run's "old" content is this run's).
        let delay = rng.below(run_ms);
        let log = d.join("run.log");
        let mut child = command(d, &["run", "--quiet", job.to_str().expect("utf-8")], &[])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("start fust");
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let status = child.wait().expect("wait for fust");
        let what = match status.code() {
            None => {
                killed += 1;
                "killed"
            }
            Some(0) => {
                completed += 1;
                "completed"
            }
            Some(c) => panic!(
                "{name}: run {i} (after {delay} ms) failed with {c}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        };
        let state = kind
            .check(d)
            .unwrap_or_else(|e| panic!("{name}: after run {i} ({what} at {delay} ms): {e}"));
        let residue = kind.residue(d);
        assert!(
            residue.len() <= 1,
            "{name}: after run {i} ({what} at {delay} ms), killed runs' leftovers pile up: \
             {residue:?}"
        );
        eprintln!("{name}: run {i} {what} at {delay} ms: {state}; left {residue:?}");
    }
    kind.settle();
    run_job(d, &job, &[]).success();
    kind.check_final(d);
    let residue = kind.residue(d);
    assert!(
        residue.is_empty(),
        "{name}: left behind after the clean run: {residue:?}"
    );
    eprintln!(
        "{name}: {killed} killed, {completed} completed (a run takes ~{run_ms} ms); {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(killed >= kills() / 2, "{name}: too few runs were killed");
}

// ------------------------------------------------------------------ local files

/// The temporary files and journals under `out/`.
fn file_residue(dir: &Path) -> Vec<String> {
    temp_files(&dir.join("out"))
}

/// A local file written with `mode: overwrite`: after a kill it is the old file or a
/// complete new one.
struct FileOverwrite {
    rows: u64,
    format: &'static str,
    ext: &'static str,
    old: Vec<u8>,
    /// CSV and JSON: the lines of a complete run.
    new: Lines,
}

impl FileOverwrite {
    fn new(format: &'static str, ext: &'static str) -> Self {
        Self {
            rows: FILE_ROWS,
            format,
            ext,
            old: b"the old content\n".to_vec(),
            new: Lines::default(),
        }
    }

    fn path(&self, dir: &Path) -> PathBuf {
        dir.join("out")
            .join(format!("{}.{}", self.target(), self.ext))
    }

    fn parquet_rows(path: &Path) -> Result<i64, String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        let reader = SerializedFileReader::new(file).map_err(|e| format!("not Parquet: {e}"))?;
        Ok(reader.metadata().file_metadata().num_rows())
    }
}

/// The calibration run's output file, read and removed.
fn take_calibration(dir: &Path, calibration: &str, ext: &str) -> Vec<u8> {
    let path = dir.join(format!("out/{calibration}.{ext}"));
    let bytes = std::fs::read(&path).expect("calibration output");
    std::fs::remove_file(&path).expect("remove the calibration output");
    bytes
}

impl Kind for FileOverwrite {
    fn output(&self, target: &str) -> String {
        format!(
            "{{type: {}, path: out/{target}.{}, mode: overwrite}}",
            self.format, self.ext
        )
    }

    fn prepare(&mut self, dir: &Path) {
        write_file(
            dir,
            &format!("out/{}.{}", self.target(), self.ext),
            &self.old,
        );
    }

    fn learn(&mut self, dir: &Path, calibration: &str) {
        self.new = Lines::of(&take_calibration(dir, calibration, self.ext));
    }

    fn check(&mut self, dir: &Path) -> Result<String, String> {
        let path = self.path(dir);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if bytes == self.old {
            return Ok("old content".into());
        }
        if self.format == "parquet" {
            let rows = Self::parquet_rows(&path)?;
            return if rows == self.rows as i64 {
                Ok("new content".into())
            } else {
                Err(format!("a Parquet file of {rows} rows, not {}", self.rows))
            };
        }
        let lines = Lines::of(&bytes);
        if lines == self.new {
            Ok("new content".into())
        } else {
            Err(format!(
                "neither the old file nor a complete new one ({} lines, expected {})",
                lines.0, self.new.0
            ))
        }
    }

    fn residue(&self, dir: &Path) -> Vec<String> {
        file_residue(dir)
    }

    fn check_final(&mut self, dir: &Path) {
        let path = self.path(dir);
        let rows = common::read_rows_ordered(&path);
        check_rows(&rows, self.rows, 1, 0);
    }

    fn target(&self) -> String {
        format!("{}_overwrite", self.format)
    }

    fn rows(&self) -> u64 {
        self.rows
    }
}

/// Rows read back: `old` earlier rows (negative ids), and every id 1..=`per_run` exactly
/// `copies` times with its name and amount.
#[track_caller]
fn check_rows(rows: &[Vec<String>], per_run: u64, copies: u64, old: usize) {
    let mut seen = vec![0u64; per_run as usize + 1];
    let mut old_seen = 0;
    for r in rows {
        let id: i64 = r[0].parse().expect("an id");
        if id < 0 {
            old_seen += 1;
            assert_eq!(r[1], format!("old{id}"), "{r:?}");
            continue;
        }
        assert_eq!(r[1], format!("name-{id}"), "{r:?}");
        assert_eq!(r[2], (id * 3).to_string(), "{r:?}");
        seen[id as usize] += 1;
    }
    assert_eq!(old_seen, old, "the earlier rows");
    let wrong: Vec<_> = (1..=per_run as usize)
        .filter(|&id| seen[id] != copies)
        .take(5)
        .map(|id| (id, seen[id]))
        .collect();
    assert!(
        wrong.is_empty(),
        "ids not present exactly {copies} times (id, times): {wrong:?}"
    );
}

/// A local CSV or NDJSON file written with `mode: append`: after a kill, without a journal
/// it is the earlier content plus whole runs; with one, that holds up to the journal's
/// recorded length.
struct FileAppend {
    format: &'static str,
    ext: &'static str,
    initial: Vec<u8>,
    /// The lines one run appends.
    unit: Lines,
    /// Runs appended so far.
    runs: u64,
}

impl FileAppend {
    fn new(format: &'static str, ext: &'static str) -> Self {
        let initial = match format {
            "csv" => "id,name,amount\n-1,old-1,-3\n-2,old-2,-6\n".to_string(),
            _ => "{\"id\":-1,\"name\":\"old-1\",\"amount\":-3}\n\
                  {\"id\":-2,\"name\":\"old-2\",\"amount\":-6}\n"
                .to_string(),
        };
        Self {
            format,
            ext,
            initial: initial.into_bytes(),
            unit: Lines::default(),
            runs: 0,
        }
    }

    fn path(&self, dir: &Path) -> PathBuf {
        dir.join("out")
            .join(format!("{}.{}", self.target(), self.ext))
    }

    fn expected(&self, runs: u64) -> Lines {
        Lines::of(&self.initial).plus(self.unit, runs)
    }
}

impl Kind for FileAppend {
    fn output(&self, target: &str) -> String {
        format!(
            "{{type: {}, path: out/{target}.{}, mode: append}}",
            self.format, self.ext
        )
    }

    fn prepare(&mut self, dir: &Path) {
        write_file(
            dir,
            &format!("out/{}.{}", self.target(), self.ext),
            &self.initial,
        );
    }

    fn learn(&mut self, dir: &Path, calibration: &str) {
        let mut unit = Lines::of(&take_calibration(dir, calibration, self.ext));
        if self.format == "csv" {
            // A new file starts with the header; an append does not repeat it.
            unit = Lines(
                unit.0 - 1,
                unit.1.wrapping_sub(Lines::of(b"id,name,amount").1),
            );
        }
        self.unit = unit;
    }

    fn check(&mut self, dir: &Path) -> Result<String, String> {
        let path = self.path(dir);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let journal = dir
            .join("out")
            .join(format!(".{}.{}.fust-append", self.target(), self.ext));
        if let Ok(text) = std::fs::read_to_string(&journal) {
            // A killed append: the file is whole up to the recorded length.
            let Some(len) = text
                .lines()
                .find_map(|l| l.strip_prefix("length "))
                .and_then(|l| l.parse::<usize>().ok())
            else {
                return Ok("an incomplete journal (nothing appended yet)".into());
            };
            if bytes.len() < len {
                return Err(format!(
                    "shorter ({}) than its journal says ({len})",
                    bytes.len()
                ));
            }
            let before = Lines::of(&bytes[..len]);
            return if before == self.expected(self.runs) {
                Ok(format!("{} runs and a killed append", self.runs))
            } else {
                Err(format!(
                    "the content before the journal's length is not the earlier content plus \
                     {} runs ({} lines)",
                    self.runs, before.0
                ))
            };
        }
        let lines = Lines::of(&bytes);
        if lines == self.expected(self.runs) {
            Ok(format!("{} runs", self.runs))
        } else if lines == self.expected(self.runs + 1) {
            self.runs += 1;
            Ok(format!("{} runs", self.runs))
        } else {
            Err(format!(
                "without a journal, the file is not the earlier content plus {} or {} runs \
                 ({} lines; one run is {})",
                self.runs,
                self.runs + 1,
                lines.0,
                self.unit.0
            ))
        }
    }

    fn residue(&self, dir: &Path) -> Vec<String> {
        file_residue(dir)
    }

    fn check_final(&mut self, dir: &Path) {
        let path = self.path(dir);
        let rows = common::read_rows_ordered(&path);
        check_rows(&rows, FILE_ROWS, self.runs + 1, 2);
    }

    fn target(&self) -> String {
        format!("{}_append", self.format)
    }

    fn rows(&self) -> u64 {
        FILE_ROWS
    }
}

#[test]
fn csv_overwrite() {
    kill_test("csv overwrite", &mut FileOverwrite::new("csv", "csv"));
}

#[test]
fn csv_append() {
    kill_test("csv append", &mut FileAppend::new("csv", "csv"));
}

#[test]
fn parquet_overwrite() {
    kill_test(
        "parquet overwrite",
        &mut FileOverwrite::new("parquet", "parquet"),
    );
}

#[test]
fn json_append() {
    kill_test("json append", &mut FileAppend::new("json", "json"));
}

// ------------------------------------------------------------------ databases

/// A database table written with `write_mode: overwrite` or `append`.
struct Table {
    db: Db,
    mode: &'static str,
    /// Drop the table before every other killed run, so kills also hit the create path
    /// (MySQL: a `__fust_new_*` staging table renamed into place).
    recreate: bool,
    /// Whole runs in the table (append), learned from the counts.
    runs: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Db {
    Postgres,
    MySql,
}

impl Table {
    fn name(&self) -> String {
        let db = if self.db == Db::Postgres { "pg" } else { "my" };
        format!("kill_{db}_{}_{}", self.mode, std::process::id())
    }

    fn sql(&self, sql: &str) -> String {
        match self.db {
            Db::Postgres => psql(sql),
            Db::MySql => mariadb(sql),
        }
    }

    fn drop_tables(&self) {
        let name = self.name();
        for t in [name.clone(), format!("{name}_calib")] {
            self.sql(&format!("DROP TABLE IF EXISTS {t}"));
        }
    }

    fn exists(&self) -> bool {
        let n = match self.db {
            Db::Postgres => self.sql(&format!(
                "SELECT count(*) FROM pg_tables WHERE tablename = '{}'",
                self.name()
            )),
            Db::MySql => self.sql(&format!(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME = '{}'",
                self.name()
            )),
        };
        n != "0"
    }

    /// (rows, rows with a negative id).
    fn counts(&self) -> (u64, u64) {
        let text = self.sql(&format!(
            "SELECT count(*), coalesce(sum(CASE WHEN id < 0 THEN 1 ELSE 0 END), 0) FROM {}",
            self.name()
        ));
        let mut parts = text.split(['|', '\t']).map(|p| p.trim().parse::<u64>());
        match (parts.next(), parts.next()) {
            (Some(Ok(a)), Some(Ok(b))) => (a, b),
            _ => panic!("unexpected counts: {text:?}"),
        }
    }

    /// Waits until no session of the server is still working on the table (a killed run's
    /// commit may land after the kill), so the counts taken next are final.
    fn wait_for_sessions(&self) {
        let name = self.name();
        let sql = match self.db {
            Db::Postgres => format!(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
                 AND state <> 'idle' AND query LIKE '%{name}%'"
            ),
            Db::MySql => format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() \
                 AND INFO LIKE '%{name}%'"
            ),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.sql(&sql) != "0" {
            assert!(
                Instant::now() < deadline,
                "a killed run's session on {name} did not end within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Table {
    /// MySQL: waits until the server has ended the sessions of the staging tables left (a
    /// killed run's session stays in the process list while the server rolls back its
    /// load). The next run drops the staging tables of ended sessions only; without this
    /// wait, a run starting at once would leave one for the run after it.
    fn wait_for_stage_sessions(&self) {
        if self.db != Db::MySql {
            return;
        }
        for stage in self.residue(Path::new(".")) {
            let Some((_, id)) = stage.rsplit_once("__fust_new_") else {
                continue;
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while self.sql(&format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id}"
            )) != "0"
            {
                assert!(
                    Instant::now() < deadline,
                    "the session {id} of {stage} did not end within 30 s"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Kind for Table {
    fn output(&self, target: &str) -> String {
        let url = match self.db {
            Db::Postgres => "postgres://postgres@127.0.0.1:5432/test",
            Db::MySql => "mysql://root@127.0.0.1:3306/test",
        };
        let kind = if self.db == Db::Postgres {
            "postgres"
        } else {
            "mysql"
        };
        format!(
            "{{type: {kind}, url: '{url}', table: {target}, write_mode: {}}}",
            self.mode
        )
    }

    fn prepare(&mut self, _dir: &Path) {
        self.drop_tables();
        let name = self.name();
        self.sql(&format!(
            "CREATE TABLE {name} (id bigint, name text, amount bigint)"
        ));
        self.sql(&format!(
            "INSERT INTO {name} VALUES (-1, 'old-1', -3), (-2, 'old-2', -6)"
        ));
    }

    fn learn(&mut self, _dir: &Path, calibration: &str) {
        // Emptied, not dropped: the second calibration run then times the load into an
        // existing table, as most killed runs do (creating a table is slow in MariaDB).
        self.sql(&format!("DELETE FROM {calibration}"));
    }

    fn before_run(&mut self, i: usize) {
        self.wait_for_stage_sessions();
        if self.recreate && i % 2 == 1 {
            self.wait_for_sessions();
            self.sql(&format!("DROP TABLE IF EXISTS {}", self.name()));
        }
    }

    fn check(&mut self, _dir: &Path) -> Result<String, String> {
        if !self.exists() {
            return Ok("no table (a killed create)".into());
        }
        let (rows, old) = self.counts();
        let new = rows - old;
        if new % self.rows() != 0 {
            return Err(format!(
                "{new} new rows: not a multiple of a run's {} (a partial run is visible)",
                self.rows()
            ));
        }
        match self.mode {
            "overwrite" if !(old == 2 && new == 0 || old == 0 && new == self.rows()) => Err(
                format!("{old} old and {new} new rows: neither the old table nor one run's rows"),
            ),
            "append" if old != 2 => Err(format!("{old} of the 2 earlier rows")),
            _ => Ok(format!("{} runs", new / self.rows())),
        }
    }

    fn residue(&self, _dir: &Path) -> Vec<String> {
        let name = self.name();
        let text = match self.db {
            Db::Postgres => self.sql(&format!(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE '{name}%' \
                 AND tablename NOT IN ('{name}', '{name}_calib')"
            )),
            Db::MySql => self.sql(&format!(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME LIKE '{}%' AND TABLE_NAME NOT IN ('{name}', '{name}_calib')",
                name.replace('_', "\\_")
            )),
        };
        text.lines().map(str::to_string).collect()
    }

    fn settle(&mut self) {
        self.wait_for_stage_sessions();
        self.wait_for_sessions();
        if self.exists() {
            let (rows, old) = self.counts();
            self.runs = (rows - old) / self.rows();
        }
    }

    fn check_final(&mut self, _dir: &Path) {
        let name = self.name();
        let (copies, old) = if self.mode == "append" {
            (self.runs + 1, 2)
        } else {
            (1, 0)
        };
        let sql = format!(
            "SELECT count(*), \
               coalesce(sum(CASE WHEN id < 0 THEN 1 ELSE 0 END), 0), \
               count(DISTINCT CASE WHEN id > 0 THEN id END), min(id), max(id), \
               coalesce(sum(CASE WHEN id > 0 AND name = concat('name-', id) AND amount = id * 3 \
                 THEN 1 ELSE 0 END), 0) \
             FROM {name}"
        );
        let got: Vec<String> = self
            .sql(&sql)
            .split(['|', '\t'])
            .map(|s| s.trim().to_string())
            .collect();
        let min = if old > 0 {
            "-2".to_string()
        } else {
            "1".to_string()
        };
        let want = [
            (old + copies * self.rows()).to_string(),
            old.to_string(),
            self.rows().to_string(),
            min,
            self.rows().to_string(),
            (copies * self.rows()).to_string(),
        ];
        assert_eq!(
            got,
            want,
            "{name}: (rows, earlier rows, distinct ids, min, max, consistent rows) for \
             {copies} run(s) of {} rows",
            self.rows()
        );
        let per_id = self.sql(&format!(
            "SELECT count(*) FROM (SELECT id FROM {name} WHERE id > 0 GROUP BY id \
             HAVING count(*) <> {copies}) x"
        ));
        assert_eq!(
            per_id, "0",
            "{name}: ids not present exactly {copies} times"
        );
        self.drop_tables();
    }

    fn target(&self) -> String {
        self.name()
    }

    fn rows(&self) -> u64 {
        match self.db {
            Db::Postgres => PG_ROWS,
            Db::MySql => MY_ROWS,
        }
    }
}

#[test]
fn postgres_overwrite() {
    kill_test(
        "postgres overwrite",
        &mut Table {
            db: Db::Postgres,
            mode: "overwrite",
            recreate: true,
            runs: 0,
        },
    );
}

#[test]
fn postgres_append() {
    kill_test(
        "postgres append",
        &mut Table {
            db: Db::Postgres,
            mode: "append",
            recreate: false,
            runs: 0,
        },
    );
}

#[test]
fn mysql_overwrite() {
    kill_test(
        "mysql overwrite",
        &mut Table {
            db: Db::MySql,
            mode: "overwrite",
            recreate: true,
            runs: 0,
        },
    );
}

#[test]
fn mysql_append() {
    kill_test(
        "mysql append",
        &mut Table {
            db: Db::MySql,
            mode: "append",
            recreate: false,
            runs: 0,
        },
    );
}
