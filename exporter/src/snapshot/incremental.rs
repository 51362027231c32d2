//! Snapshots whose cost follows change: each fragment is encoded once, when it is new,
//! into one part per family (sample lines, the same in both exposition formats, and a
//! gzip member when large); a publish only concatenates parts under their family's
//! header.
//!
//! The body keeps what the formats require: families sorted by name, each family's
//! `# HELP`/`# TYPE`/`# UNIT` once, followed by all its samples from every fragment
//! (OpenMetrics forbids interleaving families). Within a family, samples are sorted per
//! fragment rather than across fragments; the set of families, metadata and samples is
//! exactly [`Snapshot::build`]'s (tested against it as the oracle).
//!
//! gzip: members concatenate into one valid stream (RFC 1952 §2.2; Go's `gzip.Reader`,
//! which Prometheus uses, and curl read them all). A part of at least [`MEMBER_MIN`]
//! bytes keeps its own member; the small pieces between (headers, small families) are
//! compressed in runs cut at content-defined family boundaries, cached by their bytes,
//! so a change recompresses only the runs it touches.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash as _, Hasher as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};
use lakewatch_catalog::Kind;

use super::{
    Body, EncFamily, Snapshot, catalog_sample, encode_families, gzip, openmetrics_to_text,
    passthrough_family, sort_dedup,
};
use crate::collector::{Fragment, Value};

/// Sample bytes from which a part keeps its own gzip member: below it, the member's 18
/// bytes of framing and lost context cost more than recompressing the part in a run.
pub const MEMBER_MIN: usize = 16 * 1024;

/// A run of small pieces is cut at a family header once it holds this many bytes (and
/// the header's hash picks it), so runs resynchronise after a change instead of shifting.
const RUN_MIN: usize = 32 * 1024;

/// Set by [`set_full_rebuild`]: every [`Encoder::build`] encodes from scratch.
static FULL_REBUILD: AtomicBool = AtomicBool::new(false);

/// For benches only (`benches/src/bin/scale-serve.rs`), not a user setting: makes every
/// [`Encoder::build`] in the process re-encode everything with [`Snapshot::build`], the
/// build before issue 21, so the scale bench can measure both through the real
/// scheduler and server in one run.
#[doc(hidden)]
pub fn set_full_rebuild(on: bool) {
    FULL_REBUILD.store(on, Ordering::Relaxed);
}

/// Where a family comes from: the catalog wins over pass-through of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Catalog,
    Passthrough,
}

/// One family's samples from one fragment, encoded.
#[derive(Debug)]
struct Part {
    name: String,
    origin: Origin,
    kind: Kind,
    /// Unique for the encoder's life: identifies this part in the overlap cache.
    id: u64,
    om_header: Bytes,
    text_header: Bytes,
    /// Sample lines, sorted by labels, without duplicates; identical in both formats.
    samples: Bytes,
    /// `samples` as one gzip member, when at least [`MEMBER_MIN`] bytes.
    gzip: Option<Bytes>,
    /// Per series in `samples` order: hash of its label pairs, and where its lines end.
    series: Vec<(u64, usize)>,
    /// The label hashes, sorted, for overlap checks against other fragments.
    sorted: Vec<u64>,
}

#[derive(Debug)]
struct Cached {
    /// Held so its address, the cache key, is not reused while cached.
    _fragment: Arc<Fragment>,
    parts: Vec<Arc<Part>>,
}

/// Builds [`Snapshot`]s from fragments, re-encoding only fragments it has not seen
/// (by `Arc` identity: the scheduler replaces a target's fragment when it changes).
#[derive(Debug, Default)]
pub struct Encoder {
    fragments: HashMap<usize, Cached>,
    /// gzip members of runs of small pieces, by their plain bytes.
    runs: HashMap<Bytes, Bytes>,
    /// Per family spread over several fragments: the part ids last checked, and
    /// whether any series appeared in two of them.
    overlaps: HashMap<String, (Vec<u64>, bool)>,
    next_id: u64,
}

/// One piece of a body: plain bytes and, for large sample parts, their gzip member.
struct Piece {
    plain: Bytes,
    gzip: Option<Bytes>,
    /// A family header (a place where a run may be cut).
    header: bool,
}

impl Encoder {
    /// A snapshot of `fragments` with the same families, metadata and samples as
    /// [`Snapshot::build`], encoding only fragments that changed since the last call.
    pub fn build(&mut self, fragments: &[Arc<Fragment>]) -> Snapshot {
        if FULL_REBUILD.load(Ordering::Relaxed) {
            *self = Encoder::default();
            return Snapshot::build(fragments);
        }
        let mut cache = HashMap::with_capacity(fragments.len());
        for f in fragments {
            let key = Arc::as_ptr(f) as usize;
            if cache.contains_key(&key) {
                continue;
            }
            let cached = match self.fragments.remove(&key) {
                Some(c) => c,
                None => Cached {
                    _fragment: f.clone(),
                    parts: self.encode_fragment(f),
                },
            };
            cache.insert(key, cached);
        }
        self.fragments = cache;

        let mut families: BTreeMap<&str, Vec<&Arc<Part>>> = BTreeMap::new();
        for f in fragments {
            for part in &self.fragments[&(Arc::as_ptr(f) as usize)].parts {
                families.entry(&part.name).or_default().push(part);
            }
        }
        let mut om = Vec::new();
        let mut text = Vec::new();
        let mut overlaps = HashMap::new();
        for (name, mut parts) in families {
            if parts.iter().any(|p| p.origin == Origin::Catalog) {
                parts.retain(|p| p.origin == Origin::Catalog);
            } else {
                let kind = parts[0].kind;
                parts.retain(|p| p.kind == kind);
            }
            let first = parts[0];
            parts.retain(|p| !p.samples.is_empty());
            if parts.is_empty() {
                continue;
            }
            om.push(header(&first.om_header));
            text.push(header(&first.text_header));
            let samples: Vec<Piece> = if parts.len() == 1 {
                vec![sample_piece(parts[0])]
            } else {
                let ids: Vec<u64> = parts.iter().map(|p| p.id).collect();
                let overlap = match self.overlaps.remove(name) {
                    Some((old, v)) if old == ids => v,
                    Some((old, false)) => {
                        let changed: Vec<usize> = (0..parts.len())
                            .filter(|&i| !old.contains(&parts[i].id))
                            .collect();
                        any_overlap(&parts, &changed)
                    }
                    _ => any_overlap(&parts, &(0..parts.len()).collect::<Vec<_>>()),
                };
                overlaps.insert(name.to_string(), (ids, overlap));
                if overlap {
                    vec![merged_piece(&parts)]
                } else {
                    parts.iter().map(|p| sample_piece(p)).collect()
                }
            };
            for p in samples {
                om.push(Piece {
                    plain: p.plain.clone(),
                    gzip: p.gzip.clone(),
                    header: false,
                });
                text.push(p);
            }
        }
        self.overlaps = overlaps;
        om.push(Piece {
            plain: Bytes::from_static(b"# EOF\n"),
            gzip: None,
            header: false,
        });

        let mut runs = HashMap::new();
        let openmetrics = self.body(&om, &mut runs);
        let text = self.body(&text, &mut runs);
        self.runs = runs;
        Snapshot {
            openmetrics,
            text,
            series: fragments
                .iter()
                .map(|f| {
                    f.samples.len() + f.passthrough.iter().map(|p| p.samples.len()).sum::<usize>()
                })
                .sum(),
        }
    }

    /// Concatenates pieces; gzip from cached members and (cached) runs of small pieces.
    fn body(&self, pieces: &[Piece], runs: &mut HashMap<Bytes, Bytes>) -> Body {
        let len = pieces.iter().map(|p| p.plain.len()).sum();
        let mut plain = BytesMut::with_capacity(len);
        let mut gz = BytesMut::with_capacity(len / 8);
        let mut run = BytesMut::new();
        let mut flush = |run: &mut BytesMut, gz: &mut BytesMut| {
            if run.is_empty() {
                return;
            }
            let key = run.split().freeze();
            let member = match self.runs.get(&key).or_else(|| runs.get(&key)) {
                Some(m) => m.clone(),
                None => gzip(&key),
            };
            gz.extend_from_slice(&member);
            runs.insert(key, member);
        };
        for p in pieces {
            plain.extend_from_slice(&p.plain);
            match &p.gzip {
                Some(member) => {
                    flush(&mut run, &mut gz);
                    gz.extend_from_slice(member);
                }
                None => {
                    if p.header && run.len() >= RUN_MIN && cut_here(&p.plain) {
                        flush(&mut run, &mut gz);
                    }
                    run.extend_from_slice(&p.plain);
                }
            }
        }
        flush(&mut run, &mut gz);
        // No pieces at all: still one (empty) gzip member, as the full build writes. A
        // zero-byte body with `Content-Encoding: gzip` is not a gzip stream.
        if gz.is_empty() {
            gz.extend_from_slice(&gzip(&[]));
        }
        Body {
            plain: plain.freeze(),
            gzip: gz.freeze(),
        }
    }

    /// Encodes one fragment into parts: catalog families by name, then pass-through
    /// families by (name, type) in order of first appearance.
    fn encode_fragment(&mut self, fragment: &Fragment) -> Vec<Arc<Part>> {
        let mut catalog: BTreeMap<String, EncFamily> = BTreeMap::new();
        for sample in &fragment.samples {
            let (name, family, labels) = catalog_sample(sample);
            catalog
                .entry(name)
                .or_insert(family)
                .samples
                .push((labels, sample.value.clone()));
        }
        let mut passthrough: Vec<(String, EncFamily)> = Vec::new();
        // Kind is not Hash: a name's few kinds are searched in a short list.
        let mut index: HashMap<String, Vec<(Kind, usize)>> = HashMap::new();
        for fam in &fragment.passthrough {
            let kinds = index.entry(fam.name.clone()).or_default();
            let i = match kinds.iter().find(|(k, _)| *k == fam.kind) {
                Some(&(_, i)) => i,
                None => {
                    passthrough.push((fam.name.clone(), passthrough_family(fam)));
                    kinds.push((fam.kind, passthrough.len() - 1));
                    passthrough.len() - 1
                }
            };
            passthrough[i].1.samples.extend(
                fam.samples
                    .iter()
                    .map(|s| (s.labels.clone(), s.value.clone())),
            );
        }
        catalog
            .into_iter()
            .map(|(n, f)| (n, Origin::Catalog, f))
            .chain(
                passthrough
                    .into_iter()
                    .map(|(n, f)| (n, Origin::Passthrough, f)),
            )
            .map(|(name, origin, family)| Arc::new(self.encode_part(name, origin, family)))
            .collect()
    }

    fn encode_part(&mut self, name: String, origin: Origin, family: EncFamily) -> Part {
        let family = sort_dedup(family);
        let kind = family.kind;
        let shape: Vec<(u64, usize)> = family
            .samples
            .iter()
            .map(|(labels, value)| {
                let lines = match value {
                    Value::Number(_) => 1,
                    Value::Histogram(h) => h.buckets.len() + 2,
                };
                (label_hash(labels), lines)
            })
            .collect();
        self.next_id += 1;
        let id = self.next_id;
        // Encoded even without samples: an empty pass-through family still names its
        // family's type and help when it comes first, as in the full encoder.
        let encoded = encode_families(vec![family]);
        let om = encoded.strip_suffix("# EOF\n").unwrap_or(&encoded);
        let mut header_end = 0;
        while om[header_end..].starts_with('#') {
            header_end += om[header_end..].find('\n').map_or(om.len(), |i| i + 1);
        }
        let (om_header, samples) = om.split_at(header_end);
        let mut series = Vec::with_capacity(shape.len());
        let mut at = 0;
        let bytes = samples.as_bytes();
        for (hash, lines) in shape {
            for _ in 0..lines {
                at += bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .expect("the encoder writes one line per sample and bucket")
                    + 1;
            }
            series.push((hash, at));
        }
        debug_assert_eq!(at, samples.len(), "{name}: lines per series");
        let mut sorted: Vec<u64> = series.iter().map(|s| s.0).collect();
        sorted.sort_unstable();
        let samples = Bytes::copy_from_slice(bytes);
        Part {
            gzip: (samples.len() >= MEMBER_MIN).then(|| gzip(&samples)),
            text_header: Bytes::from(openmetrics_to_text(om_header)),
            om_header: Bytes::copy_from_slice(om_header.as_bytes()),
            name,
            origin,
            kind,
            id,
            samples,
            series,
            sorted,
        }
    }
}

fn header(plain: &Bytes) -> Piece {
    Piece {
        plain: plain.clone(),
        gzip: None,
        header: true,
    }
}

fn sample_piece(part: &Part) -> Piece {
    Piece {
        plain: part.samples.clone(),
        gzip: part.gzip.clone(),
        header: false,
    }
}

/// Whether a series of a `check`ed part also appears in another part (by label hash:
/// a 64-bit collision only costs the merged path, which compares hashes too).
fn any_overlap(parts: &[&Arc<Part>], check: &[usize]) -> bool {
    check.iter().any(|&i| {
        parts.iter().enumerate().any(|(j, other)| {
            j != i
                && parts[i]
                    .sorted
                    .iter()
                    .any(|h| other.sorted.binary_search(h).is_ok())
        })
    })
}

/// The family's samples with each series once, from the first part that has it, as
/// the full encoder keeps the first of equal label sets in fragment order.
fn merged_piece(parts: &[&Arc<Part>]) -> Piece {
    let mut seen = HashSet::new();
    let mut out = BytesMut::new();
    for p in parts {
        let mut start = 0;
        for &(hash, end) in &p.series {
            if seen.insert(hash) {
                out.extend_from_slice(&p.samples[start..end]);
            }
            start = end;
        }
    }
    Piece {
        plain: out.freeze(),
        gzip: None,
        header: false,
    }
}

fn label_hash(labels: &[(String, String)]) -> u64 {
    let mut h = DefaultHasher::new();
    labels.hash(&mut h);
    h.finish()
}

/// Content-defined cut points: about one family header in four.
fn cut_here(header: &[u8]) -> bool {
    let mut h = DefaultHasher::new();
    header.hash(&mut h);
    h.finish().is_multiple_of(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::{Family, FamilySample, Histogram};
    use lakewatch_catalog::{self as cat, Metric, Source};
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::io::Read as _;

    static LATENCY: Metric = Metric {
        name: "test_latency_seconds",
        kind: Kind::Histogram,
        unit: Some("seconds"),
        help: "Test histogram.",
        labels: &["op"],
        source: Source::Exporter,
    };

    /// What a body says, order aside: metadata per family and every sample line.
    #[derive(Debug, PartialEq)]
    struct Parsed {
        meta: BTreeMap<String, Vec<String>>,
        samples: Vec<String>,
    }

    /// Parses an exposition body, asserting each family's metadata appears once and its
    /// samples directly follow it (no family interleaved with another).
    fn parse(body: &[u8], openmetrics: bool) -> Parsed {
        let text = std::str::from_utf8(body).expect("bodies are UTF-8");
        let mut meta: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut closed = BTreeSet::new();
        let mut current: Option<String> = None;
        let mut samples = Vec::new();
        for line in text.lines() {
            if line == "# EOF" {
                assert!(openmetrics, "# EOF in a 0.0.4 body");
                continue;
            }
            if let Some(rest) = line.strip_prefix("# ") {
                let mut words = rest.splitn(3, ' ');
                let what = words.next().unwrap();
                let name = words.next().unwrap().to_string();
                if current.as_deref() != Some(name.as_str()) {
                    if let Some(c) = current.take() {
                        closed.insert(c);
                    }
                    assert!(!closed.contains(&name), "{name} reopened:\n{text}");
                    assert!(!meta.contains_key(&name), "{name} twice:\n{text}");
                    current = Some(name.clone());
                }
                let m = meta.entry(name.clone()).or_default();
                assert!(
                    !m.iter().any(|l| l.starts_with(what)),
                    "two {what} for {name}:\n{text}"
                );
                m.push(rest.split_once(' ').unwrap().1.to_string());
                continue;
            }
            let series = &line[..line.find(['{', ' ']).unwrap()];
            let family = current.as_deref().expect("a sample follows its metadata");
            let belongs = series == family
                || ["_total", "_bucket", "_sum", "_count", "_info"]
                    .iter()
                    .any(|s| series.strip_suffix(s) == Some(family));
            assert!(belongs, "{series} inside family {family}:\n{text}");
            samples.push(line.to_string());
        }
        assert_eq!(text.ends_with("# EOF\n"), openmetrics);
        samples.sort();
        let total = samples.len();
        samples.dedup();
        assert_eq!(samples.len(), total, "a duplicate series:\n{text}");
        Parsed { meta, samples }
    }

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(gz)
            .read_to_end(&mut out)
            .expect("a valid gzip stream");
        out
    }

    fn assert_same(new: &Snapshot, old: &Snapshot) {
        for (n, o, om) in [
            (&new.openmetrics, &old.openmetrics, true),
            (&new.text, &old.text, false),
        ] {
            assert_eq!(parse(&n.plain, om), parse(&o.plain, om));
            assert_eq!(gunzip(&n.gzip), &n.plain[..]);
        }
        assert_eq!(new.series, old.series);
    }

    /// A random fragment's recipe: catalog samples, pass-through families, and maybe a
    /// large filesystem family (big enough for its own gzip member) at some offset.
    type Recipe = (
        Vec<(usize, usize, u8)>,
        Vec<(usize, usize, Vec<(usize, u8)>)>,
        Option<usize>,
    );

    fn recipe() -> impl Strategy<Value = Recipe> {
        (
            prop::collection::vec((0..5usize, 0..3usize, any::<u8>()), 0..12),
            prop::collection::vec(
                (
                    0..4usize,
                    0..3usize,
                    prop::collection::vec((0..3usize, any::<u8>()), 0..4),
                ),
                0..4,
            ),
            prop::option::of(0..3usize),
        )
    }

    fn fragment(r: &Recipe) -> Arc<Fragment> {
        let values = ["a", "b", "with \"quote\""];
        let mut f = Fragment::default();
        for &(m, l, v) in &r.0 {
            let (l, x) = (values[l], f64::from(v));
            match m {
                0 => f.push(&cat::FILESYSTEM_SIZE, [l, "ext4", "/"], x),
                1 => f.push(&cat::DISK_READ_BYTES, [l], x),
                2 => f.push(&cat::COLLECTOR_UP, ["disk", l], x),
                3 => f.push(&cat::BUILD_INFO, [l, "abc", "1.95.0"], 1.0),
                _ => f.push_histogram(
                    &LATENCY,
                    [l],
                    Arc::new(Histogram {
                        buckets: vec![(0.1, u64::from(v)), (f64::INFINITY, 1)],
                        sum: x,
                        count: u64::from(v) + 1,
                    }),
                ),
            }
        }
        let names = [
            "ext_a",
            "ext_b",
            "node_disk_read_bytes",
            "lakewatch_collector_up",
        ];
        let kinds = [Kind::Gauge, Kind::Counter, Kind::Unknown];
        for (n, k, samples) in &r.1 {
            f.passthrough.push(Family {
                name: names[*n].to_string(),
                kind: kinds[*k],
                help: format!("Help {n} {k}."),
                samples: samples
                    .iter()
                    .map(|&(l, v)| FamilySample {
                        labels: vec![("x".to_string(), values[l].to_string())],
                        value: Value::Number(f64::from(v)),
                    })
                    .collect(),
            });
        }
        if let Some(offset) = r.2 {
            for i in 0..400 {
                let device = format!("/dev/mapper/vg-data{}", i + offset * 200);
                f.push(
                    &cat::FILESYSTEM_FREE,
                    [device.as_str(), "xfs", "/data/volumes/tenant/lake"],
                    i as f64,
                );
            }
        }
        Arc::new(f)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Across random fragments and random replacements of one fragment at a time,
        /// the incremental body says exactly what the full re-encode says.
        #[test]
        fn incremental_matches_full_encode(
            start in prop::collection::vec(recipe(), 1..5),
            updates in prop::collection::vec((0..5usize, recipe()), 0..6),
        ) {
            let mut fragments: Vec<Arc<Fragment>> = start.iter().map(fragment).collect();
            let mut encoder = Encoder::default();
            assert_same(&encoder.build(&fragments), &Snapshot::build(&fragments));
            for (i, r) in &updates {
                let i = i % fragments.len();
                fragments[i] = fragment(r);
                assert_same(&encoder.build(&fragments), &Snapshot::build(&fragments));
            }
        }
    }

    #[test]
    fn an_empty_snapshot_is_still_a_gzip_stream() {
        // Found by the proptest: an empty fragment gave a zero-byte gzip body.
        let empty = Arc::new(Fragment::default());
        let new = Encoder::default().build(std::slice::from_ref(&empty));
        assert_eq!(gunzip(&new.text.gzip), &new.text.plain[..]);
        assert_eq!(gunzip(&new.openmetrics.gzip), &new.openmetrics.plain[..]);
        assert_same(&new, &Snapshot::build(&[empty]));
    }

    #[test]
    fn large_parts_keep_their_member_and_shared_families_one_header() {
        let a = fragment(&(vec![(2, 0, 1)], vec![], Some(0)));
        let b = fragment(&(vec![(2, 1, 1)], vec![], Some(2)));
        let mut encoder = Encoder::default();
        let first = encoder.build(&[a.clone(), b.clone()]);
        let om = std::str::from_utf8(&first.openmetrics.plain).unwrap();
        assert_eq!(om.matches("# TYPE node_filesystem_free_bytes ").count(), 1);
        assert_eq!(om.matches("# TYPE lakewatch_collector_up ").count(), 1);
        let a_part = encoder.fragments[&(Arc::as_ptr(&a) as usize)].parts.clone();
        let member = a_part
            .iter()
            .find_map(|p| p.gzip.clone())
            .expect("400 filesystems make a part of its own member");
        let gz = &first.openmetrics.gzip;
        assert!(
            gz.windows(member.len()).any(|w| w == &member[..]),
            "the cached member is served as is"
        );
        // A new b: a's part is reused, not re-encoded.
        let b2 = fragment(&(vec![(2, 2, 1)], vec![], Some(2)));
        let second = encoder.build(&[a.clone(), b2.clone()]);
        assert!(Arc::ptr_eq(
            &encoder.fragments[&(Arc::as_ptr(&a) as usize)].parts[0],
            &a_part[0]
        ));
        assert_same(&second, &Snapshot::build(&[a, b2]));
    }

    #[test]
    fn a_series_in_two_fragments_is_written_once() {
        let a = fragment(&(vec![(0, 0, 1)], vec![], Some(0)));
        let b = fragment(&(vec![(0, 0, 2)], vec![], Some(1)));
        let mut encoder = Encoder::default();
        let snap = encoder.build(&[a.clone(), b.clone()]);
        let om = std::str::from_utf8(&snap.openmetrics.plain).unwrap();
        assert_eq!(om.matches("node_filesystem_size_bytes{").count(), 1, "{om}");
        assert!(
            om.contains("lake\"} 1.0\n") || om.contains("/\"} 1.0\n"),
            "{om}"
        );
        assert_same(&snap, &Snapshot::build(&[a, b]));
    }
}
