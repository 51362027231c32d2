//! Input formats. Each file under `spec/` mirrors one format one-to-one with serde types
//! that carry source spans, and converts them into the validated [`crate::model`].
//! The format is detected from `version` (native, Sloth) or `apiVersion` (OpenSLO).

pub mod native;
pub mod openslo;
pub mod sloth;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::error::{Pos, Problem, SpecError};
use crate::model::{Format, Service};

/// Just enough of any document to tell which format it is in.
#[derive(Deserialize)]
struct Probe {
    version: Option<Spanned<String>>,
    #[serde(rename = "apiVersion")]
    api_version: Option<Spanned<String>>,
}

/// Reads one spec file's text into validated services (OpenSLO files may name several).
pub fn load(file: &str, text: &str) -> Result<Vec<Service>, SpecError> {
    load_with_params(file, text, &BTreeMap::new())
}

/// [`load`], with `params` replacing the values of the native spec's parameters of the
/// same name (see [`native`]). Other formats have no parameters and ignore them.
pub fn load_with_params(
    file: &str,
    text: &str,
    params: &BTreeMap<String, String>,
) -> Result<Vec<Service>, SpecError> {
    load_problem(file, text, params).map_err(|p| p.in_file(file, text))
}

fn load_problem(
    file: &str,
    text: &str,
    params: &BTreeMap<String, String>,
) -> Result<Vec<Service>, Problem> {
    match detect(text)? {
        Format::Native => native::load(file, text, params).map(|s| vec![s]),
        Format::Sloth => sloth::load(file, text).map(|s| vec![s]),
        Format::OpenSlo => openslo::load(file, text),
    }
}

/// Detects the format from the first document.
pub fn detect(text: &str) -> Result<Format, Problem> {
    // Multi-document files are only valid for OpenSLO; parse the first document here and
    // let the format's own reader complain about the rest.
    let docs: Vec<Probe> = serde_saphyr::from_multiple(text).map_err(|e| Problem::from_yaml(&e))?;
    let Some(first) = docs.into_iter().next() else {
        return Err(Problem::new(
            Pos { line: 1, column: 1 },
            "the spec file is empty",
        ));
    };
    let start = Pos { line: 1, column: 1 };
    match (first.version, first.api_version) {
        (Some(v), _) => match v.value.as_str() {
            native::VERSION => Ok(Format::Native),
            sloth::VERSION => Ok(Format::Sloth),
            other => Err(Problem::new(
                Pos::at(&v),
                format!(
                    "unknown version `{other}`: expected `{}` or `{}` (or `apiVersion: {}`)",
                    native::VERSION,
                    sloth::VERSION,
                    openslo::API_VERSION
                ),
            )),
        },
        (None, Some(a)) => {
            if a.value == openslo::API_VERSION {
                Ok(Format::OpenSlo)
            } else {
                Err(Problem::new(
                    Pos::at(&a),
                    format!(
                        "unsupported apiVersion `{}`: only `{}` is supported",
                        a.value,
                        openslo::API_VERSION
                    ),
                ))
            }
        }
        (None, None) => Err(Problem::new(
            start,
            format!(
                "cannot tell the spec format: add `version: {}`, `version: {}` or `apiVersion: {}`",
                native::VERSION,
                sloth::VERSION,
                openslo::API_VERSION
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
