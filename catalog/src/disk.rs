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

pub static FILESYSTEM_SIZE: Metric = m(
    Kind::Gauge,
    "node_filesystem_size_bytes",
    "Filesystem size in bytes.",
    FS,
)
.unit("bytes");
pub static FILESYSTEM_FREE: Metric = m(
    Kind::Gauge,
    "node_filesystem_free_bytes",
    "Filesystem free space in bytes.",
    FS,
)
.unit("bytes");
pub static FILESYSTEM_AVAIL: Metric = m(
    Kind::Gauge,
    "node_filesystem_avail_bytes",
    "Filesystem space available to non-root users in bytes.",
    FS,
)
.unit("bytes");
pub static FILESYSTEM_FILES: Metric = m(
    Kind::Gauge,
    "node_filesystem_files",
    "Filesystem total file nodes.",
    FS,
);
pub static FILESYSTEM_FILES_FREE: Metric = m(
    Kind::Gauge,
    "node_filesystem_files_free",
    "Filesystem total free file nodes.",
    FS,
);
pub static FILESYSTEM_READONLY: Metric = m(
    Kind::Gauge,
    "node_filesystem_readonly",
    "Filesystem read-only status.",
    FS,
);
pub static FILESYSTEM_DEVICE_ERROR: Metric = m(
    Kind::Gauge,
    "node_filesystem_device_error",
    "Whether an error occurred while getting statistics for the given device (1 also while statfs hangs).",
    FS,
);
pub static DISK_READ_BYTES: Metric = m(
    Kind::Counter,
    "node_disk_read_bytes_total",
    "The total number of bytes read successfully.",
    DEV,
)
.unit("bytes");
pub static DISK_WRITTEN_BYTES: Metric = m(
    Kind::Counter,
    "node_disk_written_bytes_total",
    "The total number of bytes written successfully.",
    DEV,
)
.unit("bytes");
pub static DISK_READS_COMPLETED: Metric = m(
    Kind::Counter,
    "node_disk_reads_completed_total",
    "The total number of reads completed successfully.",
    DEV,
);
pub static DISK_WRITES_COMPLETED: Metric = m(
    Kind::Counter,
    "node_disk_writes_completed_total",
    "The total number of writes completed successfully.",
    DEV,
);
pub static DISK_IO_TIME: Metric = m(
    Kind::Counter,
    "node_disk_io_time_seconds_total",
    "Total seconds spent doing I/Os.",
    DEV,
)
.unit("seconds");
pub static PATH_SIZE: Metric = m(
    Kind::Gauge,
    "lakewatch_path_size_bytes",
    "Total size of regular files under a configured path (from the last complete walk).",
    &["path"],
)
.unit("bytes");
pub static PATH_FILES: Metric = m(
    Kind::Gauge,
    "lakewatch_path_files",
    "Number of regular files under a configured path (from the last complete walk).",
    &["path"],
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
