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
// Block devices, in node_exporter's order of /proc/diskstats' columns (the kernel's
// Documentation/admin-guide/iostats.rst), with its help texts.

metric!(
    DISK_READS_COMPLETED = m(
        Kind::Counter,
        "node_disk_reads_completed_total",
        "The total number of reads completed successfully.",
        DEV,
    )
);
metric!(
    DISK_READS_MERGED = m(
        Kind::Counter,
        "node_disk_reads_merged_total",
        "The total number of reads merged.",
        DEV,
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
    DISK_READ_TIME = m(
        Kind::Counter,
        "node_disk_read_time_seconds_total",
        "The total number of seconds spent by all reads.",
        DEV,
    )
    .unit("seconds")
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
    DISK_WRITES_MERGED = m(
        Kind::Counter,
        "node_disk_writes_merged_total",
        "The number of writes merged.",
        DEV,
    )
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
    DISK_WRITE_TIME = m(
        Kind::Counter,
        "node_disk_write_time_seconds_total",
        "This is the total number of seconds spent by all writes.",
        DEV,
    )
    .unit("seconds")
);
metric!(
    DISK_IO_NOW = m(
        Kind::Gauge,
        "node_disk_io_now",
        "The number of I/Os currently in progress.",
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
    DISK_IO_TIME_WEIGHTED = m(
        Kind::Counter,
        "node_disk_io_time_weighted_seconds_total",
        "The weighted # of seconds spent doing I/Os.",
        DEV,
    )
    .unit("seconds")
);
metric!(
    DISK_DISCARDS_COMPLETED = m(
        Kind::Counter,
        "node_disk_discards_completed_total",
        "The total number of discards completed successfully.",
        DEV,
    )
);
metric!(
    DISK_DISCARDS_MERGED = m(
        Kind::Counter,
        "node_disk_discards_merged_total",
        "The total number of discards merged.",
        DEV,
    )
);
metric!(
    /// In 512-byte sectors, not bytes: node_exporter converts read and written sectors but
    /// not discarded ones, and compatible means the same number.
    DISK_DISCARDED_SECTORS = m(
        Kind::Counter,
        "node_disk_discarded_sectors_total",
        "The total number of sectors discarded successfully.",
        DEV,
    )
);
metric!(
    DISK_DISCARD_TIME = m(
        Kind::Counter,
        "node_disk_discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        DEV,
    )
    .unit("seconds")
);
metric!(
    DISK_FLUSH_REQUESTS = m(
        Kind::Counter,
        "node_disk_flush_requests_total",
        "The total number of flush requests completed successfully",
        DEV,
    )
);
metric!(
    DISK_FLUSH_TIME = m(
        Kind::Counter,
        "node_disk_flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        DEV,
    )
    .unit("seconds")
);
metric!(
    DISK_INFO = m(
        Kind::Info,
        "node_disk_info",
        "Info of /sys/block/<block_device>.",
        &[
            "device",
            "major",
            "minor",
            "path",
            "wwn",
            "model",
            "serial",
            "revision",
            "rotational",
        ],
    )
);
metric!(
    DISK_FILESYSTEM_INFO = m(
        Kind::Info,
        "node_disk_filesystem_info",
        "Info about disk filesystem.",
        &["device", "type", "usage", "uuid", "version"],
    )
);
metric!(
    DISK_DEVICE_MAPPER_INFO = m(
        Kind::Info,
        "node_disk_device_mapper_info",
        "Info about disk device mapper.",
        &["device", "name", "uuid", "vg_name", "lv_name", "lv_layer"],
    )
);
metric!(
    DISK_ATA_WRITE_CACHE = m(
        Kind::Gauge,
        "node_disk_ata_write_cache",
        "ATA disk has a write cache.",
        DEV,
    )
);
metric!(
    DISK_ATA_WRITE_CACHE_ENABLED = m(
        Kind::Gauge,
        "node_disk_ata_write_cache_enabled",
        "ATA disk has its write cache enabled.",
        DEV,
    )
);
metric!(
    DISK_ATA_ROTATION_RATE = m(
        Kind::Gauge,
        "node_disk_ata_rotation_rate_rpm",
        "ATA disk rotation rate in RPMs (0 for SSDs).",
        DEV,
    )
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
    &DISK_READS_COMPLETED,
    &DISK_READS_MERGED,
    &DISK_READ_BYTES,
    &DISK_READ_TIME,
    &DISK_WRITES_COMPLETED,
    &DISK_WRITES_MERGED,
    &DISK_WRITTEN_BYTES,
    &DISK_WRITE_TIME,
    &DISK_IO_NOW,
    &DISK_IO_TIME,
    &DISK_IO_TIME_WEIGHTED,
    &DISK_DISCARDS_COMPLETED,
    &DISK_DISCARDS_MERGED,
    &DISK_DISCARDED_SECTORS,
    &DISK_DISCARD_TIME,
    &DISK_FLUSH_REQUESTS,
    &DISK_FLUSH_TIME,
    &DISK_INFO,
    &DISK_FILESYSTEM_INFO,
    &DISK_DEVICE_MAPPER_INFO,
    &DISK_ATA_WRITE_CACHE,
    &DISK_ATA_WRITE_CACHE_ENABLED,
    &DISK_ATA_ROTATION_RATE,
    &PATH_SIZE,
    &PATH_FILES,
];
