//! Filesystems and block devices, with node_exporter's names, labels and help texts so
//! existing "Node Exporter Full" dashboards and alerts keep working.

use crate::{Kind, Metric, Source};

const fn m(
    kind: Kind,
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
) -> Metric {
    Metric::new(Source::Disk, kind, name, help, labels)
}

const FS: &[&str] = &["device", "fstype", "mountpoint"];
const DEV: &[&str] = &["device"];

metric!(
    FILESYSTEM_SIZE = m(
        Kind::Gauge,
        "node_filesystem_size_bytes",
        "Filesystem size in bytes.",
        FS,
    )
    .unit("bytes")
);
metric!(
    FILESYSTEM_FREE = m(
        Kind::Gauge,
        "node_filesystem_free_bytes",
        "Filesystem free space in bytes.",
        FS,
    )
    .unit("bytes")
);
metric!(
    FILESYSTEM_AVAIL = m(
        Kind::Gauge,
        "node_filesystem_avail_bytes",
        "Filesystem space available to non-root users in bytes.",
        FS,
    )
    .unit("bytes")
);
metric!(
    FILESYSTEM_FILES = m(
        Kind::Gauge,
        "node_filesystem_files",
        "Filesystem total file nodes.",
        FS,
    )
);
metric!(
    FILESYSTEM_FILES_FREE = m(
        Kind::Gauge,
        "node_filesystem_files_free",
        "Filesystem total free file nodes.",
        FS,
    )
);
metric!(
    FILESYSTEM_READONLY = m(
        Kind::Gauge,
        "node_filesystem_readonly",
        "Filesystem read-only status.",
        FS,
    )
);
metric!(
    FILESYSTEM_DEVICE_ERROR = m(
        Kind::Gauge,
        "node_filesystem_device_error",
        "Whether an error occurred while getting statistics for the given device (1 also while statfs hangs).",
        FS,
    )
);
metric!(
    DISK_READ_BYTES = m(
        Kind::Counter,
        "node_disk_read_bytes_total",
        "The total number of bytes read successfully.",
        DEV,
    )
    .unit("bytes")
);
metric!(
    DISK_WRITTEN_BYTES = m(
        Kind::Counter,
        "node_disk_written_bytes_total",
        "The total number of bytes written successfully.",
        DEV,
    )
    .unit("bytes")
);
metric!(
    DISK_READS_COMPLETED = m(
        Kind::Counter,
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        DEV,
    )
);
metric!(
    DISK_WRITES_COMPLETED = m(
        Kind::Counter,
        "node_disk_writes_completed_total",
        "The total number of writes completed successfully.",
        DEV,
    )
);
metric!(
    DISK_IO_TIME = m(
        Kind::Counter,
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        DEV,
    )
    .unit("seconds")
);
metric!(
    PATH_SIZE = m(
        Kind::Gauge,
        "lakewatch_path_size_bytes",
        "Total size of regular files under a configured path (from the last complete walk).",
        &["path"],
    )
    .unit("bytes")
);
metric!(
    PATH_FILES = m(
        Kind::Gauge,
        "lakewatch_path_files",
        "Number of regular files under a configured path (from the last complete walk).",
        &["path"],
    )
);

/// Disk metrics in reference order.
pub static DISK: &[&Metric] = &[
    &FILESYSTEM_SIZE,
    &FILESYSTEM_FREE,
    &FILESYSTEM_AVAIL,
    &FILESYSTEM_FILES,
    &FILESYSTEM_FILES_FREE,
    &FILESYSTEM_READONLY,
    &FILESYSTEM_DEVICE_ERROR,
    &DISK_READ_BYTES,
    &DISK_WRITTEN_BYTES,
    &DISK_READS_COMPLETED,
    &DISK_WRITES_COMPLETED,
    &DISK_IO_TIME,
    &PATH_SIZE,
    &PATH_FILES,
];
