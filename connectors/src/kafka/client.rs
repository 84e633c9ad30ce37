//! What the `kafka` input and output share: the librdkafka configuration built from the
//! options (checked when the job is built), the errors that name the brokers and the
//! topic, and the topic check every client makes when it opens.

use std::fmt;
use std::time::Duration;

use datafusion::error::DataFusionError;
use fust_config::Secret;
use fust_engine::OptionError;
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::metadata::Metadata;

use super::config::{Brokers, ClientOptions};

/// How long opening waits for the brokers to describe a topic.
pub(super) const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// The librdkafka settings Fust sets itself and its guarantees rest on.
const OWNED: [&str; 5] = [
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.idempotence",
];

/// librdkafka settings that load a library or run a command: a job file must not make
/// Fust run code (jobs may be submitted to `fust serve`).
const RUNS_CODE: [&str; 4] = [
    "plugin.library.paths",
    "sasl.kerberos.kinit.cmd",
    "ssl.engine.location",
    "ssl.providers",
];

/// A client's settings: the brokers, then the security options and `properties`.
#[derive(Clone)]
pub(super) struct Client {
    /// `host:port,host:port`, as librdkafka and the messages take them.
    pub brokers: String,
    settings: Vec<(String, String)>,
    password: Option<Secret>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("brokers", &self.brokers)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The settings from the options, each checked (the errors name the option).
    pub fn from_options(o: ClientOptions<'_>) -> Result<Client, OptionError> {
        let brokers = broker_list(o.brokers)?;
        let mut settings = Vec::new();
        let named = [
            ("security.protocol", o.security_protocol),
            ("sasl.mechanism", o.sasl_mechanism),
            ("sasl.username", o.sasl_username),
            ("ssl.ca.location", o.ssl_ca_location),
        ];
        for (key, value) in named {
            if let Some(v) = value {
                settings.push((key.to_string(), v.to_string()));
            }
        }
        for (key, value) in o.properties {
            let option = format!("properties.{key}");
            if OWNED.contains(&key.as_str()) {
                return Err(OptionError::new(
                    option,
                    "Fust sets this one itself (its delivery guarantee rests on it)",
                ));
            }
            if RUNS_CODE.contains(&key.as_str()) {
                return Err(OptionError::new(
                    option,
                    "it makes librdkafka load a library or run a command, which a job may not do",
                ));
            }
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(OptionError::new(
                        option,
                        "give a string, a number or a boolean",
                    ));
                }
            };
            settings.push((key.clone(), text));
        }
        Ok(Client {
            brokers,
            settings,
            password: o.sasl_password.cloned(),
        })
    }

    /// A librdkafka configuration: the brokers, `defaults` (which the options override),
    /// then the options.
    pub fn config(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", "fust");
        for (k, v) in defaults {
            c.set(*k, *v);
        }
        for (k, v) in &self.settings {
            c.set(k, v);
        }
        if let Some(p) = &self.password {
            c.set("sasl.password", p.expose());
        }
        c
    }

    /// Checks every bootstrap broker against the egress policy of `fust serve` (none under
    /// `fust run`). The brokers the cluster then advertises are librdkafka's to reach.
    pub async fn check_egress(&self) -> Result<(), DataFusionError> {
        for broker in self.brokers.split(',').map(str::trim).filter(|b| !b.is_empty()) {
            let (host, port) = match broker.rsplit_once(':') {
                Some((h, p)) => (h.trim_matches(['[', ']']), p.parse().unwrap_or(9092)),
                None => (broker, 9092),
            };
            fust_engine::egress::check(host, port)
                .await
                .map_err(|m| DataFusionError::External(format!("kafka {broker}: {m}").into()))?;
        }
        Ok(())
    }

    /// An error about `what` (a topic, a partition) at these brokers.
    pub fn error(&self, what: &str, doing: &str, e: impl fmt::Display) -> DataFusionError {
        DataFusionError::External(format!("kafka {} {what}: {doing}: {e}", self.brokers).into())
    }

    /// The partitions of `topic`, from metadata the brokers gave: an error naming the
    /// topic when it does not exist or could not be described.
    pub fn partitions(
        &self,
        topic: &str,
        metadata: Result<Metadata, KafkaError>,
    ) -> Result<Vec<i32>, DataFusionError> {
        let what = format!("topic `{topic}`");
        let m = metadata.map_err(|e| {
            self.error(
                &what,
                "cannot read its metadata (are the brokers reachable and the security options right?)",
                e,
            )
        })?;
        let Some(t) = m.topics().iter().find(|t| t.name() == topic) else {
            return Err(self.error(&what, "looking it up", "the brokers did not describe it"));
        };
        if let Some(e) = t.error() {
            return Err(self.error(
                &what,
                "looking it up",
                format!(
                    "{} (create it first: Fust does not create topics)",
                    RDKafkaErrorCode::from(e)
                ),
            ));
        }
        let mut parts: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
        if parts.is_empty() {
            return Err(self.error(
                &what,
                "looking it up",
                "it has no partitions (does it exist?)",
            ));
        }
        parts.sort_unstable();
        Ok(parts)
    }
}

/// `brokers:` checked and joined.
fn broker_list(b: &Brokers) -> Result<String, OptionError> {
    let list: Vec<&str> = match b {
        Brokers::Text(s) => s.split(',').map(str::trim).collect(),
        Brokers::List(v) => v.iter().map(|s| s.trim()).collect(),
    };
    for broker in &list {
        let port = broker
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()));
        if !matches!(port, Some((host, Ok(_))) if !host.is_empty()) {
            return Err(OptionError::new(
                "brokers",
                format!("`{broker}` is not host:port (e.g. `kafka1:9092`)"),
            ));
        }
    }
    Ok(list.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_fust_relies_on_or_that_run_code_are_refused() {
        let cases = [
            (
                "enable.auto.commit",
                serde_json::json!(true),
                "sets this one itself",
            ),
            (
                "sasl.kerberos.kinit.cmd",
                serde_json::json!("sh"),
                "run a command",
            ),
            (
                "fetch.max.bytes",
                serde_json::json!([1]),
                "a string, a number",
            ),
        ];
        for (key, value, why) in cases {
            let options =
                serde_json::json!({"brokers": "a:1", "topic": "t", "properties": {key: value}});
            let c: super::super::config::KafkaSinkConfig =
                serde_json::from_value(options).expect("options");
            let e = Client::from_options(c.client()).expect_err(key);
            assert_eq!(e.key, format!("properties.{key}"));
            assert!(e.message.contains(why), "{}", e.message);
        }
    }

    #[test]
    fn brokers_as_text_or_list() {
        let text = Brokers::Text("a:9092, b:9093".into());
        assert_eq!(broker_list(&text).expect("valid"), "a:9092,b:9093");
        let list = Brokers::List(vec!["a:1".into()]);
        assert_eq!(broker_list(&list).expect("valid"), "a:1");
        for bad in ["a", "a:x", ":9092", ""] {
            let e = broker_list(&Brokers::Text(bad.into())).expect_err(bad);
            assert_eq!(e.key, "brokers");
        }
    }
}
