//! Block devices as node_exporter's `diskstats` collector reports them: every column of
//! `/proc/diskstats` in its units, and `node_disk_info` (plus the filesystem, device
//! mapper and ATA facts) from udev's database.
//!
//! Older kernels write fewer columns (discards since 4.18, flushes since 5.5); like
//! node_exporter we emit only the columns the line has, never a zero the kernel did not
//! write. Without udev's database (containers, minimal hosts) the info labels that come
//! from it are empty, as node_exporter leaves them, and the udev-only families are absent.

use std::collections::HashMap;
use std::path::Path;

use lakewatch_catalog::{self as cat, Metric};

use crate::collector::Fragment;

/// Milliseconds (the kernel's ticks here) to seconds.
const MS: f64 = 1e-3;
/// Read and written sectors are always 512 bytes in diskstats, whatever the device's
/// real sector size (see the kernel's iostats documentation).
const SECTOR: f64 = 512.0;

/// The columns after the device name, in the kernel's order, with the factor that turns
/// each into node_exporter's unit. Discarded sectors stay sectors, as node_exporter
/// leaves them.
static COLUMNS: [(&Metric, f64); 17] = [
    (&cat::DISK_READS_COMPLETED, 1.0),
    (&cat::DISK_READS_MERGED, 1.0),
    (&cat::DISK_READ_BYTES, SECTOR),
    (&cat::DISK_READ_TIME, MS),
    (&cat::DISK_WRITES_COMPLETED, 1.0),
    (&cat::DISK_WRITES_MERGED, 1.0),
    (&cat::DISK_WRITTEN_BYTES, SECTOR),
    (&cat::DISK_WRITE_TIME, MS),
    (&cat::DISK_IO_NOW, 1.0),
    (&cat::DISK_IO_TIME, MS),
    (&cat::DISK_IO_TIME_WEIGHTED, MS),
    (&cat::DISK_DISCARDS_COMPLETED, 1.0),
    (&cat::DISK_DISCARDS_MERGED, 1.0),
    (&cat::DISK_DISCARDED_SECTORS, 1.0),
    (&cat::DISK_DISCARD_TIME, MS),
    (&cat::DISK_FLUSH_REQUESTS, 1.0),
    (&cat::DISK_FLUSH_TIME, MS),
];

/// One device line of `/proc/diskstats`, converted to node_exporter's units.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskStats {
    /// Device major number.
    pub major: u32,
    /// Device minor number.
    pub minor: u32,
    /// Kernel device name (`sda`, `nvme0n1`).
    pub device: String,
    /// The values of the first `values.len()` entries of the column table: 11 on
    /// kernels before 4.18, 15 before 5.5, 17 since.
    pub values: Vec<f64>,
}

impl DiskStats {
    /// The value of one column's metric, when the kernel wrote that column.
    pub fn get(&self, metric: &Metric) -> Option<f64> {
        COLUMNS
            .iter()
            .position(|(m, _)| std::ptr::eq(*m, metric))
            .and_then(|i| self.values.get(i).copied())
    }
}

/// Parses `/proc/diskstats`; lines with fewer than the 11 statistics every kernel since
/// 2.6 writes, or with a non-numeric field, are skipped.
pub fn parse(text: &str) -> Vec<DiskStats> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let major = f.next()?.parse().ok()?;
            let minor = f.next()?.parse().ok()?;
            let device = f.next()?.to_string();
            let values = f
                .zip(COLUMNS.iter())
                .map(|(v, (_, scale))| v.parse::<u64>().ok().map(|n| n as f64 * scale))
                .collect::<Option<Vec<f64>>>()?;
            (values.len() >= 11).then_some(DiskStats {
                major,
                minor,
                device,
                values,
            })
        })
        .collect()
}

/// A device's properties from udev's database (`E:KEY=value` lines of
/// `/run/udev/data/b<major>:<minor>`); empty when udev has no entry.
pub fn parse_udev(text: &str) -> HashMap<&str, &str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("E:")?.split_once('='))
        .collect()
}

/// Where a device's facts beyond /proc/diskstats are read.
#[derive(Debug, Clone)]
pub struct Sources<'a> {
    /// udev's database directory (`/run/udev/data`).
    pub udev_data: &'a Path,
    /// sysfs (`/sys`).
    pub sysfs: &'a Path,
}

/// Pushes every series of one device: its counters, `node_disk_info`, and the udev-only
/// families when udev knows the device.
pub fn push(d: &DiskStats, src: &Sources<'_>, out: &mut Fragment) {
    let dev = [d.device.as_str()];
    for ((metric, _), value) in COLUMNS.iter().zip(&d.values) {
        out.push(metric, dev, *value);
    }
    let udev_text =
        std::fs::read_to_string(src.udev_data.join(format!("b{}:{}", d.major, d.minor)))
            .unwrap_or_default();
    let udev = parse_udev(&udev_text);
    let get = |k: &str| udev.get(k).copied().unwrap_or_default();
    // The serial printed on the label, else the short serial, else the one virtio
    // devices carry: node_exporter's order.
    let serial = ["SCSI_IDENT_SERIAL", "ID_SERIAL_SHORT", "ID_SERIAL"]
        .iter()
        .map(|k| get(k))
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let (major, minor) = (d.major.to_string(), d.minor.to_string());
    out.push_info_with(
        &cat::DISK_INFO,
        [
            d.device.as_str(),
            &major,
            &minor,
            get("ID_PATH"),
            get("ID_WWN"),
            get("ID_MODEL"),
            serial,
            get("ID_REVISION"),
            rotational(src.sysfs, &d.device),
        ],
        Vec::new(),
    );
    let fs_type = get("ID_FS_TYPE");
    if !fs_type.is_empty() {
        out.push_info_with(
            &cat::DISK_FILESYSTEM_INFO,
            [
                d.device.as_str(),
                fs_type,
                get("ID_FS_USAGE"),
                get("ID_FS_UUID"),
                get("ID_FS_VERSION"),
            ],
            Vec::new(),
        );
    }
    let dm_name = get("DM_NAME");
    if !dm_name.is_empty() {
        out.push_info_with(
            &cat::DISK_DEVICE_MAPPER_INFO,
            [
                d.device.as_str(),
                dm_name,
                get("DM_UUID"),
                get("DM_VG_NAME"),
                get("DM_LV_NAME"),
                get("DM_LV_LAYER"),
            ],
            Vec::new(),
        );
    }
    if !get("ID_ATA").is_empty() {
        for (metric, key) in [
            (&cat::DISK_ATA_WRITE_CACHE, "ID_ATA_WRITE_CACHE"),
            (
                &cat::DISK_ATA_WRITE_CACHE_ENABLED,
                "ID_ATA_WRITE_CACHE_ENABLED",
            ),
            (&cat::DISK_ATA_ROTATION_RATE, "ID_ATA_ROTATION_RATE_RPM"),
        ] {
            if let Some(v) = udev.get(key).and_then(|v| v.parse::<f64>().ok()) {
                out.push(metric, dev, v);
            }
        }
    }
}

/// `"1"` for a rotational device, else `"0"` — also when sysfs cannot say (a device
/// without a queue directory), as node_exporter answers then.
fn rotational(sysfs: &Path, device: &str) -> &'static str {
    // sysfs spells a `/` in a device name (cciss/c0d0) as `!`.
    let path = sysfs
        .join("block")
        .join(device.replace('/', "!"))
        .join("queue/rotational");
    match std::fs::read_to_string(path) {
        Ok(t) if t.trim() == "1" => "1",
        _ => "0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::Value;
    use std::path::PathBuf;

    type Labels = Vec<(String, String)>;

    /// Name, labels as pairs and value of every sample.
    fn fragment_samples(out: &Fragment) -> Vec<(String, Labels, f64)> {
        out.samples
            .iter()
            .map(|s| {
                let labels = s
                    .metric
                    .labels
                    .iter()
                    .map(|l| l.to_string())
                    .zip(s.labels.iter().cloned())
                    .collect();
                let Value::Number(v) = s.value else {
                    panic!("{} is not a number", s.metric.name)
                };
                (s.metric.name.to_string(), labels, v)
            })
            .collect()
    }

    const DISKSTATS: &str = "\
 254       0 vda 47239 6354 3071170 18275 6355 26500 2761440 16897 2 10624 35771 1985 3 524560 520 831 78
   8       0 sda 9417 3326 1083554 5062 27440 21307 1413760 32404 0 44628 40130 7 1 64 9
   8      16 sdb 10 0 80 4 0 0 0 0 0 4 4
 bad line
   8      32 sdc 1 2 x 4 5 6 7 8 9 10 11
   8      48 sdd 1 2 3
";

    #[test]
    fn columns_units_and_kernel_generations() {
        let d = parse(DISKSTATS);
        assert_eq!(d.len(), 3, "{d:?}");
        let vda = &d[0];
        assert_eq!((vda.major, vda.minor, vda.device.as_str()), (254, 0, "vda"));
        assert_eq!(vda.values.len(), 17);
        let v = |m: &Metric| vda.get(m).unwrap();
        assert_eq!(v(&cat::DISK_READS_COMPLETED), 47239.0);
        assert_eq!(v(&cat::DISK_READS_MERGED), 6354.0);
        assert_eq!(v(&cat::DISK_READ_BYTES), 3071170.0 * 512.0);
        // Milliseconds times 0.001 as node_exporter computes them, not the nearest
        // decimal: for 16897 ms node_exporter 1.5 printed 16.897000000000002 here.
        assert_eq!(v(&cat::DISK_READ_TIME), 18275.0 * 0.001);
        assert_eq!(v(&cat::DISK_WRITES_COMPLETED), 6355.0);
        assert_eq!(v(&cat::DISK_WRITES_MERGED), 26500.0);
        assert_eq!(v(&cat::DISK_WRITTEN_BYTES), 2761440.0 * 512.0);
        assert_eq!(v(&cat::DISK_WRITE_TIME), 16.897000000000002);
        assert_eq!(v(&cat::DISK_IO_NOW), 2.0);
        assert_eq!(v(&cat::DISK_IO_TIME), 10624.0 * 0.001);
        assert_eq!(v(&cat::DISK_IO_TIME_WEIGHTED), 35771.0 * 0.001);
        assert_eq!(v(&cat::DISK_DISCARDS_COMPLETED), 1985.0);
        assert_eq!(v(&cat::DISK_DISCARDS_MERGED), 3.0);
        assert_eq!(
            v(&cat::DISK_DISCARDED_SECTORS),
            524560.0,
            "sectors, not bytes"
        );
        assert_eq!(v(&cat::DISK_DISCARD_TIME), 520.0 * 0.001);
        assert_eq!(v(&cat::DISK_FLUSH_REQUESTS), 831.0);
        assert_eq!(v(&cat::DISK_FLUSH_TIME), 78.0 * 0.001);
        // A 4.18 kernel: discards, no flushes.
        assert_eq!(d[1].values.len(), 15);
        assert_eq!(d[1].get(&cat::DISK_DISCARD_TIME), Some(9.0 * 0.001));
        assert_eq!(d[1].get(&cat::DISK_FLUSH_REQUESTS), None);
        // Before 4.18: the eleven classic columns only.
        assert_eq!(d[2].values.len(), 11);
        assert_eq!(d[2].get(&cat::DISK_IO_TIME_WEIGHTED), Some(4.0 * 0.001));
        assert_eq!(d[2].get(&cat::DISK_DISCARDS_COMPLETED), None);
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lakewatch-disk-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn series(out: &Fragment, name: &str) -> Vec<Labels> {
        fragment_samples(out)
            .into_iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, labels, _)| labels)
            .collect()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn info_from_udev_and_sysfs() {
        let root = scratch("udev");
        let (udev_data, sysfs) = (root.join("udev"), root.join("sys"));
        std::fs::create_dir_all(&udev_data).unwrap();
        std::fs::create_dir_all(sysfs.join("block/sda/queue")).unwrap();
        std::fs::write(sysfs.join("block/sda/queue/rotational"), "1\n").unwrap();
        std::fs::write(
            udev_data.join("b8:0"),
            "S:disk/by-id/ata-WDC\nW:12\nI:1234\nE:ID_ATA=1\nE:ID_ATA_WRITE_CACHE=1\nE:ID_ATA_WRITE_CACHE_ENABLED=0\nE:ID_ATA_ROTATION_RATE_RPM=7200\nE:ID_PATH=pci-0000:00:1f.2-ata-1\nE:ID_WWN=0x50014ee\nE:ID_MODEL=WDC_WD40\nE:ID_SERIAL=WDC_WD40_WD-WCC7\nE:ID_SERIAL_SHORT=WD-WCC7\nE:ID_REVISION=82.00A82\nE:ID_FS_TYPE=LVM2_member\nE:ID_FS_USAGE=raid\nE:ID_FS_UUID=c3Gp\nE:ID_FS_VERSION=LVM2 001\nG:systemd\n",
        )
        .unwrap();
        std::fs::write(
            udev_data.join("b254:0"),
            "E:DM_NAME=vg-data\nE:DM_UUID=LVM-abc\nE:DM_VG_NAME=vg\nE:DM_LV_NAME=data\nE:ID_SERIAL=virtio-1\n",
        )
        .unwrap();
        let src = Sources {
            udev_data: &udev_data,
            sysfs: &sysfs,
        };
        let mut out = Fragment::default();
        for d in parse(DISKSTATS) {
            push(&d, &src, &mut out);
        }
        let info = series(&out, "node_disk_info");
        assert_eq!(
            info[1],
            labels(&[
                ("device", "sda"),
                ("major", "8"),
                ("minor", "0"),
                ("path", "pci-0000:00:1f.2-ata-1"),
                ("wwn", "0x50014ee"),
                ("model", "WDC_WD40"),
                ("serial", "WD-WCC7"),
                ("revision", "82.00A82"),
                ("rotational", "1"),
            ])
        );
        assert_eq!(
            info[0],
            labels(&[
                ("device", "vda"),
                ("major", "254"),
                ("minor", "0"),
                ("path", ""),
                ("wwn", ""),
                ("model", ""),
                ("serial", "virtio-1"),
                ("revision", ""),
                ("rotational", "0"),
            ]),
            "ID_SERIAL when there is no short one; not rotational without sysfs"
        );
        // No udev entry at all: every udev label empty, as node_exporter leaves them.
        assert_eq!(
            info[2][3..8],
            labels(&[
                ("path", ""),
                ("wwn", ""),
                ("model", ""),
                ("serial", ""),
                ("revision", "")
            ])[..]
        );
        assert_eq!(
            series(&out, "node_disk_filesystem_info"),
            vec![labels(&[
                ("device", "sda"),
                ("type", "LVM2_member"),
                ("usage", "raid"),
                ("uuid", "c3Gp"),
                ("version", "LVM2 001"),
            ])]
        );
        assert_eq!(
            series(&out, "node_disk_device_mapper_info"),
            vec![labels(&[
                ("device", "vda"),
                ("name", "vg-data"),
                ("uuid", "LVM-abc"),
                ("vg_name", "vg"),
                ("lv_name", "data"),
                ("lv_layer", ""),
            ])]
        );
        let ata: Vec<(String, f64)> = fragment_samples(&out)
            .into_iter()
            .filter(|(n, _, _)| n.starts_with("node_disk_ata_"))
            .map(|(n, _, v)| (n, v))
            .collect();
        assert_eq!(
            ata,
            vec![
                ("node_disk_ata_write_cache".to_string(), 1.0),
                ("node_disk_ata_write_cache_enabled".to_string(), 0.0),
                ("node_disk_ata_rotation_rate_rpm".to_string(), 7200.0),
            ]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
