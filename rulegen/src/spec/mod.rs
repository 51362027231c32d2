//! Input formats. Each file under `spec/` mirrors one format one-to-one with serde types
//! that carry source spans, and converts them into the validated [`crate::model`].
//! The format is detected from `version` (native, Sloth) or `apiVersion` (OpenSLO,
//! Sloth's Kubernetes resource), per YAML document: a file may hold several specs
//! separated by `---`, as Sloth allows.

pub mod native;
pub mod openslo;
pub mod sloth;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use crate::error::{Pos, Problem, Problems, SpecError};
use crate::model::Service;

/// The input formats, as told apart by [`detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `version: lakewatch/v1`.
    Native,
    /// Sloth's `version: prometheus/v1`.
    Sloth,
    /// Sloth's Kubernetes resource, `apiVersion: sloth.slok.dev/v1`.
    SlothKubernetes,
    /// `apiVersion: openslo/v1`.
    OpenSlo,
}

/// Just enough of any document to tell which format it is in.
#[derive(Deserialize)]
struct Probe {
    version: Option<Spanned<String>>,
    #[serde(rename = "apiVersion")]
    api_version: Option<Spanned<String>>,
}

/// What a run may change in the specs it reads (the command line's share of a spec).
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Values replacing those of the native spec's parameters of the same name (see
    /// [`native`]). Other formats have no parameters and ignore them.
    pub params: BTreeMap<String, String>,
    /// The period of Sloth specs, which have none of their own (Sloth's
    /// `--default-slo-period`), in seconds.
    pub sloth_period_secs: u64,
    /// How often Prometheus scrapes the SLIs' series (`--scrape-interval`), in seconds:
    /// an SLI window holding fewer than two scrapes is warned about.
    pub scrape_interval_secs: u64,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            params: BTreeMap::new(),
            sloth_period_secs: sloth::DEFAULT_PERIOD_SECS,
            scrape_interval_secs: crate::model::DEFAULT_SCRAPE_INTERVAL_SECS,
        }
    }
}

/// Reads one spec file's text into validated services (OpenSLO files and files of
/// several YAML documents may name several).
pub fn load(file: &str, text: &str) -> Result<Vec<Service>, SpecError> {
    load_with(file, text, &LoadOptions::default())
}

/// [`load`], with `params` replacing the values of the native spec's parameters of the
/// same name (see [`native`]). Other formats have no parameters and ignore them.
pub fn load_with_params(
    file: &str,
    text: &str,
    params: &BTreeMap<String, String>,
) -> Result<Vec<Service>, SpecError> {
    let opts = LoadOptions {
        params: params.clone(),
        ..LoadOptions::default()
    };
    load_with(file, text, &opts)
}

/// [`load`] with the run's options.
pub fn load_with(file: &str, text: &str, opts: &LoadOptions) -> Result<Vec<Service>, SpecError> {
    load_all_with(file, text, opts)
        .map(|l| l.services)
        .map_err(|mut e| e.swap_remove(0))
}

/// The services of a file, and its warnings: legal but suspicious input (an objective
/// below 1%, a threshold alert's unusual severity), each at `file:line:column`.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The validated services, in file order.
    pub services: Vec<Service>,
    /// What looks wrong but is not an error.
    pub warnings: Vec<SpecError>,
}

/// [`load_with`], with every problem of the file rather than the first: each document is
/// read, and in each every SLO and alert (in file order).
pub fn load_all_with(file: &str, text: &str, opts: &LoadOptions) -> Result<Loaded, Vec<SpecError>> {
    let mut warnings = Vec::new();
    let services = load_problems(file, text, opts, &mut warnings).map_err(|p| {
        p.0.into_iter()
            .map(|p| p.in_file(file, text))
            .collect::<Vec<_>>()
    })?;
    Ok(Loaded {
        services,
        warnings: warnings
            .into_iter()
            .map(|w| w.in_file(file, text))
            .collect(),
    })
}

fn load_problems(
    file: &str,
    text: &str,
    opts: &LoadOptions,
    warnings: &mut Vec<Problem>,
) -> Result<Vec<Service>, Problems> {
    let docs = documents(text);
    let Some(first) = docs.first() else {
        return Err(Problem::new(Pos { line: 1, column: 1 }, "the spec file is empty").into());
    };
    // OpenSLO documents refer to each other (an SLO to its Service) across the file, so
    // an OpenSLO file is read whole, as before; every other format takes one spec per
    // document, as Sloth does.
    if detect_document(first).map_err(|p| p.below(first.lines_before))? == Input::OpenSlo {
        return openslo::load_warning(file, text, opts.scrape_interval_secs, warnings);
    }
    let mut services = Vec::new();
    let mut problems = Vec::new();
    for doc in &docs {
        let mut found = Vec::new();
        let mut one = |doc: &Document| -> Result<Vec<Service>, Problems> {
            let w = &mut found;
            let period = opts.sloth_period_secs;
            let scrape = opts.scrape_interval_secs;
            Ok(match detect_document(doc)? {
                Input::Native => vec![native::load_warning(
                    file,
                    doc.text,
                    &opts.params,
                    scrape,
                    w,
                )?],
                Input::Sloth => vec![sloth::load_warning(file, doc.text, period, scrape, w)?],
                Input::SlothKubernetes => {
                    vec![sloth::load_kubernetes(file, doc.text, period, scrape, w)?]
                }
                Input::OpenSlo => openslo::load_warning(file, doc.text, scrape, w)?,
            })
        };
        let read = one(doc);
        warnings.extend(found.into_iter().map(|w| w.below(doc.lines_before)));
        match read {
            Ok(s) => services.extend(s),
            Err(p) => problems.extend(syntax_first(doc.text, p).below(doc.lines_before).0),
        }
    }
    if problems.is_empty() {
        Ok(services)
    } else {
        Err(Problems(problems))
    }
}

/// The document's first YAML syntax error, if it has one, rather than `problem`: a reader
/// stops at the first value of the wrong type, and a broken bracket further down makes
/// such a complaint misleading. Only a failed document is parsed a second time.
fn syntax_first(text: &str, problems: Problems) -> Problems {
    match serde_saphyr::from_multiple::<IgnoredAny>(text) {
        Err(e) => Problem::from_yaml(&e).into(),
        Ok(_) => problems,
    }
}

/// One YAML document of a spec file: its text (from its `---` line, if any) and how many
/// lines of the file come before it, to turn positions in it into positions in the file.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Document<'a> {
    text: &'a str,
    lines_before: u64,
}

/// Splits a file at its `---` document markers, dropping documents with nothing but
/// comments, blank lines and directives in them (Sloth's splitter drops them too).
///
/// A line split, not a YAML parse: each document is parsed once, by its format's reader,
/// and a line starting with `---` at column 0 can only be a document marker in the
/// specs we read (every format's top level is a mapping, whose multi-line values are
/// indented). A marker with content after it (`--- {...}`) stays in its document.
fn documents(text: &str) -> Vec<Document<'_>> {
    let mut docs = Vec::new();
    let (mut start, mut start_line, mut has_content) = (0usize, 0u64, false);
    let mut offset = 0usize;
    for (n, line) in crate::error::yaml_lines(text).enumerate() {
        let n = n as u64;
        let marker = line
            .strip_prefix("---")
            .filter(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        if let Some(rest) = marker {
            if has_content {
                docs.push(Document {
                    text: &text[start..offset],
                    lines_before: start_line,
                });
            }
            (start, start_line) = (offset, n);
            let rest = rest.trim();
            has_content = !rest.is_empty() && !rest.starts_with('#');
        } else {
            let t = line.trim();
            has_content |= !t.is_empty() && !t.starts_with('#') && !line.starts_with('%');
        }
        offset += line.len();
        // The line break yaml_lines split at.
        if text[offset..].starts_with("\r\n") {
            offset += 2;
        } else if offset < text.len() {
            offset += 1;
        }
    }
    if has_content {
        docs.push(Document {
            text: &text[start..],
            lines_before: start_line,
        });
    }
    docs
}

/// The format of one document, from its top-level `version` or `apiVersion` line when
/// it is written plainly (the common case, and no YAML parse); anything else (a flow
/// mapping, an indented top level, an alias, an unknown value) is parsed with [`detect`]
/// for its exact error.
fn detect_document(doc: &Document) -> Result<Input, Problem> {
    let mut version = None;
    let mut api_version = None;
    for line in crate::error::yaml_lines(doc.text) {
        // Only the top level's keys, which start at column 0.
        if line.starts_with([' ', '\t', '#', '-']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim_end().trim_matches(|c| c == '"' || c == '\'');
        let value = value.split(" #").next().unwrap_or("").trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        match key {
            "version" if version.is_none() => version = Some(value),
            "apiVersion" if api_version.is_none() => api_version = Some(value),
            _ => {}
        }
    }
    let known = match (version, api_version) {
        (Some(native::VERSION), _) => Some(Input::Native),
        (Some(sloth::VERSION), _) => Some(Input::Sloth),
        (None, Some(openslo::API_VERSION)) => Some(Input::OpenSlo),
        (None, Some(sloth::KUBERNETES_API_VERSION)) => Some(Input::SlothKubernetes),
        _ => None,
    };
    match known {
        Some(f) => Ok(f),
        None => detect(doc.text),
    }
}

/// Detects the format from the first document by parsing it.
pub fn detect(text: &str) -> Result<Input, Problem> {
    let docs: Vec<Probe> = serde_saphyr::from_multiple(text).map_err(|e| Problem::from_yaml(&e))?;
    let Some(first) = docs.into_iter().next() else {
        return Err(Problem::new(
            Pos { line: 1, column: 1 },
            "the spec file is empty",
        ));
    };
    let start = Pos { line: 1, column: 1 };
    let api_versions = format!(
        "`apiVersion: {}` or `apiVersion: {}`",
        openslo::API_VERSION,
        sloth::KUBERNETES_API_VERSION
    );
    match (first.version, first.api_version) {
        (Some(v), _) => match v.value.as_str() {
            native::VERSION => Ok(Input::Native),
            sloth::VERSION => Ok(Input::Sloth),
            other => Err(Problem::new(
                Pos::at(&v),
                format!(
                    "unknown version `{other}`: expected `{}` or `{}` (or {api_versions})",
                    native::VERSION,
                    sloth::VERSION,
                ),
            )),
        },
        (None, Some(a)) => match a.value.as_str() {
            openslo::API_VERSION => Ok(Input::OpenSlo),
            sloth::KUBERNETES_API_VERSION => Ok(Input::SlothKubernetes),
            other => Err(Problem::new(
                Pos::at(&a),
                format!("unsupported apiVersion `{other}`: expected {api_versions}"),
            )),
        },
        (None, None) => Err(Problem::new(
            start,
            format!(
                "cannot tell the spec format: add `version: {}`, `version: {}` or {api_versions}",
                native::VERSION,
                sloth::VERSION,
            ),
        )),
    }
}

/// Parses a single-document format, rejecting extra documents: Prometheus itself would
/// silently ignore them, and so would we otherwise.
pub(crate) fn single_document<T>(text: &str) -> Result<T, Problem>
where
    T: for<'de> Deserialize<'de>,
{
    let mut docs: Vec<Spanned<T>> =
        serde_saphyr::from_multiple(text).map_err(|e| Problem::from_yaml(&e))?;
    if docs.len() > 1 {
        let second = &docs[1];
        return Err(Problem::new(
            Pos::at(second),
            "this format takes one YAML document per file; split the second document into its own file",
        ));
    }
    match docs.pop() {
        Some(d) => Ok(d.value),
        None => Err(Problem::new(
            Pos { line: 1, column: 1 },
            "the spec file is empty",
        )),
    }
}

/// A label map with the position of the map itself (serde does not give spans for keys).
pub(crate) type Labels = Option<Spanned<BTreeMap<String, String>>>;

/// Validates a spanned label map, defaulting to empty.
pub(crate) fn labels(l: &Labels) -> Result<BTreeMap<String, String>, Problem> {
    match l {
        Some(s) => crate::model::check_labels(&s.value, Pos::at(s)),
        None => Ok(BTreeMap::new()),
    }
}

/// `a` overlaid with `b` (b wins).
pub(crate) fn merged(
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = a.clone();
    out.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<(u64, &str)> {
        documents(text)
            .into_iter()
            .map(|d| (d.lines_before, d.text))
            .collect()
    }

    #[test]
    fn documents_split_at_markers_and_keep_their_line() {
        assert_eq!(split("a: 1\n"), [(0, "a: 1\n")]);
        assert_eq!(
            split("---\na: 1\n\n---\n# only a comment\n---\nb: 2\n"),
            [(0, "---\na: 1\n\n"), (5, "---\nb: 2\n")]
        );
        assert_eq!(
            split("a: 1\r\n--- {b: 2}\r\n"),
            [(0, "a: 1\r\n"), (1, "--- {b: 2}\r\n")]
        );
        // Not markers: `----`, `---x`, and an indented `---` inside a block scalar.
        let text = "a: |\n  ---\n----: 1\n---x: 2\n";
        assert_eq!(split(text), [(0, text)]);
        assert!(split("").is_empty());
        assert!(split("# nothing\n---\n\n").is_empty());
    }

    fn doc(text: &str) -> Document<'_> {
        Document {
            text,
            lines_before: 0,
        }
    }

    #[test]
    fn the_format_is_read_from_the_top_level_key() {
        let cases = [
            ("version: lakewatch/v1\n", Input::Native),
            ("# c\nversion: \"prometheus/v1\" # Sloth\n", Input::Sloth),
            ("'version': 'prometheus/v1'\n", Input::Sloth),
            (
                "apiVersion: sloth.slok.dev/v1\nkind: x\n",
                Input::SlothKubernetes,
            ),
            ("kind: SLO\napiVersion: openslo/v1\n", Input::OpenSlo),
            // Nested keys do not count; the parser decides a flow mapping.
            (
                "metadata:\n  version: x\nversion: lakewatch/v1\n",
                Input::Native,
            ),
            ("{version: prometheus/v1}\n", Input::Sloth),
        ];
        for (text, want) in cases {
            assert_eq!(detect_document(&doc(text)), Ok(want), "{text}");
        }
        let e = detect_document(&doc("a: 1\nversion: nope/v2\n")).unwrap_err();
        assert_eq!(
            e.pos,
            Pos {
                line: 2,
                column: 10
            }
        );
        assert!(
            e.message.starts_with("unknown version `nope/v2`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn each_document_is_its_own_spec_and_errors_point_into_the_file() {
        let one = "version: prometheus/v1\nservice: SVC\nslos:\n  - name: a\n    objective: 99\n    sli:\n      raw:\n        error_ratio_query: rate(e[{{.window}}])\n    alerting:\n      page_alert: {disable: true}\n      ticket_alert: {disable: true}\n";
        let text = format!(
            "{}---\n{}",
            one.replace("SVC", "first"),
            one.replace("SVC", "second")
        );
        let services = load("s.yml", &text).unwrap();
        let names: Vec<_> = services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["first", "second"]);
        // The second document's objective, on the file's line 17.
        let i = text.rfind("objective: 99").unwrap();
        let bad = format!("{}objective: 100{}", &text[..i], &text[i + 13..]);
        let e = load("s.yml", &bad).unwrap_err();
        assert_eq!((e.pos.line, e.pos.column), (17, 16), "{e}");
        assert!(e.snippet.contains("objective: 100"), "{e}");
    }
}
