//! Where a job's `${NAME}` values come from. `fust run` reads the process environment; a
//! job sent to `fust serve` is hostile input and may read only what the operator allowed:
//! environment variables matching `--job-env` patterns, and the server's named secrets as
//! `${secret:NAME}`.

use std::collections::BTreeMap;

/// The source of `${NAME}` and `${secret:NAME}` values for one job.
#[derive(Clone, Debug, Default)]
pub enum Variables {
    /// Every environment variable (`fust run`, `fust validate`, ...); no named secrets.
    #[default]
    Environment,
    /// A server's rules for jobs submitted over HTTP.
    Server {
        /// Environment variables jobs may read: exact names, or prefixes ending in `*`.
        allowed: Vec<String>,
        /// Named secrets (`${secret:NAME}`), from the server's config.
        secrets: BTreeMap<String, String>,
    },
}

/// The prefix of a secret reference: `${secret:NAME}`.
pub const SECRET_PREFIX: &str = "secret:";

impl Variables {
    /// The value of `reference` (`NAME` or `secret:NAME`): `Ok(None)` when it is not set,
    /// `Err` (with what to do) when this job may not read it. The message never says
    /// whether a forbidden variable exists.
    pub fn lookup(&self, reference: &str) -> Result<Option<String>, String> {
        match (self, reference.strip_prefix(SECRET_PREFIX)) {
            (Variables::Environment, None) => Ok(std::env::var(reference).ok()),
            (Variables::Environment, Some(name)) => Err(format!(
                "`${{secret:{name}}}` names a secret of `fust serve`'s config; a local run reads \
                 `${{NAME}}` from the environment instead"
            )),
            (Variables::Server { secrets, .. }, Some(name)) => match secrets.get(name) {
                Some(v) => Ok(Some(v.clone())),
                None => Err(format!(
                    "the server has no secret `{name}`; the operator defines it under `secrets:` \
                     in the server config{}",
                    known(secrets)
                )),
            },
            (Variables::Server { allowed, .. }, None) => {
                if allowed.iter().any(|p| matches(p, reference)) {
                    Ok(std::env::var(reference).ok())
                } else {
                    Err(format!(
                        "jobs sent to the server may not read its environment variable \
                         `{reference}`; the operator can allow it with `fust serve --job-env \
                         {reference}` (or `job_env:` in the server config), or pass a secret as \
                         `${{secret:NAME}}`"
                    ))
                }
            }
        }
    }

    /// The values of the named secrets (to redact them from anything shown).
    pub fn secret_values(&self) -> Vec<String> {
        match self {
            Variables::Environment => Vec::new(),
            Variables::Server { secrets, .. } => secrets.values().cloned().collect(),
        }
    }
}

fn known(secrets: &BTreeMap<String, String>) -> String {
    match secrets.is_empty() {
        true => String::new(),
        false => format!(
            " (defined: {})",
            secrets.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `NAME` matches `pattern` exactly, or `PREFIX*` by its prefix.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Variables {
        Variables::Server {
            allowed: vec!["FUST_TEST_ALLOWED".into(), "FUST_TEST_PREFIX_*".into()],
            secrets: BTreeMap::from([("db".to_string(), "pw-1".to_string())]),
        }
    }

    #[test]
    fn a_server_reads_only_allowed_variables_and_named_secrets() {
        let v = server();
        assert_eq!(v.lookup("secret:db"), Ok(Some("pw-1".into())));
        assert!(v.lookup("secret:nope").unwrap_err().contains("defined: db"));
        // PATH is set, but not allowed; the message does not tell.
        let denied = v.lookup("PATH").unwrap_err();
        assert!(denied.contains("--job-env PATH"), "{denied}");
        assert_eq!(v.lookup("FUST_TEST_ALLOWED"), Ok(None));
        assert_eq!(v.lookup("FUST_TEST_PREFIX_ANYTHING"), Ok(None));
        assert!(v.lookup("FUST_TEST_PREFIXED").is_err());
        assert_eq!(v.secret_values(), ["pw-1"]);
    }

    #[test]
    fn a_local_run_reads_the_environment_and_no_secrets() {
        let v = Variables::Environment;
        assert!(v.lookup("PATH").unwrap().is_some());
        assert!(v.lookup("secret:db").unwrap_err().contains("fust serve"));
    }
}
