//! The disk collector's settings: the `collectors.disk` section as written, its
//! validation and its defaults (node_exporter's mount point, filesystem type and device
//! exclusions).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::duration::PromDuration;
use crate::config::enabled::Enabled;
use crate::config::error::{ConfigError, Validator};
use crate::config::filter::Filter;
use crate::config::schedule::Schedule;

/// Validated disk collector settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskConfig {
    /// Interval and timeout of a cycle.
    pub schedule: Schedule,
    /// How long one `statfs` may take before the mount is reported as hanging.
    pub mount_timeout: Duration,
    /// Which mount points are reported.
    pub mountpoints: Filter,
    /// Which filesystem types are reported.
    pub fstypes: Filter,
    /// Which block devices get `node_disk_*` series.
    pub devices: Filter,
    /// Directories whose size is walked (`paths:`).
    pub paths: Vec<PathBuf>,
    /// How often configured paths are walked again.
    pub paths_interval: Duration,
    /// Wall-time budget of one walk; a walk that exceeds it publishes nothing new.
    pub paths_budget: Duration,
    /// Where the host's `/proc` is visible (for running in a container).
    pub procfs: PathBuf,
    /// Where the host's root filesystem is visible (for running in a container).
    pub rootfs: PathBuf,
    /// Where the host's `/sys` is visible (`node_disk_info`'s `rotational`).
    pub sysfs: PathBuf,
    /// udev's database (`node_disk_info`'s model, serial, ...; absent in most
    /// containers, and then those labels are empty, as node_exporter leaves them).
    pub udev_data: PathBuf,
}

/// `collectors.disk` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDisk {
    enabled: Option<Enabled>,
    interval: Option<Spanned<PromDuration>>,
    timeout: Option<Spanned<PromDuration>>,
    mount_timeout: Option<Spanned<PromDuration>>,
    mountpoints_include: Option<Spanned<String>>,
    mountpoints_exclude: Option<Spanned<String>>,
    fstypes_include: Option<Spanned<String>>,
    fstypes_exclude: Option<Spanned<String>>,
    devices_include: Option<Spanned<String>>,
    devices_exclude: Option<Spanned<String>>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    paths_interval: Option<Spanned<PromDuration>>,
    paths_budget: Option<Spanned<PromDuration>>,
    procfs: Option<String>,
    rootfs: Option<String>,
    sysfs: Option<String>,
    udev_data: Option<String>,
}

const DISK_SCHEDULE: Schedule = Schedule {
    interval: Duration::from_secs(15),
    timeout: Duration::from_secs(5),
};

const DISK_MOUNT_TIMEOUT: Duration = Duration::from_secs(2);

/// node_exporter 1.x's default mount point exclusions.
pub const DISK_MOUNTPOINTS_EXCLUDE: &str =
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";

/// node_exporter 1.x's default filesystem type exclusions, plus `tmpfs` (per-container
/// and per-session tmpfs mounts are noise on a data platform host).
pub const DISK_FSTYPES_EXCLUDE: &str = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tmpfs|tracefs)$";

/// node_exporter's default block device exclusions since 1.8 (partitions, RAM, loop
/// and compressed-RAM swap devices).
pub const DISK_DEVICES_EXCLUDE: &str = r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$";

impl Validator<'_> {
    /// Validates `collectors.disk`; `None` when it is disabled.
    pub(crate) fn disk(&self, raw: RawDisk) -> Result<Option<DiskConfig>, ConfigError> {
        if raw.enabled == Some(Enabled::No) {
            return Ok(None);
        }
        let schedule = self.schedule(raw.interval, raw.timeout, DISK_SCHEDULE)?;
        let mount_timeout_span = raw.mount_timeout.clone();
        let mount_timeout =
            self.duration(raw.mount_timeout, DISK_MOUNT_TIMEOUT.min(schedule.timeout))?;
        if let Some(span) = mount_timeout_span
            && mount_timeout > schedule.timeout
        {
            return Err(self.error(
                &span,
                "mount_timeout must not be longer than the collector's timeout",
            ));
        }
        let mut paths = Vec::new();
        for p in raw.paths {
            if !p.value.starts_with('/') {
                return Err(self.error(&p, format!("path {:?} must be absolute", p.value)));
            }
            paths.push(PathBuf::from(&p.value));
        }
        Ok(Some(DiskConfig {
            schedule,
            mount_timeout,
            mountpoints: self.filter(
                raw.mountpoints_include,
                raw.mountpoints_exclude,
                DISK_MOUNTPOINTS_EXCLUDE,
            )?,
            fstypes: self.filter(
                raw.fstypes_include,
                raw.fstypes_exclude,
                DISK_FSTYPES_EXCLUDE,
            )?,
            devices: self.filter(
                raw.devices_include,
                raw.devices_exclude,
                DISK_DEVICES_EXCLUDE,
            )?,
            paths,
            paths_interval: self.duration(raw.paths_interval, Duration::from_secs(300))?,
            paths_budget: self.duration(raw.paths_budget, Duration::from_secs(60))?,
            procfs: PathBuf::from(raw.procfs.unwrap_or_else(|| "/proc".into())),
            rootfs: PathBuf::from(raw.rootfs.unwrap_or_else(|| "/".into())),
            sysfs: PathBuf::from(raw.sysfs.unwrap_or_else(|| "/sys".into())),
            udev_data: PathBuf::from(raw.udev_data.unwrap_or_else(|| "/run/udev/data".into())),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::testing::invalid;

    #[test]
    fn embedded_default_is_valid_and_enables_disk() {
        let c = Config::embedded_default();
        let disk = c.disk.expect("disk on by default");
        assert_eq!(disk.schedule, DISK_SCHEDULE);
        assert!(disk.fstypes.allows("ext4"));
        assert!(!disk.fstypes.allows("tmpfs"));
        assert!(!disk.mountpoints.allows("/proc/sys"));
        assert!(disk.mountpoints.allows("/data"));
        assert!(!disk.devices.allows("vda1"));
        assert!(disk.devices.allows("vda"));
        assert!(!disk.devices.allows("zram0"));
        assert!(disk.devices.allows("nvme0n1"));
        assert!(!disk.devices.allows("nvme0n1p2"));
    }

    #[test]
    fn bad_regex_is_located() {
        let e = invalid("collectors:\n  disk:\n    fstypes_exclude: '^(ext4'\n");
        assert!(
            e.starts_with("c.yml:3:22: invalid regular expression"),
            "{e}"
        );
    }

    #[test]
    fn relative_path_is_rejected() {
        let e = invalid("collectors:\n  disk:\n    paths: [/data, data/work]\n");
        assert!(
            e.starts_with("c.yml:3:20: path \"data/work\" must be absolute"),
            "{e}"
        );
    }

    #[test]
    fn disabled_disk() {
        let c = Config::parse("collectors:\n  disk:\n    enabled: false\n", "c.yml").unwrap();
        assert!(c.disk.is_none());
    }
}
