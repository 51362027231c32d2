//! Host filesystems and block devices, node_exporter-compatible.
//!
//! Mounts come from `mountinfo`, space and inodes from `statfs` (as node_exporter does,
//! so the numbers are equal), block devices from `/proc/diskstats`, udev's database and
//! sysfs (`diskstats.rs`, every name node_exporter's diskstats collector has). Every `statfs` runs on
//! the blocking pool under `mount_timeout`: a mount that hangs (dead NFS server, stuck
//! FUSE daemon) is reported with `node_filesystem_device_error 1` and is not asked again
//! until the stuck call returns, so one bad mount never costs more than one thread.
//! Configured `paths` are walked in the background on their own, slower interval.

pub mod diskstats;
pub mod settings;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use lakewatch_catalog as cat;
use tokio::task::JoinHandle;

use super::{BoxFuture, CollectError, Collector, Fragment, Job};
use crate::collector::disk::settings::DiskConfig;
use crate::error_kind::ErrorKind;

/// One line of `mountinfo`, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mount source (`/dev/sda1`, `tmpfs`).
    pub device: String,
    /// Where it is mounted.
    pub mountpoint: String,
    /// Filesystem type.
    pub fstype: String,
    /// Mounted read-only.
    pub readonly: bool,
}

/// Space and inode figures of one filesystem, in node_exporter's units.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Usage {
    size: f64,
    free: f64,
    avail: f64,
    files: f64,
    files_free: f64,
}

/// Parses `/proc/<pid>/mountinfo`. Later mounts on the same mount point hide earlier
/// ones, so only the last is kept (statfs answers for the visible one).
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    let mut by_point: Vec<Mount> = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        if left.len() < 6 || right.len() < 3 {
            continue;
        }
        let has_ro = |opts: &str| opts.split(',').any(|o| o == "ro");
        let mount = Mount {
            mountpoint: unescape(left[4]),
            readonly: has_ro(left[5]) || has_ro(right[2]),
            fstype: unescape(right[0]),
            device: unescape(right[1]),
        };
        by_point.retain(|m| m.mountpoint != mount.mountpoint);
        by_point.push(mount);
    }
    by_point
}

/// Decodes the kernel's octal escapes (`\040` for a space, `\011`, `\012`, `\134`).
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|o| bytes[i] == b'\\' && o.iter().all(|b| (b'0'..=b'7').contains(b)))
            .map(|o| o.iter().fold(0u16, |acc, b| acc * 8 + u16::from(b - b'0')))
            .and_then(|v| u8::try_from(v).ok());
        if let Some(v) = octal {
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn statfs(path: &Path) -> std::io::Result<Usage> {
    let s = rustix::fs::statfs(path)?;
    // node_exporter multiplies by f_bsize (not f_frsize); do the same so values match.
    let bsize = s.f_bsize as f64;
    Ok(Usage {
        size: s.f_blocks as f64 * bsize,
        free: s.f_bfree as f64 * bsize,
        avail: s.f_bavail as f64 * bsize,
        files: s.f_files as f64,
        files_free: s.f_ffree as f64,
    })
}

/// Size and file count of a directory tree from the last complete walk.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PathUsage {
    bytes: f64,
    files: f64,
}

#[derive(Debug, Default)]
struct PathWalks {
    results: HashMap<PathBuf, PathUsage>,
    running: bool,
    last_start: Option<Instant>,
}

/// Walks `root` without following symlinks, summing regular files' apparent sizes.
/// Returns `None` when the budget runs out (a partial number would be a lie).
fn walk(root: &Path, deadline: Instant) -> std::io::Result<Option<PathUsage>> {
    let mut usage = PathUsage {
        bytes: 0.0,
        files: 0.0,
    };
    let mut stack = vec![root.to_path_buf()];
    let root_meta = std::fs::symlink_metadata(root)?;
    if !root_meta.is_dir() {
        return Err(std::io::Error::other("not a directory"));
    }
    while let Some(dir) = stack.pop() {
        if Instant::now() > deadline {
            return Ok(None);
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue; // unreadable subdirectory: count what we can see
        };
        for entry in entries.flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file()
                && let Ok(meta) = entry.metadata()
            {
                usage.bytes += meta.len() as f64;
                usage.files += 1.0;
            }
        }
    }
    Ok(Some(usage))
}

/// The disk collector.
pub struct DiskCollector {
    cfg: Arc<DiskConfig>,
    /// Mount points whose statfs is still running from an earlier cycle.
    in_flight: HashMap<String, Arc<AtomicBool>>,
    walks: Arc<Mutex<PathWalks>>,
}

impl DiskCollector {
    /// A collector for the mounts, devices and paths of `cfg`.
    pub fn new(cfg: DiskConfig) -> DiskCollector {
        DiskCollector {
            cfg: Arc::new(cfg),
            in_flight: HashMap::new(),
            walks: Arc::default(),
        }
    }

    /// Reads mountinfo, and block devices (diskstats, udev, sysfs) into `out`, on the
    /// blocking pool: procfs and sysfs answer at once, but a `procfs:` pointed somewhere
    /// odd must cost a timeout, not an async worker.
    async fn read_proc(&self) -> Result<(String, Fragment), CollectError> {
        let cfg = self.cfg.clone();
        let read = tokio::task::spawn_blocking(move || {
            let read = |p: PathBuf| {
                std::fs::read_to_string(&p).map_err(|e| {
                    CollectError::new(ErrorKind::Io, format!("reading {}: {e}", p.display()))
                })
            };
            // PID 1's view is the host's when the exporter sees the host's /proc; fall
            // back to our own view when that is not readable (non-root).
            let mounts = read(cfg.procfs.join("1/mountinfo"))
                .or_else(|_| read(cfg.procfs.join("self/mountinfo")))?;
            let mut out = Fragment::default();
            diskstats(&cfg, &read(cfg.procfs.join("diskstats"))?, &mut out);
            Ok((mounts, out))
        });
        read.await.map_err(|e| {
            CollectError::new(ErrorKind::Io, format!("procfs read task failed: {e}"))
        })?
    }

    async fn filesystems(&mut self, mountinfo: &str, out: &mut Fragment) {
        let mounts: Vec<Mount> = parse_mountinfo(mountinfo)
            .into_iter()
            .filter(|m| {
                self.cfg.mountpoints.allows(&m.mountpoint) && self.cfg.fstypes.allows(&m.fstype)
            })
            .collect();
        self.in_flight.retain(|point, flag| {
            flag.load(Ordering::Acquire) || mounts.iter().any(|m| &m.mountpoint == point)
        });
        let deadline = tokio::time::Instant::now() + self.cfg.mount_timeout;
        let mut calls: Vec<(Mount, Option<JoinHandle<std::io::Result<Usage>>>)> = Vec::new();
        for mount in mounts {
            let flag = self
                .in_flight
                .entry(mount.mountpoint.clone())
                .or_default()
                .clone();
            if flag.swap(true, Ordering::AcqRel) {
                calls.push((mount, None)); // still stuck since an earlier cycle
                continue;
            }
            let path = self
                .cfg
                .rootfs
                .join(mount.mountpoint.trim_start_matches('/'));
            let handle = tokio::task::spawn_blocking(move || {
                let r = statfs(&path);
                flag.store(false, Ordering::Release);
                r
            });
            calls.push((mount, Some(handle)));
        }
        for (mount, call) in calls {
            let labels = [mount.device.as_str(), &mount.fstype, &mount.mountpoint];
            let result = match call {
                None => Err("statfs still hanging since an earlier cycle".to_string()),
                Some(handle) => match tokio::time::timeout_at(deadline, handle).await {
                    Ok(Ok(Ok(usage))) => Ok(usage),
                    Ok(Ok(Err(e))) => Err(format!("statfs: {e}")),
                    Ok(Err(e)) => Err(format!("statfs task failed: {e}")),
                    Err(_) => Err(format!(
                        "statfs did not answer within {:?}; skipping this mount until it does",
                        self.cfg.mount_timeout
                    )),
                },
            };
            match result {
                Ok(u) => {
                    out.push(&cat::FILESYSTEM_SIZE, labels, u.size);
                    out.push(&cat::FILESYSTEM_FREE, labels, u.free);
                    out.push(&cat::FILESYSTEM_AVAIL, labels, u.avail);
                    out.push(&cat::FILESYSTEM_FILES, labels, u.files);
                    out.push(&cat::FILESYSTEM_FILES_FREE, labels, u.files_free);
                    out.push(
                        &cat::FILESYSTEM_READONLY,
                        labels,
                        f64::from(u8::from(mount.readonly)),
                    );
                    out.push(&cat::FILESYSTEM_DEVICE_ERROR, labels, 0.0);
                }
                Err(why) => {
                    tracing::debug!(mountpoint = %mount.mountpoint, device = %mount.device, "{why}");
                    out.push(&cat::FILESYSTEM_DEVICE_ERROR, labels, 1.0);
                    out.push(
                        &cat::FILESYSTEM_READONLY,
                        labels,
                        f64::from(u8::from(mount.readonly)),
                    );
                }
            }
        }
    }

    /// Publishes the last complete walk of each path and starts a new walk when due.
    fn paths(&self, out: &mut Fragment) {
        if self.cfg.paths.is_empty() {
            return;
        }
        let mut walks = self
            .walks
            .lock()
            .expect("path walk state is never poisoned: walks do not panic while holding it");
        for (path, usage) in &walks.results {
            let p = path.display().to_string();
            out.push(&cat::PATH_SIZE, [p.as_str()], usage.bytes);
            out.push(&cat::PATH_FILES, [p.as_str()], usage.files);
        }
        let due = walks
            .last_start
            .is_none_or(|t| t.elapsed() >= self.cfg.paths_interval);
        if walks.running || !due {
            return;
        }
        walks.running = true;
        walks.last_start = Some(Instant::now());
        let state = self.walks.clone();
        let cfg = self.cfg.clone();
        tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + cfg.paths_budget;
            let mut done = HashMap::new();
            for path in &cfg.paths {
                match walk(
                    &cfg.rootfs.join(path.strip_prefix("/").unwrap_or(path)),
                    deadline,
                ) {
                    Ok(Some(u)) => {
                        done.insert(path.clone(), u);
                    }
                    Ok(None) => tracing::warn!(
                        path = %path.display(),
                        "walk did not finish within paths_budget ({:?}); keeping the previous numbers",
                        cfg.paths_budget
                    ),
                    Err(e) => tracing::warn!(path = %path.display(), "cannot walk: {e}"),
                }
            }
            if let Ok(mut walks) = state.lock() {
                // A path that failed this time keeps its last complete result.
                walks.results.extend(done);
                walks.running = false;
            }
        });
    }
}

/// The block devices the filters allow, from diskstats' `text`.
fn diskstats(cfg: &DiskConfig, text: &str, out: &mut Fragment) {
    let src = diskstats::Sources {
        udev_data: &cfg.udev_data,
        sysfs: &cfg.sysfs,
    };
    for d in diskstats::parse(text) {
        if cfg.devices.allows(&d.device) {
            diskstats::push(&d, &src, out);
        }
    }
}

/// The disk collector's jobs: one, for the host.
pub fn jobs(settings: &DiskConfig) -> Vec<Job> {
    vec![Job {
        schedule: settings.schedule,
        collector: Box::new(DiskCollector::new(settings.clone())),
        settings: super::Settings::of(DiskConfig {
            schedule: super::SCHEDULER_ONLY,
            ..settings.clone()
        }),
    }]
}

impl Collector for DiskCollector {
    fn name(&self) -> &'static str {
        "disk"
    }

    fn target(&self) -> &str {
        "localhost"
    }

    fn collect(&mut self) -> BoxFuture<'_, Result<Fragment, CollectError>> {
        Box::pin(async move {
            let (mountinfo, devices) = self.read_proc().await?;
            let mut out = Fragment::default();
            self.filesystems(&mountinfo, &mut out).await;
            out.samples.extend(devices.samples);
            self.paths(&mut out);
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
40 22 252:16 / /mnt/my\\040disk ro,relatime shared:20 - xfs /dev/vdb rw,attr2
41 22 0:50 / /data rw,relatime shared:21 - nfs4 server:/export rw,vers=4.2
42 41 0:51 / /data rw,relatime shared:22 - ext4 /dev/vdc ro,errors=remount-ro
";

    #[test]
    fn mountinfo_decodes_escapes_readonly_and_stacking() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(m.len(), 4, "{m:?}");
        assert_eq!(
            m[0],
            Mount {
                device: "/dev/vda".into(),
                mountpoint: "/".into(),
                fstype: "ext4".into(),
                readonly: false
            }
        );
        assert_eq!(m[2].mountpoint, "/mnt/my disk");
        assert!(m[2].readonly, "per-mount ro");
        let data = m.iter().find(|m| m.mountpoint == "/data").unwrap();
        assert_eq!(
            data.device, "/dev/vdc",
            "the later mount hides the earlier one"
        );
        assert!(data.readonly, "superblock ro");
    }

    #[test]
    fn mountinfo_ignores_garbage() {
        assert!(parse_mountinfo("nonsense\n1 2 3 - x\n\n").is_empty());
    }

    #[test]
    fn unescape_handles_edge_cases() {
        assert_eq!(unescape("a\\040b"), "a b");
        assert_eq!(unescape("tab\\011"), "tab\t");
        assert_eq!(unescape("trailing\\04"), "trailing\\04");
        assert_eq!(unescape("back\\134slash"), "back\\slash");
    }

    #[test]
    fn walk_counts_files_and_skips_symlinks() {
        let dir = std::env::temp_dir().join(format!("lakewatch-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
        std::fs::write(dir.join("a"), vec![0u8; 100]).unwrap();
        std::fs::write(dir.join("sub/b"), vec![0u8; 20]).unwrap();
        std::fs::write(dir.join("sub/deeper/c"), vec![0u8; 3]).unwrap();
        std::os::unix::fs::symlink("/usr", dir.join("escape")).unwrap();
        std::os::unix::fs::symlink(dir.join("a"), dir.join("link-to-a")).unwrap();
        let far = Instant::now() + std::time::Duration::from_secs(60);
        let u = walk(&dir, far).unwrap().unwrap();
        assert_eq!(
            u,
            PathUsage {
                bytes: 123.0,
                files: 3.0
            }
        );
        assert_eq!(
            walk(&dir, Instant::now() - std::time::Duration::from_secs(1)).unwrap(),
            None
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
