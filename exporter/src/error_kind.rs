//! Why a collector cycle failed, as the `kind` label of
//! `lakewatch_collector_errors_total`: a small fixed vocabulary, so the label's values
//! are bounded and users' alerts can match on them. Each variant's label is written here
//! and nowhere else.

use std::fmt;

/// The kind of a failed cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Credentials refused (HTTP 401/403, Postgres password or authorization).
    Auth,
    /// The settings cannot work (an invalid header value, an unusable Docker host).
    Config,
    /// The connection was refused, reset or never established.
    Connect,
    /// A host name did not resolve.
    Dns,
    /// An HTTP error answer (other than 401/403 and 5xx), or a broken HTTP exchange.
    Http,
    /// An HTTP 5xx answer: the server is there but failing.
    Http5xx,
    /// Local I/O (procfs, cgroupfs) or an error no other kind describes.
    Io,
    /// The bucket or object does not exist.
    NotFound,
    /// The collector panicked (it is restarted).
    Panic,
    /// An answer that could not be read.
    Parse,
    /// A Postgres query failed.
    Query,
    /// Work left out this cycle (e.g. the S3 probe after a failed listing).
    Skipped,
    /// No answer in time.
    Timeout,
    /// A TLS handshake or certificate problem.
    Tls,
    /// The S3 canary read back something other than what it wrote.
    Verify,
}

impl ErrorKind {
    /// The label value on `/metrics`; never rename one (alerts match on it).
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::Config => "config",
            ErrorKind::Connect => "connect",
            ErrorKind::Dns => "dns",
            ErrorKind::Http => "http",
            ErrorKind::Http5xx => "http_5xx",
            ErrorKind::Io => "io",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Panic => "panic",
            ErrorKind::Parse => "parse",
            ErrorKind::Query => "query",
            ErrorKind::Skipped => "skipped",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::Verify => "verify",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind::{self, *};

    const ALL: [ErrorKind; 15] = [
        Auth, Config, Connect, Dns, Http, Http5xx, Io, NotFound, Panic, Parse, Query, Skipped,
        Timeout, Tls, Verify,
    ];

    #[test]
    fn labels_are_distinct_snake_case_and_displayed_as_is() {
        let mut seen = std::collections::HashSet::new();
        for kind in ALL {
            let label = kind.label();
            assert!(seen.insert(label), "{label} used twice");
            assert!(
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{label}"
            );
            assert_eq!(kind.to_string(), label);
        }
    }
}
