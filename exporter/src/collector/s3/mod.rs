//! Object storage through the S3 API, so any S3 works (MinIO, Ceph RGW, SeaweedFS, AWS):
//! bucket usage, a canary probe and, optionally, MinIO's own cluster metrics.
//!
//! Bucket usage comes from paged ListObjectsV2, because S3 has no "bucket size" call
//! (MinIO's admin API does, but nothing else implements it). Listing a big bucket is
//! slow and, on AWS, billed per 1000 keys, so each cycle may spend at most `page_budget`
//! pages across all buckets; a pass that does not fit resumes from its continuation
//! token next cycle. Totals are published only when a pass completes: a half-counted
//! bucket would look like a sudden drop in usage and fire capacity alerts.
//!
//! The SDK client is built by hand instead of through `aws-config`: we need exactly an
//! endpoint, a region and static keys, and `aws-config`'s credential chain (SSO, STS,
//! IMDS, profiles) would add several crates and surprising lookups.

pub mod settings;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use lakewatch_catalog as cat;

use super::{BoxFuture, CollectError, Collector, Family, Fragment, Histogram, Job};
use crate::collector::s3::settings::{MinioMetrics, ProbeMode, S3Config, S3Target};
use crate::config::secret::Secret;
use crate::error_kind::ErrorKind;
use crate::{http_client, passthrough};

/// Upper bounds of the probe latency histogram: local MinIO answers in milliseconds,
/// a remote AWS region in tens to hundreds; beyond 10 s the probe is as good as down.
const PROBE_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Running totals of one listing pass.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Totals {
    bytes: u64,
    objects: u64,
    largest: u64,
}

/// Scan state of one bucket.
#[derive(Debug, Default)]
struct BucketScan {
    /// Continuation token of the pass in progress (`None`: the next page starts a pass).
    token: Option<String>,
    /// Totals of the pass in progress so far; never published.
    partial: Totals,
    /// Totals of the last complete pass and when it finished.
    complete: Option<(Totals, SystemTime)>,
}

/// A probe latency histogram that lives as long as the collector (cumulative, like any
/// Prometheus histogram).
#[derive(Debug, Clone)]
struct LatencyHistogram {
    counts: [u64; PROBE_BUCKETS.len() + 1],
    sum: f64,
}

impl LatencyHistogram {
    fn new() -> Self {
        LatencyHistogram {
            counts: [0; PROBE_BUCKETS.len() + 1],
            sum: 0.0,
        }
    }

    fn observe(&mut self, seconds: f64) {
        let i = PROBE_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(PROBE_BUCKETS.len());
        self.counts[i] += 1;
        self.sum += seconds;
    }

    fn snapshot(&self) -> Arc<Histogram> {
        let bounds = PROBE_BUCKETS.iter().copied().chain([f64::INFINITY]);
        Arc::new(Histogram {
            buckets: bounds.zip(self.counts.iter().copied()).collect(),
            sum: self.sum,
            count: self.counts.iter().sum(),
        })
    }
}

/// One failed S3 call, classified.
#[derive(Debug, Clone)]
struct S3Error {
    kind: ErrorKind,
    message: String,
}

/// Collects one S3 target.
pub struct S3Collector {
    target: S3Target,
    client: aws_sdk_s3::Client,
    scans: BTreeMap<String, BucketScan>,
    /// Bucket the next cycle starts listing with, so one huge bucket cannot starve the
    /// others: the budget goes round-robin.
    cursor: Option<String>,
    latency: BTreeMap<&'static str, LatencyHistogram>,
    interval: Duration,
}

impl S3Collector {
    /// A collector for `target`, cycling every `interval` within `timeout`.
    pub fn new(target: S3Target, interval: Duration, timeout: Duration) -> S3Collector {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let creds = Credentials::new(
            target.access_key.clone(),
            target.secret_key.expose().to_string(),
            None,
            None,
            "lakewatch-config",
        );
        // Per-attempt timeouts below the cycle timeout, and few retries: a cycle that
        // retries for longer than its own timeout would be cut without a classified error.
        let per_call = (timeout / 3).max(Duration::from_millis(200));
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&target.endpoint)
            .region(Region::new(target.region.clone()))
            .credentials_provider(creds)
            .force_path_style(target.path_style)
            .http_client(http)
            .retry_config(aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(2))
            .timeout_config(
                aws_smithy_types::timeout::TimeoutConfig::builder()
                    .connect_timeout(per_call.min(Duration::from_secs(10)))
                    .operation_attempt_timeout(per_call)
                    .build(),
            )
            .build();
        S3Collector {
            target,
            client: aws_sdk_s3::Client::from_conf(config),
            scans: BTreeMap::new(),
            cursor: None,
            latency: BTreeMap::new(),
            interval,
        }
    }

    async fn cycle(&mut self) -> Result<Fragment, CollectError> {
        let name = self.target.name.clone();
        let mut f = Fragment::default();
        let mut first_error: Option<S3Error> = None;

        let probe_ok = match self.target.probe.clone() {
            Some(probe) => {
                let results = self.probe(&probe.bucket, &probe.prefix, probe.mode).await;
                let mut ok = true;
                for (op, result) in results {
                    f.push(
                        &cat::S3_PROBE_SUCCESS,
                        [name.as_str(), op],
                        f64::from(u8::from(result.is_ok())),
                    );
                    if let Err(e) = result {
                        ok = false;
                        first_error.get_or_insert(e);
                    }
                }
                for (op, h) in &self.latency {
                    f.push_histogram(&cat::S3_PROBE_DURATION, [name.as_str(), op], h.snapshot());
                }
                ok
            }
            None => true,
        };

        let buckets = match self.client.list_buckets().send().await {
            Ok(out) => Some(
                out.buckets()
                    .iter()
                    .filter_map(|b| b.name().map(str::to_string))
                    .filter(|b| self.target.buckets.allows(b))
                    .collect::<Vec<_>>(),
            ),
            Err(e) => {
                first_error.get_or_insert(classify(&e, "list buckets", &self.target.secret_key));
                None
            }
        };
        let answered = buckets.is_some() || (self.target.probe.is_some() && probe_ok);
        f.push(
            &cat::S3_UP,
            [name.as_str()],
            f64::from(u8::from(answered && probe_ok)),
        );

        if let Some(buckets) = buckets {
            if let Err(e) = self.scan(&buckets).await {
                first_error.get_or_insert(e);
            }
            for b in &buckets {
                let l = [name.as_str(), b.as_str()];
                match self.scans.get(b).and_then(|s| s.complete) {
                    Some((t, at)) => {
                        f.push(&cat::S3_BUCKET_USAGE_BYTES, l, t.bytes as f64);
                        f.push(&cat::S3_BUCKET_OBJECTS, l, t.objects as f64);
                        f.push(&cat::S3_BUCKET_LARGEST_OBJECT, l, t.largest as f64);
                        f.push(&cat::S3_BUCKET_SCAN_COMPLETE, l, 1.0);
                        f.push(
                            &cat::S3_BUCKET_SCAN_TIMESTAMP,
                            l,
                            crate::timestamp::unix_seconds(at),
                        );
                    }
                    None => {
                        f.push(&cat::S3_BUCKET_SCAN_COMPLETE, l, 0.0);
                        f.push(&cat::S3_BUCKET_SCAN_TIMESTAMP, l, 0.0);
                    }
                }
            }
        }

        if let Some(mm) = self.target.minio_metrics.clone() {
            match self.minio(&mm).await {
                Ok(families) => f.passthrough = families,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }

        match first_error {
            None => Ok(f),
            Some(e) => Err(CollectError::new(e.kind, e.message).with_fragment(f)),
        }
    }

    /// Runs the canary and records each operation's latency. Later operations are not
    /// attempted once one fails (their success is 0), except the DELETE after a PUT, so
    /// a failed GET does not leave canaries behind.
    async fn probe(
        &mut self,
        bucket: &str,
        prefix: &str,
        mode: ProbeMode,
    ) -> Vec<(&'static str, Result<(), S3Error>)> {
        let secret = self.target.secret_key.clone();
        let mut results = Vec::new();
        match mode {
            ProbeMode::Write => {
                let nonce = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let key = format!("{prefix}canary-{}-{nonce}", std::process::id());
                let body = format!("lakewatch canary {nonce}\n").into_bytes();
                let client = self.client.clone();
                let start = Instant::now();
                let put = client
                    .put_object()
                    .bucket(bucket)
                    .key(&key)
                    .body(ByteStream::from(body.clone()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(&e, "probe PUT", &secret));
                self.observe("put", start);
                let put_ok = put.is_ok();
                results.push(("put", put));
                if !put_ok {
                    results.push(("get", Err(skipped("get"))));
                    results.push(("delete", Err(skipped("delete"))));
                    return results;
                }
                let start = Instant::now();
                let get = async {
                    let out = client
                        .get_object()
                        .bucket(bucket)
                        .key(&key)
                        .send()
                        .await
                        .map_err(|e| classify(&e, "probe GET", &secret))?;
                    let got = out.body.collect().await.map_err(|e| S3Error {
                        kind: ErrorKind::Io,
                        message: format!("probe GET: reading body: {e}"),
                    })?;
                    if got.into_bytes().as_ref() != body.as_slice() {
                        return Err(S3Error {
                            kind: ErrorKind::Verify,
                            message: format!(
                                "probe GET of {bucket}/{key} returned other bytes than were PUT"
                            ),
                        });
                    }
                    Ok(())
                }
                .await;
                self.observe("get", start);
                results.push(("get", get));
                let start = Instant::now();
                let delete = client
                    .delete_object()
                    .bucket(bucket)
                    .key(&key)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(&e, "probe DELETE", &secret));
                self.observe("delete", start);
                results.push(("delete", delete));
            }
            ProbeMode::Read => {
                let client = self.client.clone();
                let start = Instant::now();
                let list = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .max_keys(1)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(&e, "probe LIST", &secret));
                self.observe("list", start);
                results.push(("list", list));
                let start = Instant::now();
                let head = client
                    .head_bucket()
                    .bucket(bucket)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify(&e, "probe HEAD", &secret));
                self.observe("head", start);
                results.push(("head", head));
            }
        }
        results
    }

    fn observe(&mut self, op: &'static str, start: Instant) {
        self.latency
            .entry(op)
            .or_insert_with(LatencyHistogram::new)
            .observe(start.elapsed().as_secs_f64());
    }

    /// Spends this cycle's page budget on the buckets, round-robin from the cursor.
    /// State is updated after every page, so a cycle cut by the timeout loses at most
    /// the page in flight.
    async fn scan(&mut self, buckets: &[String]) -> Result<(), S3Error> {
        // Buckets that disappeared (or were filtered out) lose their state: no ghosts.
        self.scans.retain(|b, _| buckets.contains(b));
        if buckets.is_empty() {
            self.cursor = None;
            return Ok(());
        }
        let start = self
            .cursor
            .as_ref()
            .and_then(|c| buckets.iter().position(|b| b == c))
            .unwrap_or(0);
        let mut budget = self.target.page_budget;
        let mut first_error = None;
        self.cursor = None;
        for i in 0..buckets.len() {
            let bucket = &buckets[(start + i) % buckets.len()];
            if budget == 0 {
                self.cursor = Some(bucket.clone());
                break;
            }
            loop {
                let page = self.list_page(bucket).await;
                budget -= 1;
                match page {
                    Ok(true) => break, // pass complete
                    Ok(false) if budget == 0 => {
                        self.cursor = Some(bucket.clone());
                        break;
                    }
                    Ok(false) => continue,
                    Err(e) => {
                        first_error.get_or_insert(e);
                        break;
                    }
                }
            }
            if self.cursor.is_some() {
                break;
            }
        }
        match first_error {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// Lists one page of `bucket`; returns true when that page completed a pass.
    async fn list_page(&mut self, bucket: &str) -> Result<bool, S3Error> {
        let token = self.scans.get(bucket).and_then(|s| s.token.clone());
        let out = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .max_keys(self.target.page_size)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| {
                classify(
                    &e,
                    &format!("listing bucket {bucket}"),
                    &self.target.secret_key,
                )
            })?;
        let scan = self.scans.entry(bucket.to_string()).or_default();
        for o in out.contents() {
            let size = o.size().unwrap_or(0).max(0) as u64;
            scan.partial.objects += 1;
            scan.partial.bytes += size;
            scan.partial.largest = scan.partial.largest.max(size);
        }
        let next = out
            .next_continuation_token()
            .filter(|_| out.is_truncated() == Some(true))
            .map(str::to_string);
        match next {
            Some(t) => {
                scan.token = Some(t);
                Ok(false)
            }
            None => {
                scan.complete = Some((std::mem::take(&mut scan.partial), SystemTime::now()));
                scan.token = None;
                Ok(true)
            }
        }
    }

    /// Fetches MinIO's cluster metrics and keeps the allow-listed families.
    async fn minio(&self, mm: &MinioMetrics) -> Result<Vec<Family>, S3Error> {
        let token = match &mm.token {
            Some(t) => t.clone(),
            None => Secret::new(minio_jwt(
                &self.target.access_key,
                &self.target.secret_key,
                SystemTime::now() + self.interval * 2 + Duration::from_secs(60),
            )),
        };
        let text = passthrough::fetch(
            &mm.endpoint,
            Some(&token),
            self.interval.min(Duration::from_secs(30)),
        )
        .await
        .map_err(|e| S3Error {
            kind: e.kind,
            message: format!(
                "MinIO metrics: {}",
                redact(&e.message, &self.target.secret_key)
            ),
        })?;
        passthrough::select(
            &text,
            &mm.allow,
            |n| cat::lookup(n).is_some(),
            &[("target", self.target.name.as_str())],
        )
        .map_err(|e| S3Error {
            kind: ErrorKind::Parse,
            message: format!("MinIO metrics from {}: {e}", mm.endpoint.url("")),
        })
    }
}

fn skipped(op: &str) -> S3Error {
    S3Error {
        kind: ErrorKind::Skipped,
        message: format!("probe {op} not attempted after an earlier failure"),
    }
}

/// Removes the secret from a message, should an upstream ever echo it back.
fn redact(message: &str, secret: &Secret) -> String {
    if secret.expose().is_empty() {
        message.to_string()
    } else {
        message.replace(secret.expose(), "<redacted>")
    }
}

/// Classifies an SDK error into the `kind` vocabulary and a message for the log and
/// status page. The SDK's own Display is "service error" or "dispatch failure"; the
/// useful part is in the source chain or the S3 error code.
fn classify<E>(e: &SdkError<E, HttpResponse>, what: &str, secret: &Secret) -> S3Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (kind, detail): (ErrorKind, String) = match e {
        SdkError::TimeoutError(_) => (ErrorKind::Timeout, "no answer in time".into()),
        SdkError::DispatchFailure(d) => {
            let text = http_client::error_chain(e);
            let kind = if d.is_timeout() {
                ErrorKind::Timeout
            } else {
                passthrough::classify_transport(&text)
            };
            (kind, text)
        }
        SdkError::ServiceError(s) => {
            let err = s.err();
            let status = s.raw().status().as_u16();
            let code = err.code().unwrap_or("");
            let kind = match (status, code) {
                (401 | 403, _)
                | (_, "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied") => {
                    ErrorKind::Auth
                }
                (500..=599, _) => ErrorKind::Http5xx,
                (404, _) | (_, "NoSuchBucket" | "NoSuchKey") => ErrorKind::NotFound,
                _ => ErrorKind::Http,
            };
            let msg = err.message().unwrap_or("");
            (
                kind,
                format!("HTTP {status} {code} {msg}").trim().to_string(),
            )
        }
        SdkError::ResponseError(_) => (ErrorKind::Parse, http_client::error_chain(e)),
        SdkError::ConstructionFailure(_) => (ErrorKind::Config, http_client::error_chain(e)),
        _ => (ErrorKind::Io, http_client::error_chain(e)),
    };
    S3Error {
        kind,
        message: format!("{what}: {}", redact(&detail, secret)),
    }
}

/// A bearer token for MinIO's Prometheus endpoints, signed the way
/// `mc admin prometheus generate` signs it: HS512 with the secret key over
/// `{"exp", "sub": access key, "iss": "prometheus"}`.
pub fn minio_jwt(access_key: &str, secret: &Secret, expires: SystemTime) -> String {
    use base64::Engine as _;
    use hmac::{KeyInit as _, Mac as _};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let exp = expires
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = b64.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
    let claims = serde_json::json!({ "exp": exp, "sub": access_key, "iss": "prometheus" });
    let claims = b64.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let mut mac = hmac::Hmac::<sha2::Sha512>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(signing_input.as_bytes());
    let sig = b64.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// The S3 collector's jobs: one per endpoint.
pub fn jobs(settings: &S3Config) -> Vec<Job> {
    settings
        .targets
        .iter()
        .map(|target| Job {
            schedule: settings.schedule,
            collector: Box::new(S3Collector::new(
                target.clone(),
                settings.schedule.interval,
                settings.schedule.timeout,
            )),
            // With the schedule: the S3 client's per-call timeouts derive from it.
            settings: super::Settings::of(S3Config {
                targets: vec![target.clone()],
                // Where targets are listed is not how one is collected.
                targets_files: Vec::new(),
                docker: None,
                ..settings.clone()
            }),
        })
        .collect()
}

impl Collector for S3Collector {
    fn name(&self) -> &'static str {
        "s3"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_histogram_buckets() {
        let mut h = LatencyHistogram::new();
        h.observe(0.001);
        h.observe(0.2);
        h.observe(60.0);
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.buckets[0], (0.005, 1));
        assert_eq!(s.buckets[5], (0.25, 1));
        assert_eq!(s.buckets.last(), Some(&(f64::INFINITY, 1)));
    }

    /// A body in the shape MinIO documents for `/minio/v2/metrics/cluster` (one node,
    /// four drives), trimmed to a few families per group.
    const MINIO_FIXTURE: &str = include_str!("../../../tests/fixtures/minio_v2_cluster.prom");

    #[test]
    fn minio_fixture_default_allow_list() {
        let allow =
            passthrough::AllowList::new(crate::collector::s3::settings::MINIO_ALLOW).unwrap();
        let fams = passthrough::select(
            MINIO_FIXTURE,
            &allow,
            |n| cat::lookup(n).is_some(),
            &[("target", "lake")],
        )
        .unwrap();
        let names: Vec<String> = fams.iter().map(|f| f.query_name()).collect();
        assert!(names.contains(&"minio_cluster_capacity_usable_free_bytes".to_string()));
        assert!(names.contains(&"minio_cluster_health_erasure_set_status".to_string()));
        assert!(names.contains(&"minio_node_drive_latency_us".to_string()));
        assert!(names.contains(&"minio_cluster_drive_offline_total".to_string()));
        // Not allow-listed, or ours (the catalog's bucket usage comes from the S3 scan).
        for absent in [
            "minio_s3_requests_total",
            "minio_bucket_usage_total_bytes",
            "minio_bucket_usage_object_total",
            "minio_cluster_nodes_offline_total",
        ] {
            assert!(!names.contains(&absent.to_string()), "{absent}");
        }
        let drive_free = fams
            .iter()
            .find(|f| f.name == "minio_node_drive_free_bytes")
            .unwrap();
        assert_eq!(drive_free.kind, cat::Kind::Gauge);
        assert_eq!(drive_free.samples.len(), 2);
        assert_eq!(
            drive_free.samples[0].labels,
            [
                ("drive".to_string(), "/data1".to_string()),
                ("server".to_string(), "127.0.0.1:9000".to_string()),
                ("target".to_string(), "lake".to_string())
            ]
        );
        assert_eq!(
            drive_free.samples[0].value,
            super::super::Value::Number(1.0570323968e11)
        );
        let offline = fams
            .iter()
            .find(|f| f.name == "minio_cluster_drive_offline_total")
            .unwrap();
        assert_eq!(
            offline.kind,
            cat::Kind::Unknown,
            "a gauge named *_total passes untyped"
        );
    }

    #[test]
    fn jwt_matches_a_known_signature() {
        use base64::Engine as _;
        let secret = Secret::new("minio-secret");
        let t = minio_jwt(
            "minio",
            &secret,
            UNIX_EPOCH + Duration::from_secs(4_000_000_000),
        );
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = String::from_utf8(b64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, r#"{"alg":"HS512","typ":"JWT"}"#);
        let claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["sub"], "minio");
        assert_eq!(claims["iss"], "prometheus");
        assert_eq!(claims["exp"], 4_000_000_000u64);
        assert_eq!(
            b64.decode(parts[2]).unwrap().len(),
            64,
            "HS512 signs 64 bytes"
        );
        assert!(!t.contains("minio-secret"));
    }
}
