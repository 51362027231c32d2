//! A container's resource usage read straight from its cgroup (v1 or v2) and its
//! network counters from `/proc/<pid>/net/dev`: the same kernel files Docker's stats API
//! reads, without the daemon's per-call cost.
//!
//! Paths come from `/proc/<pid>/cgroup` of the container's main process rather than being
//! guessed from the cgroup driver, so cgroupfs and systemd layouts (and custom
//! `--cgroup-parent`s) need no special cases.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Which cgroup hierarchy the host uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// cgroup v1: one hierarchy per controller.
    V1,
    /// cgroup v2: the unified hierarchy.
    V2,
}

/// Detects the hierarchy mounted at `root` (normally `/sys/fs/cgroup`). A hybrid host
/// (v1 controllers plus an empty unified mount) counts as v1: that is where the
/// controllers are.
pub fn detect(root: &Path) -> Option<Version> {
    if root.join("cgroup.controllers").is_file() {
        Some(Version::V2)
    } else if root.join("memory").is_dir() {
        Some(Version::V1)
    } else {
        None
    }
}

/// Counters of one network interface.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetIface {
    /// Interface name in the container's network namespace (`eth0`).
    pub name: String,
    /// Bytes received.
    pub rx_bytes: f64,
    /// Packets received.
    pub rx_packets: f64,
    /// Receive errors.
    pub rx_errors: f64,
    /// Received packets dropped.
    pub rx_dropped: f64,
    /// Bytes sent.
    pub tx_bytes: f64,
    /// Packets sent.
    pub tx_packets: f64,
    /// Transmit errors.
    pub tx_errors: f64,
    /// Packets dropped on transmit.
    pub tx_dropped: f64,
}

/// Bytes read and written on one block device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskIo {
    /// Device major number.
    pub major: u64,
    /// Device minor number.
    pub minor: u64,
    /// Bytes read.
    pub read: f64,
    /// Bytes written.
    pub write: f64,
}

/// One container's usage, whichever path read it. Counters in seconds and bytes.
/// `None` means the source did not say (a missing controller), never zero.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// CPU time, user and system together.
    pub cpu_total: Option<f64>,
    /// CPU time in user mode.
    pub cpu_user: Option<f64>,
    /// CPU time in kernel mode.
    pub cpu_system: Option<f64>,
    /// Time the container was throttled by its CFS quota.
    pub cpu_throttled: Option<f64>,
    /// CFS enforcement periods that elapsed while the container had runnable tasks.
    pub cpu_periods: Option<f64>,
    /// Of those, the periods in which it hit its quota.
    pub cpu_throttled_periods: Option<f64>,
    /// Memory in use, page cache included.
    pub mem_usage: Option<f64>,
    /// Anonymous and swap-cache memory (RSS).
    pub mem_rss: Option<f64>,
    /// Page cache.
    pub mem_cache: Option<f64>,
    /// Inactive file-backed memory (reclaimable without I/O).
    pub mem_inactive_file: Option<f64>,
    /// Times the OOM killer killed a process of the container.
    pub oom_kills: Option<f64>,
    /// Processes and threads.
    pub pids: Option<f64>,
    /// Network counters per interface.
    pub net: Vec<NetIface>,
    /// Block I/O per device.
    pub io: Vec<DiskIo>,
}

impl Stats {
    /// cAdvisor's working set: usage minus inactive file pages (reclaimable without
    /// I/O), floored at 0 because both are sampled at slightly different moments.
    pub fn working_set(&self) -> Option<f64> {
        let usage = self.mem_usage?;
        Some((usage - self.mem_inactive_file.unwrap_or(0.0)).max(0.0))
    }
}

/// `/proc/<pid>/cgroup`, decoded: v1 `controllers → path` pairs and the v2 path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcCgroup {
    /// v1: (controllers, path) per hierarchy, as listed.
    pub v1: Vec<(String, String)>,
    /// v2: the unified hierarchy's path.
    pub unified: Option<String>,
}

impl ProcCgroup {
    /// The v1 mount directory name and path of the hierarchy holding `controller`.
    /// Docker's hosts mount co-mounted controllers under their joined name
    /// (`cpu,cpuacct`), which is exactly the second field of the line.
    fn v1(&self, controller: &str) -> Option<(&str, &str)> {
        self.v1
            .iter()
            .find(|(ctrls, _)| ctrls.split(',').any(|c| c == controller))
            .map(|(c, p)| (c.as_str(), p.as_str()))
    }
}

/// Parses `/proc/<pid>/cgroup` (`hierarchy-id:controllers:path` per line; v2 is `0::path`).
pub fn parse_proc_cgroup(text: &str) -> ProcCgroup {
    let mut out = ProcCgroup::default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if ctrls.is_empty() {
            out.unified = Some(path.to_string());
        } else {
            // systemd's named hierarchy ("name=systemd") holds no counters.
            out.v1.push((ctrls.to_string(), path.to_string()));
        }
    }
    out
}

/// Where one container's cgroup files are.
#[derive(Debug, Clone, PartialEq)]
pub struct Paths {
    /// Which hierarchy the paths are in.
    pub version: Version,
    /// The cgroup path relative to the hierarchy root: cAdvisor's `id` label.
    pub id: String,
    cpu: PathBuf,
    cpuacct: PathBuf,
    memory: PathBuf,
    blkio: PathBuf,
    pids: PathBuf,
}

impl Paths {
    /// Resolves the directories of each controller under `root`.
    pub fn locate(root: &Path, version: Version, pc: &ProcCgroup) -> Option<Paths> {
        let join = |base: PathBuf, rel: &str| base.join(rel.trim_start_matches('/'));
        match version {
            Version::V2 => {
                let rel = pc.unified.as_deref()?;
                let dir = join(root.to_path_buf(), rel);
                Some(Paths {
                    version,
                    id: rel.to_string(),
                    cpu: dir.clone(),
                    cpuacct: dir.clone(),
                    memory: dir.clone(),
                    blkio: dir.clone(),
                    pids: dir,
                })
            }
            Version::V1 => {
                let dir = |c: &str| pc.v1(c).map(|(m, p)| join(root.join(m), p));
                let (_, id) = pc.v1("memory").or_else(|| pc.v1("cpuacct"))?;
                Some(Paths {
                    version,
                    id: id.to_string(),
                    cpu: dir("cpu")?,
                    cpuacct: dir("cpuacct")?,
                    memory: dir("memory")?,
                    blkio: dir("blkio").unwrap_or_default(),
                    pids: dir("pids").unwrap_or_default(),
                })
            }
        }
    }

    /// Reads every counter. The memory directory must exist (else the container is gone
    /// or the cgroupfs is not the host's); other controllers may be missing.
    pub fn read(&self) -> std::io::Result<Stats> {
        let opt = |dir: &Path, file: &str| std::fs::read_to_string(dir.join(file)).ok();
        let num =
            |dir: &Path, file: &str| opt(dir, file).and_then(|t| t.trim().parse::<f64>().ok());
        let mut s = Stats::default();
        match self.version {
            Version::V1 => {
                let usage = std::fs::read_to_string(self.memory.join("memory.usage_in_bytes"))?;
                s.mem_usage = usage.trim().parse().ok();
                if let Some(t) = opt(&self.memory, "memory.stat") {
                    let kv = parse_flat_keyed(&t);
                    s.mem_rss = kv.get("total_rss").copied();
                    s.mem_cache = kv.get("total_cache").copied();
                    s.mem_inactive_file = kv.get("total_inactive_file").copied();
                }
                s.oom_kills = opt(&self.memory, "memory.oom_control")
                    .and_then(|t| parse_flat_keyed(&t).get("oom_kill").copied());
                s.cpu_total = num(&self.cpuacct, "cpuacct.usage").map(|ns| ns / 1e9);
                if let Some(t) = opt(&self.cpuacct, "cpuacct.stat") {
                    // In USER_HZ ticks, 100 per second on every Linux userspace sees.
                    let kv = parse_flat_keyed(&t);
                    s.cpu_user = kv.get("user").map(|t| t / 100.0);
                    s.cpu_system = kv.get("system").map(|t| t / 100.0);
                }
                if let Some(t) = opt(&self.cpu, "cpu.stat") {
                    let kv = parse_flat_keyed(&t);
                    s.cpu_throttled = kv.get("throttled_time").map(|ns| ns / 1e9);
                    s.cpu_periods = kv.get("nr_periods").copied();
                    s.cpu_throttled_periods = kv.get("nr_throttled").copied();
                }
                // The CFQ-only file is empty under blk-mq schedulers; the throttle file
                // counts every bio, which is what Docker's stats API falls back to too.
                let io = opt(&self.blkio, "blkio.io_service_bytes_recursive")
                    .map(|t| parse_blkio_v1(&t))
                    .filter(|v| !v.is_empty());
                s.io = io.unwrap_or_else(|| {
                    opt(&self.blkio, "blkio.throttle.io_service_bytes_recursive")
                        .map(|t| parse_blkio_v1(&t))
                        .unwrap_or_default()
                });
                s.pids = num(&self.pids, "pids.current");
            }
            Version::V2 => {
                let usage = std::fs::read_to_string(self.memory.join("memory.current"))?;
                s.mem_usage = usage.trim().parse().ok();
                if let Some(t) = opt(&self.memory, "memory.stat") {
                    let kv = parse_flat_keyed(&t);
                    s.mem_rss = kv.get("anon").copied();
                    s.mem_cache = kv.get("file").copied();
                    s.mem_inactive_file = kv.get("inactive_file").copied();
                }
                s.oom_kills = opt(&self.memory, "memory.events")
                    .and_then(|t| parse_flat_keyed(&t).get("oom_kill").copied());
                if let Some(t) = opt(&self.cpu, "cpu.stat") {
                    let kv = parse_flat_keyed(&t);
                    let secs = |k: &str| kv.get(k).map(|us| us / 1e6);
                    s.cpu_total = secs("usage_usec");
                    s.cpu_user = secs("user_usec");
                    s.cpu_system = secs("system_usec");
                    s.cpu_throttled = secs("throttled_usec");
                    s.cpu_periods = kv.get("nr_periods").copied();
                    s.cpu_throttled_periods = kv.get("nr_throttled").copied();
                }
                s.io = opt(&self.blkio, "io.stat")
                    .map(|t| parse_io_stat_v2(&t))
                    .unwrap_or_default();
                s.pids = num(&self.pids, "pids.current");
            }
        }
        Ok(s)
    }
}

/// Parses `key value` lines (memory.stat, cpu.stat, cpuacct.stat, memory.events, ...).
pub fn parse_flat_keyed(text: &str) -> HashMap<&str, f64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k, v.trim().parse().ok()?))
        })
        .collect()
}

/// Parses v1 `blkio.*io_service_bytes_recursive` (`8:0 Read 4096` lines, then `Total`).
pub fn parse_blkio_v1(text: &str) -> Vec<DiskIo> {
    let mut out: Vec<DiskIo> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [dev, op, value] = f[..] else { continue };
        let (Some((major, minor)), Ok(value)) = (parse_dev(dev), value.parse::<f64>()) else {
            continue;
        };
        let entry = match out
            .iter_mut()
            .position(|d| d.major == major && d.minor == minor)
        {
            Some(i) => &mut out[i],
            None => {
                out.push(DiskIo {
                    major,
                    minor,
                    ..DiskIo::default()
                });
                out.last_mut().expect("just pushed")
            }
        };
        match op {
            "Read" => entry.read += value,
            "Write" => entry.write += value,
            _ => {}
        }
    }
    out
}

/// Parses v2 `io.stat` (`8:0 rbytes=4096 wbytes=0 rios=1 ...`).
pub fn parse_io_stat_v2(text: &str) -> Vec<DiskIo> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (major, minor) = parse_dev(f.next()?)?;
            let mut io = DiskIo {
                major,
                minor,
                ..DiskIo::default()
            };
            for kv in f {
                match kv.split_once('=') {
                    Some(("rbytes", v)) => io.read = v.parse().ok()?,
                    Some(("wbytes", v)) => io.write = v.parse().ok()?,
                    _ => {}
                }
            }
            Some(io)
        })
        .collect()
}

fn parse_dev(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Parses `/proc/<pid>/net/dev`, skipping loopback (cAdvisor and Docker's stats API
/// report neither it nor anything a container could not send off-host).
pub fn parse_net_dev(text: &str) -> Vec<NetIface> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let name = name.trim();
            if name == "lo" {
                return None;
            }
            let n: Vec<f64> = rest
                .split_whitespace()
                .map(|v| v.parse::<f64>())
                .collect::<Result<_, _>>()
                .ok()?;
            if n.len() < 16 {
                return None;
            }
            Some(NetIface {
                name: name.to_string(),
                rx_bytes: n[0],
                rx_packets: n[1],
                rx_errors: n[2],
                rx_dropped: n[3],
                tx_bytes: n[8],
                tx_packets: n[9],
                tx_errors: n[10],
                tx_dropped: n[11],
            })
        })
        .collect()
}

/// Resolves a block device number to cAdvisor's `device` label (`/dev/sda`), falling
/// back to `major:minor` when sysfs does not know it.
pub fn device_name(sys_dev_block: &Path, major: u64, minor: u64) -> String {
    std::fs::read_to_string(sys_dev_block.join(format!("{major}:{minor}/uevent")))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("DEVNAME=").map(|d| format!("/dev/{d}")))
        })
        .unwrap_or_else(|| format!("{major}:{minor}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_CGROUP_V1: &str = "12:pids:/docker/4f1c\n11:memory:/docker/4f1c\n4:cpu,cpuacct:/docker/4f1c\n3:blkio:/docker/4f1c\n1:name=systemd:/docker/4f1c\n0::/system.slice/containerd.service\n";
    const PROC_CGROUP_V2: &str = "0::/system.slice/docker-4f1c.scope\n";

    #[test]
    fn proc_cgroup_v1_and_v2() {
        let pc = parse_proc_cgroup(PROC_CGROUP_V1);
        assert_eq!(pc.v1("cpuacct"), Some(("cpu,cpuacct", "/docker/4f1c")));
        assert_eq!(pc.v1("memory"), Some(("memory", "/docker/4f1c")));
        let p = Paths::locate(Path::new("/sys/fs/cgroup"), Version::V1, &pc).unwrap();
        assert_eq!(p.id, "/docker/4f1c");
        assert_eq!(
            p.cpuacct,
            Path::new("/sys/fs/cgroup/cpu,cpuacct/docker/4f1c")
        );
        assert_eq!(p.memory, Path::new("/sys/fs/cgroup/memory/docker/4f1c"));

        let pc = parse_proc_cgroup(PROC_CGROUP_V2);
        assert!(pc.v1.is_empty());
        let p = Paths::locate(Path::new("/sys/fs/cgroup"), Version::V2, &pc).unwrap();
        assert_eq!(p.id, "/system.slice/docker-4f1c.scope");
        assert_eq!(
            p.memory,
            Path::new("/sys/fs/cgroup/system.slice/docker-4f1c.scope")
        );
    }

    fn write(dir: &Path, file: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(file), text).unwrap();
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lakewatch-cg-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn v1_fixture() {
        let root = scratch("v1");
        let mem = root.join("memory/docker/4f1c");
        let cpu = root.join("cpu,cpuacct/docker/4f1c");
        write(&mem, "memory.usage_in_bytes", "52428800\n");
        write(
            &mem,
            "memory.stat",
            "cache 100\nrss 200\ninactive_file 50\ntotal_cache 41943040\ntotal_rss 8388608\ntotal_inactive_file 4194304\n",
        );
        write(
            &mem,
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        );
        write(&cpu, "cpuacct.usage", "2500000000\n");
        write(&cpu, "cpuacct.stat", "user 180\nsystem 70\n");
        write(
            &cpu,
            "cpu.stat",
            "nr_periods 10\nnr_throttled 4\nthrottled_time 1500000000\n",
        );
        write(
            &root.join("blkio/docker/4f1c"),
            "blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Total 12288\nTotal 12288\n",
        );
        write(
            &root.join("blkio/docker/4f1c"),
            "blkio.io_service_bytes_recursive",
            "Total 0\n",
        );
        write(&root.join("pids/docker/4f1c"), "pids.current", "3\n");
        assert_eq!(detect(&root), Some(Version::V1));
        let p = Paths::locate(&root, Version::V1, &parse_proc_cgroup(PROC_CGROUP_V1)).unwrap();
        let s = p.read().unwrap();
        assert_eq!(s.mem_usage, Some(52428800.0));
        assert_eq!(s.mem_rss, Some(8388608.0));
        assert_eq!(s.mem_cache, Some(41943040.0));
        assert_eq!(s.working_set(), Some(52428800.0 - 4194304.0));
        assert_eq!(s.oom_kills, Some(2.0));
        assert_eq!(s.cpu_total, Some(2.5));
        assert_eq!(s.cpu_user, Some(1.8));
        assert_eq!(s.cpu_system, Some(0.7));
        assert_eq!(s.cpu_throttled, Some(1.5));
        assert_eq!(s.cpu_periods, Some(10.0));
        assert_eq!(s.cpu_throttled_periods, Some(4.0));
        assert_eq!(
            s.io,
            vec![DiskIo {
                major: 8,
                minor: 0,
                read: 4096.0,
                write: 8192.0
            }]
        );
        assert_eq!(s.pids, Some(3.0));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn v2_fixture() {
        let root = scratch("v2");
        let dir = root.join("system.slice/docker-4f1c.scope");
        write(&root, "cgroup.controllers", "cpuset cpu io memory pids\n");
        write(&dir, "memory.current", "1048576\n");
        write(
            &dir,
            "memory.stat",
            "anon 524288\nfile 262144\nkernel_stack 16384\ninactive_file 2097152\n",
        );
        write(
            &dir,
            "memory.events",
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        );
        write(
            &dir,
            "cpu.stat",
            "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 120\nnr_throttled 37\nthrottled_usec 250000\nnr_bursts 0\nburst_usec 0\n",
        );
        write(
            &dir,
            "io.stat",
            "8:16 rbytes=1024 wbytes=2048 rios=1 wios=2 dbytes=0 dios=0\n253:0 rbytes=10 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
        );
        write(&dir, "pids.current", "1\n");
        assert_eq!(detect(&root), Some(Version::V2));
        let p = Paths::locate(&root, Version::V2, &parse_proc_cgroup(PROC_CGROUP_V2)).unwrap();
        let s = p.read().unwrap();
        assert_eq!(s.mem_usage, Some(1048576.0));
        assert_eq!(s.mem_rss, Some(524288.0));
        assert_eq!(s.mem_cache, Some(262144.0));
        assert_eq!(s.working_set(), Some(0.0), "floored at 0");
        assert_eq!(s.oom_kills, Some(1.0));
        assert_eq!(s.cpu_total, Some(3.0));
        assert_eq!(s.cpu_user, Some(2.0));
        assert_eq!(s.cpu_system, Some(1.0));
        assert_eq!(s.cpu_throttled, Some(0.25));
        assert_eq!(s.cpu_periods, Some(120.0));
        assert_eq!(s.cpu_throttled_periods, Some(37.0));
        assert_eq!(s.io.len(), 2);
        assert_eq!(s.io[0].read, 1024.0);
        assert_eq!(s.io[0].write, 2048.0);
        assert_eq!((s.io[1].major, s.io[1].minor), (253, 0));
        assert_eq!(s.pids, Some(1.0));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn missing_cgroup_is_an_error() {
        let root = scratch("gone");
        let p = Paths::locate(&root, Version::V2, &parse_proc_cgroup(PROC_CGROUP_V2)).unwrap();
        assert!(p.read().is_err());
    }

    #[test]
    fn net_dev() {
        let text = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0\n  eth0:    5372      43    1    2    0     0          0         0     1274      15    3    4    0     0       0          0\n";
        let ifs = parse_net_dev(text);
        assert_eq!(
            ifs,
            vec![NetIface {
                name: "eth0".into(),
                rx_bytes: 5372.0,
                rx_packets: 43.0,
                rx_errors: 1.0,
                rx_dropped: 2.0,
                tx_bytes: 1274.0,
                tx_packets: 15.0,
                tx_errors: 3.0,
                tx_dropped: 4.0,
            }]
        );
        assert!(parse_net_dev("garbage\n\n  eth0: 1 2 x\n").is_empty());
    }
}
