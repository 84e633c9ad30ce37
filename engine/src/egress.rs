//! Which hosts a job may reach over the network, for jobs that arrive over HTTP.
//!
//! `fust serve` runs jobs that others submit; a job names its own database hosts and
//! object-store endpoints, so without a policy it could make the server connect anywhere
//! the server can: cloud metadata services (which hand out the machine's credentials),
//! internal admin ports, the server's own neighbours. The server installs one
//! [`EgressPolicy`] for the whole process at start ([`install`]); every connector checks
//! the host it is about to connect to with [`check`] (or [`check_blocking`]). `fust run`
//! installs none: a local run reaches what its user can.
//!
//! The policy: cloud metadata and other link-local addresses are refused always, whatever
//! name leads to them; with an allow list (`--allow-egress HOST[:PORT],...`) only the hosts
//! on it. A name is resolved when checked and each address it resolves to is checked; the
//! connection then resolves it again, so a name whose answer changes in between (DNS
//! rebinding) is caught only when the allow list names hosts, not addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::OnceLock;

/// One entry of the allow list: a host name (`db.internal`), a domain and its subdomains
/// (`*.example.com`), or an address; with or without a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    host: String,
    port: Option<u16>,
}

impl std::str::FromStr for Allowed {
    type Err = String;

    fn from_str(s: &str) -> Result<Allowed, String> {
        let s = s.trim();
        let bad = || format!("`{s}` is not HOST, HOST:PORT, *.DOMAIN or [IPv6]:PORT");
        // `[::1]:5432`, `::1`, `host:5432`, `host`.
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or_else(bad)?;
            match after.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None if after.is_empty() => (h, None),
                None => return Err(bad()),
            }
        } else if s.parse::<Ipv6Addr>().is_ok() {
            (s, None)
        } else {
            match s.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            }
        };
        let port = port
            .map(|p| p.parse::<u16>().map_err(|_| bad()))
            .transpose()?;
        let name = host.strip_prefix("*.").unwrap_or(host);
        if name.is_empty() || name.contains(['/', '@', ' ', '*']) {
            return Err(bad());
        }
        Ok(Allowed {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl Allowed {
    fn matches(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.to_ascii_lowercase();
        match self.host.strip_prefix("*.") {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => match (self.host.parse::<IpAddr>(), host.parse::<IpAddr>()) {
                (Ok(a), Ok(b)) => a == b,
                _ => self.host == host,
            },
        }
    }
}

impl std::fmt::Display for Allowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.port, self.host.contains(':')) {
            (Some(p), true) => write!(f, "[{}]:{p}", self.host),
            (Some(p), false) => write!(f, "{}:{p}", self.host),
            (None, _) => f.write_str(&self.host),
        }
    }
}

/// The hosts jobs may reach: `None` allows every host except the forbidden addresses.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    pub allow: Option<Vec<Allowed>>,
}

impl EgressPolicy {
    /// Whether `host:port` may be reached; the error says why not and what to do.
    pub fn check_name(&self, host: &str, port: u16) -> Result<(), String> {
        if let Some(allow) = &self.allow
            && !allow.iter().any(|a| a.matches(host, port))
        {
            let list: Vec<String> = allow.iter().map(ToString::to_string).collect();
            return Err(format!(
                "jobs submitted to this server may not connect to {host}:{port}: it is not in \
                 the server's egress allow list ({}); the operator adds hosts with \
                 `fust serve --allow-egress HOST[:PORT]`",
                if list.is_empty() {
                    "empty".to_string()
                } else {
                    list.join(", ")
                }
            ));
        }
        Ok(())
    }
}

/// Whether `ip` is an address no job may reach: link-local addresses, where the cloud
/// metadata services live (169.254.169.254 on AWS, GCP and Azure, fd00:ec2::254 on AWS,
/// 100.100.100.200 on Alibaba Cloud), and the unspecified address.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => {
                v6.is_unicast_link_local()
                    || v6.is_unspecified()
                    || v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
            }
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    ip.is_link_local() || ip.is_unspecified() || ip == Ipv4Addr::new(100, 100, 100, 200)
}

static POLICY: OnceLock<EgressPolicy> = OnceLock::new();

/// Makes `policy` the process's (once; `fust serve` calls it at start).
pub fn install(policy: EgressPolicy) {
    let _ = POLICY.set(policy);
}

/// Whether this process runs submitted jobs under a policy (`fust serve`).
pub fn restricted() -> bool {
    POLICY.get().is_some()
}

/// Checks `host:port` against the installed policy (nothing to check without one),
/// resolving the name.
pub async fn check(host: &str, port: u16) -> Result<(), String> {
    let Some(policy) = POLICY.get() else {
        return Ok(());
    };
    policy.check_name(host, port)?;
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(a) => a.collect(),
        // Not resolvable: the connection fails on its own, with its own message.
        Err(_) => return Ok(()),
    };
    refuse_forbidden(host, &addrs)
}

/// [`check`] for code that cannot await (object-store set-up); resolves with the
/// system resolver, blocking briefly.
pub fn check_blocking(host: &str, port: u16) -> Result<(), String> {
    let Some(policy) = POLICY.get() else {
        return Ok(());
    };
    policy.check_name(host, port)?;
    let addrs: Vec<SocketAddr> = match (host, port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(_) => return Ok(()),
    };
    refuse_forbidden(host, &addrs)
}

fn refuse_forbidden(host: &str, addrs: &[SocketAddr]) -> Result<(), String> {
    match addrs.iter().find(|a| forbidden(a.ip())) {
        Some(a) => Err(format!(
            "jobs submitted to this server may not connect to {host}: it resolves to {}, a \
             link-local or cloud metadata address, which no job may reach",
            a.ip()
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_entries_parse_and_match() {
        let a: Allowed = "DB.internal:5432".parse().unwrap();
        assert!(a.matches("db.internal", 5432));
        assert!(!a.matches("db.internal", 5433));
        assert!(!a.matches("other.internal", 5432));
        let d: Allowed = "*.example.com".parse().unwrap();
        assert!(d.matches("s3.eu.example.com", 443));
        assert!(!d.matches("example.com.evil.net", 443));
        let v6: Allowed = "[::1]:5432".parse().unwrap();
        assert!(v6.matches("::1", 5432) && v6.matches("[::1]", 5432));
        let ip: Allowed = "127.0.0.1".parse().unwrap();
        assert!(ip.matches("127.0.0.1", 1));
        for bad in ["", "host:port", "a b", "*.", "user@host", "[::1"] {
            assert!(bad.parse::<Allowed>().is_err(), "{bad}");
        }
        let policy = EgressPolicy {
            allow: Some(vec![a]),
        };
        let e = policy.check_name("10.0.0.9", 5432).unwrap_err();
        assert!(
            e.contains("10.0.0.9:5432") && e.contains("--allow-egress"),
            "{e}"
        );
    }

    #[test]
    fn metadata_and_link_local_addresses_are_forbidden() {
        for ip in [
            "169.254.169.254",
            "169.254.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
        ] {
            assert!(forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["127.0.0.1", "10.1.2.3", "8.8.8.8", "::1", "2001:db8::1"] {
            assert!(!forbidden(ip.parse().unwrap()), "{ip}");
        }
        let e = refuse_forbidden("meta", &["169.254.169.254:80".parse().unwrap()]).unwrap_err();
        assert!(
            e.contains("169.254.169.254") && e.contains("metadata"),
            "{e}"
        );
    }
}
