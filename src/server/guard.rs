//! What the server checks in a job before it stores or runs it: file paths stay inside the
//! data roots (after `..` and symlinks are resolved), and secrets come from the server's
//! environment (`${VAR}`), so no secret is ever stored or returned in plain text.

use std::path::{Component, Path, PathBuf};

use fust_config::{Diagnostics, JobSpec, Mark};
use fust_engine::Registry;

/// Canonical data roots; relative job paths resolve against `base`.
#[derive(Debug, Clone)]
pub struct DataRoots {
    base: PathBuf,
    roots: Vec<PathBuf>,
    /// Files inside the roots that jobs may never name: the server's own (the SQLite
    /// metadata store, which holds every job and run).
    protected: Vec<PathBuf>,
}

impl DataRoots {
    /// `roots` empty means `base` (the server's working directory) alone.
    pub fn new(base: PathBuf, roots: &[PathBuf]) -> std::io::Result<Self> {
        let base = base.canonicalize()?;
        let roots = if roots.is_empty() {
            vec![base.clone()]
        } else {
            roots
                .iter()
                .map(|r| base.join(r).canonicalize())
                .collect::<std::io::Result<Vec<_>>>()?
        };
        Ok(DataRoots {
            base,
            roots,
            protected: Vec::new(),
        })
    }

    /// Keeps jobs away from `file` (and the `-wal`, `-shm` and `-journal` files beside it),
    /// even though it lies in a data root.
    pub fn protect(&mut self, file: &Path) {
        let file = resolve(&self.base.join(file));
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = file.as_os_str().to_os_string();
            name.push(suffix);
            self.protected.push(PathBuf::from(name));
        }
    }

    /// The protected file `path` (resolved, and as a glob: `pattern`) could name.
    fn reaches_protected(&self, resolved: &Path, pattern: Option<&str>) -> Option<&PathBuf> {
        let glob = pattern.and_then(|p| {
            let abs = self.base.join(p);
            glob::Pattern::new(&abs.to_string_lossy()).ok()
        });
        // A directory that holds one is fine: listing a directory keeps only files with
        // the format's extension.
        self.protected
            .iter()
            .find(|p| resolved.starts_with(p) || glob.as_ref().is_some_and(|g| g.matches_path(p)))
    }

    /// Where `path` really points (symlinks followed as far as the path exists), if that
    /// is inside a root.
    pub fn confine(&self, path: &str) -> Result<PathBuf, String> {
        // The scheme is case-insensitive (`FILE:///etc/passwd` is a file URL too).
        let raw = match path.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("file://") => &path[7..],
            _ => path,
        };
        // A glob is checked by its fixed prefix (up to the first character DataFusion's
        // listing treats as a glob), and what follows may not climb out of it.
        let fixed = match raw.find(['*', '?', '[']) {
            Some(i) => {
                if Path::new(&raw[i..])
                    .components()
                    .any(|c| c == Component::ParentDir)
                {
                    return Err(format!(
                        "`{path}` could lead outside the data roots: a glob may not contain `..` \
                         after its first wildcard"
                    ));
                }
                &raw[..i]
            }
            None => raw,
        };
        let resolved = resolve(&self.base.join(fixed));
        let glob = (fixed.len() < raw.len()).then_some(raw);
        if let Some(p) = self.reaches_protected(&resolved, glob) {
            return Err(format!(
                "`{path}` would reach {}, the server's own file; jobs may not read or write it",
                p.display()
            ));
        }
        if self.roots.iter().any(|r| resolved.starts_with(r)) {
            Ok(resolved)
        } else {
            Err(format!(
                "`{path}` resolves to {} which is outside the data roots ({}); jobs run by the server may only use files under them",
                resolved.display(),
                self.roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
}

/// Lexically removes `.` and `..`, then follows symlinks through the longest existing
/// ancestor (a link inside a root that points outside it ends up outside).
fn resolve(path: &Path) -> PathBuf {
    let mut clean = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    let mut existing = clean.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return clean,
        }
    }
}

/// Options that name local files or directories (not the `http` input's paths into its
/// JSON responses).
fn is_path_option(key: &str) -> bool {
    if matches!(key, "records_path" | "cursor_path" | "next_path") {
        return false;
    }
    matches!(key, "path" | "paths" | "state_file" | "spill_dir")
        || key.ends_with("_path")
        || key.ends_with("_file")
        || key.ends_with("_dir")
        // Kafka: `ssl_ca_location`, and librdkafka `properties` such as
        // `ssl.key.location` or `sasl.kerberos.keytab`.
        || key.ends_with("_location")
        || key.ends_with(".location")
        || key.ends_with("keytab")
}

/// The string values of the path options in `options`, nested ones included (e.g.
/// `storage.ca_file`), by dotted key.
fn path_values<'a>(
    prefix: &str,
    options: &'a serde_json::Map<String, serde_json::Value>,
    out: &mut Vec<(String, &'a str)>,
) {
    for (key, value) in options {
        let dotted = match prefix.is_empty() {
            true => key.clone(),
            false => format!("{prefix}.{key}"),
        };
        match value {
            serde_json::Value::Object(nested) => path_values(&dotted, nested, out),
            serde_json::Value::String(s) if is_path_option(key) => out.push((dotted, s)),
            serde_json::Value::Array(a) if is_path_option(key) => out.extend(
                a.iter()
                    .filter_map(|v| v.as_str())
                    .map(|v| (dotted.clone(), v)),
            ),
            _ => {}
        }
    }
}

/// A path option's value names a local file (not `s3://…`, `https://…`); the scheme is
/// compared case-insensitively, as URL parsing does.
fn is_local(value: &str) -> bool {
    match value.split_once("://") {
        Some((scheme, _)) => scheme.eq_ignore_ascii_case("file"),
        None => true,
    }
}

/// Every local path option outside the data roots, with its position.
pub fn check_paths(spec: &JobSpec, roots: &DataRoots, diags: &mut Diagnostics) {
    for section in spec.sections() {
        let mut values = Vec::new();
        path_values("", &section.options, &mut values);
        for (key, v) in values.into_iter().filter(|(_, v)| is_local(v)) {
            if let Err(e) = roots.confine(v) {
                diags.push(
                    section.value_mark(&key).or(Some(section.mark)),
                    format!("{}.{key}", section.path),
                    e,
                );
            }
        }
    }
    if let Some(dir) = &spec.settings.spill_dir
        && let Err(e) = roots.confine(dir)
    {
        diags.push(None, "settings.spill_dir", e);
    }
}

/// Secret options (marked `writeOnly` in the plugin's schema) written as literal values:
/// over the API they must be references (`${secret:NAME}`, or an allowed `${VAR}`). A URL
/// option is a secret only when it carries a password. And `${secret:NAME}` may stand only
/// as a secret option's value, so a secret cannot flow into SQL, a path or anything shown.
pub fn check_secrets(text: &str, spec: &JobSpec, registry: &Registry, diags: &mut Diagnostics) {
    let lines: Vec<&str> = text.lines().collect();
    // Where every value starts, and whether it is a secret option's.
    let mut starts: Vec<(Mark, bool)> = Vec::new();
    for section in spec.sections() {
        let secrets = registry.secret_options(section);
        starts.extend(
            section
                .value_marks()
                .map(|(key, m)| (m, secrets.iter().any(|(k, _)| k == key))),
        );
        for (key, value) in &secrets {
            if key.ends_with("url") && !url_has_password(value) {
                continue;
            }
            let mark = section.value_mark(key);
            // The value as written: from where it starts to a comment (`password: pw #
            // ${X}` is a literal with a reference in a comment).
            let raw = mark
                .and_then(|m| {
                    let line = lines.get(m.line.saturating_sub(1))?;
                    line.get(m.column.saturating_sub(1)..)
                })
                .map(|v| v.split(" #").next().unwrap_or(v))
                .unwrap_or_default();
            if !raw.contains("${") {
                diags.push(
                    mark,
                    format!("{}.{key}", section.path),
                    format!(
                        "a secret sent to the server must be a reference, e.g. `{key}: ${{secret:NAME}}` \
                         with NAME under `secrets:` in the server config; literal secrets are not stored"
                    ),
                );
            }
        }
    }
    // Each `${secret:…}` must lie in a secret option's value: the nearest value starting
    // before it, on its own line, is a secret option's.
    for (i, line) in lines.iter().enumerate() {
        for (at, _) in line.match_indices("${secret:") {
            let here = Mark {
                line: i + 1,
                column: at + 1,
            };
            let owner = starts
                .iter()
                .filter(|(m, _)| (m.line, m.column) <= (here.line, here.column))
                .max_by_key(|(m, _)| (m.line, m.column));
            let in_secret = owner.is_some_and(|(m, secret)| *secret && m.line == here.line);
            if !in_secret {
                diags.push(
                    Some(here),
                    "",
                    "`${secret:NAME}` may only be the value of a secret option (a password, a key, \
                     a URL with a password), so its value never reaches a query, a path or an output",
                );
            }
        }
    }
}

fn url_has_password(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| u.password().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_path_options_are_confined_and_json_paths_are_not_files() {
        let dir = tempfile::tempdir().unwrap();
        let roots = DataRoots::new(dir.path().to_path_buf(), &[]).unwrap();
        let job = "input: {type: http, url: 'http://127.0.0.1:9/x', records_path: ../../data.items,
  pagination: {type: next_url, next_path: ../links.next}}
output: {type: parquet, path: out.parquet, storage: {ca_file: /etc/passwd}}
dead_letter: {type: json, path: ../rejects.json}
settings: {on_error: dead_letter}
";
        let spec = JobSpec::from_str(job, "job.yaml").unwrap();
        let mut diags = Diagnostics::new("job.yaml");
        check_paths(&spec, &roots, &mut diags);
        let text = diags.to_string();
        assert!(text.contains("output.storage.ca_file"), "{text}");
        assert!(text.contains("dead_letter.path"), "{text}");
        assert!(
            !text.contains("records_path") && !text.contains("next_path"),
            "{text}"
        );
    }

    #[test]
    fn kafka_key_and_keytab_files_are_confined() {
        let dir = tempfile::tempdir().unwrap();
        let roots = DataRoots::new(dir.path().to_path_buf(), &[]).unwrap();
        let job = "name: k
input: {type: kafka, brokers: '127.0.0.1:9092', topic: t, group_id: g, ssl_ca_location: /etc/ssl/ca.pem,
  properties: {ssl.key.location: /root/.ssh/id_rsa, sasl.kerberos.keytab: /etc/krb5.keytab}}
output: {type: console}
";
        let spec = JobSpec::from_str(job, "job.yaml").unwrap();
        let mut diags = Diagnostics::new("job.yaml");
        check_paths(&spec, &roots, &mut diags);
        let text = diags.to_string();
        for key in [
            "input.ssl_ca_location",
            "input.properties.ssl.key.location",
            "input.properties.sasl.kerberos.keytab",
        ] {
            assert!(text.contains(key), "{key}: {text}");
        }
    }

    #[test]
    fn dotdot_and_symlinks_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::write(dir.path().join("secret.csv"), "x\n1\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path(), root.join("data/link")).unwrap();
        let roots = DataRoots::new(root.clone(), &[]).unwrap();
        assert!(roots.confine("data/a.csv").is_ok());
        assert!(roots.confine("data/new/out.parquet").is_ok());
        assert!(roots.confine("data/*.csv").is_ok());
        assert!(roots.confine("../secret.csv").is_err());
        assert!(roots.confine("data/../../secret.csv").is_err());
        assert!(roots.confine("/etc/passwd").is_err());
        assert!(roots.confine("file:///etc/passwd").is_err());
        // Upper-case schemes, a brace (not a glob to DataFusion) and `..` after a wildcard.
        assert!(is_local("FILE:///etc/passwd") && is_local("File:///etc/passwd"));
        assert!(!is_local("s3://bucket/key") && !is_local("S3://bucket/key"));
        assert!(roots.confine("FILE:///etc/passwd").is_err());
        assert!(roots.confine("{x}/../../secret.csv").is_err());
        assert!(roots.confine("data/*/../../../secret.csv").is_err());
        assert!(roots.confine("data/{a,b}.csv").is_ok());
        #[cfg(unix)]
        {
            let e = roots.confine("data/link/secret.csv").unwrap_err();
            assert!(e.contains("outside the data roots"), "{e}");
            assert!(roots.confine("data/link/*.csv").is_err());
        }
    }

    /// The SQLite metadata store sits in the default data root (`.fust/fust.db` in the
    /// working directory): no path, glob or file URL may name it or its WAL files.
    #[test]
    fn the_metadata_store_is_out_of_reach() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join(".fust")).unwrap();
        std::fs::write(root.join(".fust/fust.db"), "SQLite").unwrap();
        let mut roots = DataRoots::new(root.clone(), &[]).unwrap();
        roots.protect(Path::new(".fust/fust.db"));
        let db = root.join(".fust/fust.db");
        for path in [
            ".fust/fust.db".to_string(),
            "./.fust/../.fust/fust.db-wal".to_string(),
            format!("file://{}", db.display()),
            "*/fust.db".to_string(),
            "**/*.db".to_string(),
            ".fust/*".to_string(),
        ] {
            let e = roots.confine(&path).unwrap_err();
            assert!(e.contains("the server's own file"), "{path}: {e}");
        }
        for path in ["data.csv", "*.csv", ".fust/", "out/fust.db"] {
            assert!(roots.confine(path).is_ok(), "{path}");
        }
    }
}
