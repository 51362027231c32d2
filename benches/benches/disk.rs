//! The block-device half of a disk collection cycle: /proc/diskstats read and parsed into
//! every node_exporter column, plus one udev and one sysfs file per device for
//! `node_disk_info`. The baseline, in the same run, is what the cycle did before: read
//! the file and keep five columns.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lakewatch_catalog as cat;
use lakewatch_exporter::collector::Fragment;
use lakewatch_exporter::collector::disk::diskstats::{self, Sources};

/// The cycle before node_disk_info and the other columns: five counters per device.
fn five_columns(text: &str, out: &mut Fragment) {
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 14 {
            continue;
        }
        let n = |i: usize| f[i].parse::<f64>().unwrap_or(0.0);
        let l = [f[2]];
        out.push(&cat::DISK_READS_COMPLETED, l, n(3));
        out.push(&cat::DISK_READ_BYTES, l, n(5) * 512.0);
        out.push(&cat::DISK_WRITES_COMPLETED, l, n(7));
        out.push(&cat::DISK_WRITTEN_BYTES, l, n(9) * 512.0);
        out.push(&cat::DISK_IO_TIME, l, n(12) / 1000.0);
    }
}

fn all_columns(text: &str, src: &Sources<'_>, out: &mut Fragment) {
    for d in diskstats::parse(text) {
        diskstats::push(&d, src, out);
    }
}

/// A host with `n` disks that udev and sysfs know (a storage server's shelf).
fn synthetic_host(n: usize) -> (String, PathBuf) {
    let root = std::env::temp_dir().join(format!("lakewatch-bench-disk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut text = String::new();
    for i in 0..n {
        let (major, minor, dev) = (8 + i / 16, (i % 16) * 16, format!("sd{i}"));
        text.push_str(&format!(
            "{major:4} {minor:7} {dev} 47239 6354 3071170 18275 6355 26500 2761440 16897 0 10624 35771 1985 0 524560 520 831 78\n"
        ));
        let queue = root.join(format!("sys/block/{dev}/queue"));
        std::fs::create_dir_all(&queue).expect("a scratch sysfs");
        std::fs::write(queue.join("rotational"), "1\n").expect("a scratch sysfs");
        let udev = root.join("udev");
        std::fs::create_dir_all(&udev).expect("a scratch udev database");
        std::fs::write(
            udev.join(format!("b{major}:{minor}")),
            format!("S:disk/by-id/ata-X\nE:ID_ATA=1\nE:ID_ATA_WRITE_CACHE=1\nE:ID_ATA_WRITE_CACHE_ENABLED=1\nE:ID_ATA_ROTATION_RATE_RPM=7200\nE:ID_PATH=pci-0000:00:1f.2-ata-{i}\nE:ID_WWN=0x5000c500{i:08x}\nE:ID_MODEL=ST8000NM\nE:ID_SERIAL_SHORT=ZA{i:06}\nE:ID_REVISION=SN05\nE:ID_FS_TYPE=xfs\nE:ID_FS_USAGE=filesystem\nE:ID_FS_UUID=0f{i:06}\nG:systemd\n"),
        )
        .expect("a scratch udev database");
    }
    (text, root)
}

fn devices(c: &mut Criterion) {
    let mut g = c.benchmark_group("disk");
    g.sample_size(20);

    let here = std::fs::read_to_string("/proc/diskstats").expect("/proc/diskstats");
    let host = Sources {
        udev_data: Path::new("/run/udev/data"),
        sysfs: Path::new("/sys"),
    };
    g.throughput(Throughput::Elements(here.lines().count() as u64));
    g.bench_function("this_host/before_five_columns", |b| {
        b.iter(|| {
            let text = std::fs::read_to_string("/proc/diskstats").expect("/proc/diskstats");
            let mut out = Fragment::default();
            five_columns(black_box(&text), &mut out);
            out.samples.len()
        })
    });
    g.bench_function("this_host/all_columns_and_info", |b| {
        b.iter(|| {
            let text = std::fs::read_to_string("/proc/diskstats").expect("/proc/diskstats");
            let mut out = Fragment::default();
            all_columns(black_box(&text), &host, &mut out);
            out.samples.len()
        })
    });

    for n in [16, 256] {
        let (text, root) = synthetic_host(n);
        let (udev_data, sysfs) = (root.join("udev"), root.join("sys"));
        let src = Sources {
            udev_data: &udev_data,
            sysfs: &sysfs,
        };
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("before_five_columns", n), &text, |b, t| {
            b.iter(|| {
                let mut out = Fragment::default();
                five_columns(black_box(t), &mut out);
                out.samples.len()
            })
        });
        g.bench_with_input(BenchmarkId::new("parse_only", n), &text, |b, t| {
            b.iter(|| diskstats::parse(black_box(t)).len())
        });
        g.bench_with_input(
            BenchmarkId::new("all_columns_and_info", n),
            &text,
            |b, t| {
                b.iter(|| {
                    let mut out = Fragment::default();
                    all_columns(black_box(t), &src, &mut out);
                    out.samples.len()
                })
            },
        );
        let _ = std::fs::remove_dir_all(&root);
    }
    g.finish();
}

criterion_group!(benches, devices);
criterion_main!(benches);
