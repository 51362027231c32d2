//! Object storage (any S3: MinIO, Ceph RGW, SeaweedFS, AWS). Bucket usage keeps MinIO's
//! v2 names so existing MinIO dashboards work against any S3; the probe and scan state
//! are our own additions.
//!
//! Every series carries `target` (the configured target name), so two stores with a
//! bucket of the same name stay two series.

use crate::{Kind, Metric, Source};

const fn m(
    kind: Kind,
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
) -> Metric {
    Metric::new(Source::S3, kind, name, help, labels)
}

const BUCKET: &[&str] = &["target", "bucket"];
const OP: &[&str] = &["target", "op"];

metric!(
    S3_UP = m(
        Kind::Gauge,
        "s3_up",
        "1 if the S3 endpoint answered the last cycle's probe as expected, 0 otherwise.",
        &["target"],
    )
);
metric!(
    S3_BUCKET_USAGE_BYTES = m(
        Kind::Gauge,
        "minio_bucket_usage_total_bytes",
        "Total size of the objects in the bucket (from the last complete listing).",
        BUCKET,
    )
    .unit("bytes")
);
metric!(
    /// MinIO types this a gauge; its name ends in `_total`, which only `unknown` (0.0.4
    /// `untyped`) may carry without tripping Prometheus' linter, and the name must not change.
    S3_BUCKET_OBJECTS = m(
        Kind::Unknown,
        "minio_bucket_usage_object_total",
        "Number of objects in the bucket (from the last complete listing).",
        BUCKET,
    )
);
metric!(
    S3_BUCKET_LARGEST_OBJECT = m(
        Kind::Gauge,
        "lakewatch_s3_bucket_largest_object_bytes",
        "Size of the largest object in the bucket (from the last complete listing).",
        BUCKET,
    )
    .unit("bytes")
);
metric!(
    S3_BUCKET_SCAN_COMPLETE = m(
        Kind::Gauge,
        "lakewatch_s3_bucket_scan_complete",
        "1 once a complete listing of the bucket has been counted, 0 while the first pass is still running.",
        BUCKET,
    )
);
metric!(
    S3_BUCKET_SCAN_TIMESTAMP = m(
        Kind::Gauge,
        "lakewatch_s3_bucket_scan_last_complete_timestamp_seconds",
        "Unix time at which the last complete listing of the bucket finished (0 if none yet).",
        BUCKET,
    )
    .unit("seconds")
);
metric!(
    S3_PROBE_SUCCESS = m(
        Kind::Gauge,
        "lakewatch_s3_probe_success",
        "1 if the canary operation (put, get, delete, list, head) succeeded in the last cycle.",
        OP,
    )
);
metric!(
    S3_PROBE_DURATION = m(
        Kind::Histogram,
        "lakewatch_s3_probe_duration_seconds",
        "Latency of canary operations since the exporter started.",
        OP,
    )
    .unit("seconds")
);

/// S3 metrics in reference order.
pub static S3: &[&Metric] = &[
    &S3_UP,
    &S3_BUCKET_USAGE_BYTES,
    &S3_BUCKET_OBJECTS,
    &S3_BUCKET_LARGEST_OBJECT,
    &S3_BUCKET_SCAN_COMPLETE,
    &S3_BUCKET_SCAN_TIMESTAMP,
    &S3_PROBE_SUCCESS,
    &S3_PROBE_DURATION,
];
