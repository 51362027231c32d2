//! Trino coordinators through the REST API: `/v1/info` (public) for health and version,
//! `/v1/query` (with `X-Trino-User`) for query load, outcomes and latency, and optionally
//! `/ui/api/stats` (behind the web UI's login) for workers and drivers.
//!
//! `/v1/query` lists every query the coordinator still remembers, finished ones included
//! for minutes after they ended, so outcomes are derived by watching the list: a query is
//! counted and observed the first time it is seen FINISHED or FAILED and never again.
//! The ids remembered for that are exactly the final queries of the latest list (a query
//! that left the list never comes back), so memory follows what the coordinator itself
//! holds (`query.max-history`) and never grows with the exporter's age. Queries already
//! final at the first successful poll ended before we watched and are not counted.
//!
//! JSON is read with tolerant types: unknown fields are ignored and optional fields may be
//! missing, because field sets differ between Trino 351 and 48x. One bad entry in the
//! query list is skipped and counted in `lakewatch_trino_malformed_queries_total`; it never
//! fails the cycle.

pub mod airlift;
pub mod api;
pub mod settings;
pub mod tracker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderName, HeaderValue, SET_COOKIE};
use hyper::{Method, StatusCode};
use lakewatch_catalog as cat;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::{BoxFuture, CollectError, Collector, Family, Fragment, Job};
use crate::collector::trino::api::{ClusterStats, Entry, QueryListReader, ServerInfo};
use crate::collector::trino::settings::{TrinoAuth, TrinoConfig, TrinoTarget};
use crate::collector::trino::tracker::{Load, QueryTracker};
use crate::config::schedule::Schedule;
use crate::error_kind::ErrorKind;
use crate::http_client::{self, HttpError, Response};

/// Largest response body read. A `/v1/query` entry is 2–5 kB (it carries the query
/// text), so this fits tens of thousands of queries while bounding a runaway response.
const BODY_LIMIT: usize = 64 << 20;

/// The cookie Trino's web UI sets after a form login (`FormWebUiAuthenticationFilter`).
const UI_TOKEN_COOKIE: &str = "Trino-UI-Token";

/// Node states Trino reports (`NodeState`); each gets a 0/1 series so alerts can match
/// on `state` without the series appearing and disappearing.
const NODE_STATES: [&str; 5] = ["ACTIVE", "INACTIVE", "DRAINING", "DRAINED", "SHUTTING_DOWN"];

// ---------------------------------------------------------------------------------
// The collector.

/// Why a step of a cycle failed.
#[derive(Debug)]
struct Failure {
    kind: ErrorKind,
    message: String,
}

impl From<HttpError> for Failure {
    fn from(e: HttpError) -> Failure {
        Failure {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl Failure {
    fn into_error(self, fragment: Fragment) -> CollectError {
        CollectError::new(self.kind, self.message).with_fragment(fragment)
    }
}

/// Collects one Trino coordinator.
pub struct TrinoCollector {
    target: TrinoTarget,
    /// How long a cycle may take: a little less than the scheduler's timeout, so a hung
    /// coordinator is reported by this collector (with `trino_up 0`) rather than cut off
    /// by the scheduler with nothing published.
    budget: Duration,
    tracker: QueryTracker,
    /// The web UI session, reused until Trino asks for a new login.
    ui_cookie: Option<HeaderValue>,
}

impl TrinoCollector {
    /// A collector for `target`, on `schedule`.
    pub fn new(target: TrinoTarget, schedule: Schedule) -> TrinoCollector {
        let margin =
            (schedule.timeout / 10).clamp(Duration::from_millis(20), Duration::from_secs(1));
        TrinoCollector {
            tracker: QueryTracker::new(target.buckets.clone()),
            budget: schedule.timeout.saturating_sub(margin),
            target,
            ui_cookie: None,
        }
    }

    async fn cycle(&mut self) -> Result<Fragment, CollectError> {
        let deadline = Instant::now() + self.budget;
        let name = self.target.name.clone();
        let t = [name.as_str()];
        let mut out = Fragment::default();

        let info: ServerInfo =
            match within(deadline, "/v1/info", self.get_json("/v1/info", false)).await {
                Ok(info) => info,
                Err(f) => {
                    out.push(&cat::TRINO_UP, t, 0.0);
                    return Err(f.into_error(out));
                }
            };
        out.push(&cat::TRINO_UP, t, 1.0);
        let version = info
            .node_version
            .as_ref()
            .and_then(|v| v.version.clone())
            .unwrap_or_default();
        out.push(
            &cat::TRINO_INFO,
            [
                name.as_str(),
                &version,
                info.environment.as_deref().unwrap_or(""),
                if info.coordinator { "true" } else { "false" },
            ],
            1.0,
        );
        out.push(&cat::TRINO_STARTING, t, f64::from(u8::from(info.starting)));
        // A malformed uptime only costs the uptime series and restart detection.
        let uptime = info
            .uptime
            .as_deref()
            .and_then(|u| airlift::parse_duration(u).ok());
        if let Some(u) = uptime {
            out.push(&cat::TRINO_UPTIME, t, u);
        }

        let state = match info.state {
            Some(s) => s,
            None => match within(
                deadline,
                "/v1/info/state",
                self.get_json::<String>("/v1/info/state", false),
            )
            .await
            {
                Ok(s) => s,
                Err(f) => return Err(f.into_error(out)),
            },
        };
        for s in NODE_STATES {
            out.push(
                &cat::TRINO_NODE_STATE,
                [name.as_str(), s],
                f64::from(u8::from(s == state)),
            );
        }
        if !NODE_STATES.contains(&state.as_str()) {
            out.push(&cat::TRINO_NODE_STATE, [name.as_str(), state.as_str()], 1.0);
        }

        let entries = match within(deadline, "/v1/query", self.queries()).await {
            Ok(e) => e,
            Err(f) => return Err(f.into_error(out)),
        };
        // Synchronous from here on: a cancellation can no longer split an update.
        let restarts = self.tracker.restarts;
        let load = self.tracker.observe(uptime, &entries);
        if self.tracker.restarts > restarts {
            tracing::info!(target = %name, "Trino coordinator restarted (uptime went down); its query list is taken as new");
        }
        self.push_queries(&mut out, load);

        if self.target.ui_stats {
            match within(deadline, "/ui/api/stats", self.ui_stats()).await {
                Ok(stats) => {
                    for (metric, value) in [
                        (&cat::TRINO_ACTIVE_WORKERS, stats.active_workers),
                        (&cat::TRINO_RUNNING_DRIVERS, stats.running_drivers),
                        (
                            &cat::TRINO_AVAILABLE_PROCESSORS,
                            stats.total_available_processors,
                        ),
                    ] {
                        if let Some(v) = value {
                            out.push(metric, t, v);
                        }
                    }
                }
                Err(f) => return Err(f.into_error(out)),
            }
        }
        if let Some(allow) = &self.target.metrics_allow {
            match within(deadline, "/metrics", self.own_metrics(allow)).await {
                Ok(families) => out.passthrough = families,
                Err(f) => return Err(f.into_error(out)),
            }
        }
        Ok(out)
    }

    /// Trino's own OpenMetrics endpoint (same authentication as the REST API), filtered
    /// by the target's allow-list and labelled with the target.
    async fn own_metrics(
        &self,
        allow: &crate::passthrough::AllowList,
    ) -> Result<Vec<Family>, Failure> {
        let resp = self
            .send(Method::GET, "/metrics", &self.api_headers(), None)
            .await?;
        check_status("/metrics", resp.status)?;
        let text = std::str::from_utf8(&resp.body).map_err(|_| Failure {
            kind: ErrorKind::Parse,
            message: "/metrics: body is not UTF-8".into(),
        })?;
        crate::passthrough::select(
            text,
            allow,
            |n| cat::lookup(n).is_some(),
            &[("target", self.target.name.as_str())],
        )
        .map_err(|e| Failure {
            kind: ErrorKind::Parse,
            message: format!("/metrics: {e}"),
        })
    }

    fn push_queries(&self, out: &mut Fragment, load: Load) {
        let name = self.target.name.as_str();
        let t = [name];
        out.push(&cat::TRINO_RUNNING_QUERIES, t, load.running as f64);
        out.push(&cat::TRINO_QUEUED_QUERIES, t, load.queued as f64);
        out.push(&cat::TRINO_BLOCKED_QUERIES, t, load.blocked as f64);
        out.push(&cat::TRINO_RESERVED_MEMORY, t, load.reserved_bytes as f64);
        let totals = &self.tracker.totals;
        out.push(
            &cat::TRINO_QUERIES,
            [name, "FINISHED"],
            totals.finished as f64,
        );
        out.push(&cat::TRINO_QUERIES, [name, "FAILED"], totals.failed as f64);
        for (kind, n) in &totals.failed_by_type {
            out.push(&cat::TRINO_FAILED_QUERIES, [name, kind], *n as f64);
        }
        out.push(&cat::TRINO_QUERY_INPUT_BYTES, t, totals.input_bytes as f64);
        for (metric, h) in [
            (&cat::TRINO_QUERY_EXECUTION_TIME, &totals.execution),
            (&cat::TRINO_QUERY_QUEUED_TIME, &totals.queued),
            (&cat::TRINO_QUERY_CPU_TIME, &totals.cpu),
        ] {
            out.push_histogram(metric, t, Arc::new(h.snapshot()));
        }
        out.push(&cat::TRINO_MALFORMED_QUERIES, t, totals.malformed as f64);
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<Bytes>,
    ) -> Result<Response, Failure> {
        Ok(http_client::request(
            &self.target.endpoint,
            method,
            path,
            headers,
            body,
            BODY_LIMIT,
        )
        .await?)
    }

    /// Headers that identify and authenticate the exporter to Trino's API.
    fn api_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut h = Vec::with_capacity(2);
        // Validated as header-safe when the config was loaded.
        if let Ok(user) = HeaderValue::from_str(&self.target.user) {
            h.push((HeaderName::from_static("x-trino-user"), user));
        }
        let auth = match &self.target.auth {
            TrinoAuth::None => None,
            TrinoAuth::Password(p) => Some(http_client::basic_auth(&self.target.user, p.expose())),
            TrinoAuth::Token(tok) => Some(format!("Bearer {}", tok.expose())),
        };
        if let Some(mut v) = auth.and_then(|a| HeaderValue::from_str(&a).ok()) {
            v.set_sensitive(true);
            h.push((AUTHORIZATION, v));
        }
        h
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        authenticated: bool,
    ) -> Result<T, Failure> {
        // /v1/info is public: credentials go only where they are needed.
        let headers = if authenticated {
            self.api_headers()
        } else {
            Vec::new()
        };
        let resp = self.send(Method::GET, path, &headers, None).await?;
        check_status(path, resp.status)?;
        decode(path, &resp.body)
    }

    async fn queries(&self) -> Result<Vec<Entry>, Failure> {
        let path = "/v1/query";
        let mut reader = QueryListReader::default();
        let (status, _) = http_client::request_streamed(
            &self.target.endpoint,
            Method::GET,
            path,
            &self.api_headers(),
            None,
            BODY_LIMIT,
            |status, data| {
                if status.is_success() {
                    reader.push(data);
                }
            },
        )
        .await?;
        check_status(path, status)?;
        reader.finish().map_err(|e| Failure {
            kind: ErrorKind::Parse,
            message: format!("{path}: not a JSON list of queries: {e}"),
        })
    }

    /// `/ui/api/stats`, logging in to the web UI first when it asks (401 or a redirect
    /// to the login page), then once more with the new session cookie.
    async fn ui_stats(&mut self) -> Result<ClusterStats, Failure> {
        let path = "/ui/api/stats";
        for attempt in 0..2 {
            let headers: Vec<_> = self.ui_cookie.iter().map(|c| (COOKIE, c.clone())).collect();
            let resp = self.send(Method::GET, path, &headers, None).await?;
            let wants_login =
                resp.status == StatusCode::UNAUTHORIZED || resp.status.is_redirection();
            if attempt == 0 && wants_login {
                self.ui_cookie = Some(self.ui_login().await?);
                continue;
            }
            check_status(path, resp.status)?;
            return decode(path, &resp.body);
        }
        Err(Failure {
            kind: ErrorKind::Auth,
            message: format!(
                "{path}: still asks for a login after logging in to the web UI as {}",
                self.target.user
            ),
        })
    }

    /// Form login of Trino's web UI (`POST /ui/login`); returns the session cookie.
    async fn ui_login(&self) -> Result<HeaderValue, Failure> {
        let mut form = vec![
            ("username", self.target.user.as_str()),
            ("redirectPath", ""),
        ];
        if let TrinoAuth::Password(p) = &self.target.auth {
            form.push(("password", p.expose()));
        }
        let body = Bytes::from(http_client::form_encode(&form));
        let headers = [(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )];
        let resp = self
            .send(Method::POST, "/ui/login", &headers, Some(body))
            .await?;
        let cookie = resp
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find(|pair| pair.starts_with(&format!("{UI_TOKEN_COOKIE}=")))
            .and_then(|pair| HeaderValue::from_str(pair).ok());
        cookie
            .map(|mut c| {
                c.set_sensitive(true);
                c
            })
            .ok_or_else(|| Failure {
                kind: ErrorKind::Auth,
                message: format!(
                    "web UI login as {} returned HTTP {} without a {UI_TOKEN_COOKIE} cookie (wrong password, or the UI does not use form login)",
                    self.target.user, resp.status
                ),
            })
    }
}

/// The Trino collector's jobs: one per coordinator.
pub fn jobs(settings: &TrinoConfig) -> Vec<Job> {
    settings
        .targets
        .iter()
        .map(|target| Job {
            schedule: settings.schedule,
            collector: Box::new(TrinoCollector::new(target.clone(), settings.schedule)),
            // With the schedule: the cycle's time budget derives from it.
            settings: super::Settings::of(TrinoConfig {
                targets: vec![target.clone()],
                // Where targets are listed is not how one is collected.
                targets_files: Vec::new(),
                docker: None,
                ..settings.clone()
            }),
        })
        .collect()
}

impl Collector for TrinoCollector {
    fn name(&self) -> &'static str {
        "trino"
    }

    fn target(&self) -> &str {
        &self.target.name
    }

    fn collect(&mut self) -> BoxFuture<'_, Result<Fragment, CollectError>> {
        Box::pin(async move {
            let result = self.cycle().await;
            super::with_labels(result, &self.target.labels)
        })
    }
}

async fn within<T>(
    deadline: Instant,
    path: &str,
    step: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout_at(deadline, step)
        .await
        .unwrap_or_else(|_| {
            Err(Failure {
                kind: ErrorKind::Timeout,
                message: format!("{path}: no complete answer within the collector's timeout"),
            })
        })
}

fn check_status(path: &str, status: StatusCode) -> Result<(), Failure> {
    if status.is_success() {
        return Ok(());
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(Failure {
            kind: ErrorKind::Auth,
            message: format!("{path}: HTTP {status}: check the target's user, password or token"),
        });
    }
    Err(Failure {
        kind: ErrorKind::Http,
        message: format!("{path}: HTTP {status}"),
    })
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| Failure {
        kind: ErrorKind::Parse,
        message: format!("{path}: unexpected response ({e})"),
    })
}
