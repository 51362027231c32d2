//! Errors a user can act on: every spec problem names its file, line and column, quotes the
//! offending line and says what was expected.

use std::fmt;

/// A 1-based line and column in a spec file; `0:0` means "somewhere in the file" (serde
/// loses spans inside buffered enums, see serde-saphyr's `Spanned` docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

impl Pos {
    /// The position serde-saphyr recorded for a node.
    pub fn of(loc: &serde_saphyr::Location) -> Pos {
        Pos {
            line: loc.line(),
            column: loc.column(),
        }
    }

    /// Where a spanned value was written (the alias site for YAML aliases, which is where
    /// the user has to look first).
    pub fn at<T>(s: &serde_saphyr::Spanned<T>) -> Pos {
        Pos::of(&s.referenced)
    }
}

/// One problem at one place, before it is tied to a file name (the parsing and validation
/// code does not need to know which file it is looking at).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Where the problem is.
    pub pos: Pos,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Problem {
    /// A problem at `pos`.
    pub fn new(pos: Pos, message: impl Into<String>) -> Problem {
        Problem {
            pos,
            message: message.into(),
        }
    }

    /// Turns a serde-saphyr error into a problem, keeping its location but dropping its
    /// own snippet rendering so all our errors look alike.
    pub fn from_yaml(err: &serde_saphyr::Error) -> Problem {
        let pos = err.location().map(|l| Pos::of(&l)).unwrap_or_default();
        let raw = err.without_snippet().to_string();
        // serde-saphyr appends "at line L, column C"; we print the position up front.
        let msg = match raw.rfind(" at line ") {
            Some(i) => raw[..i].to_string(),
            None => raw,
        };
        let msg = if msg.starts_with("duplicate mapping key") {
            msg.split(", set DuplicateKeyPolicy")
                .next()
                .unwrap_or(&msg)
                .to_string()
        } else if msg.contains("expected end of mapping after enum variant value") {
            // serde's externally tagged enums see a second key here: the user gave two of
            // a set of mutually exclusive keys.
            "only one kind may be given here (for an `sli`: exactly one of its kinds)".to_string()
        } else if msg == "invalid floating point" {
            "expected a number here".to_string()
        } else {
            msg
        };
        Problem::new(pos, msg)
    }

    /// The same problem in a text with `lines` more lines before it (a document of a
    /// multi-document file, read on its own).
    pub fn below(mut self, lines: u64) -> Problem {
        if self.pos.line > 0 {
            self.pos.line += lines;
        }
        self
    }

    /// Attaches the file name and the quoted source line.
    pub fn in_file(self, file: &str, source: &str) -> SpecError {
        SpecError {
            file: file.to_string(),
            pos: self.pos,
            snippet: snippet(source, self.pos),
            message: self.message,
        }
    }
}

/// Every problem found in one document: a reader goes on to the next SLO or alert after
/// an invalid one, so a run reports all of them at once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Problems(pub Vec<Problem>);

impl From<Problem> for Problems {
    fn from(p: Problem) -> Problems {
        Problems(vec![p])
    }
}

impl Problems {
    /// Each problem moved down by `lines` (see [`Problem::below`]).
    pub fn below(self, lines: u64) -> Problems {
        Problems(self.0.into_iter().map(|p| p.below(lines)).collect())
    }
}

/// `f` applied to every item: all results, or every problem they had.
pub(crate) fn each<T, R>(
    items: impl IntoIterator<Item = T>,
    f: impl FnMut(T) -> Result<R, Problem>,
) -> Result<Vec<R>, Problems> {
    let mut ok = Vec::new();
    let mut problems = Vec::new();
    for r in items.into_iter().map(f) {
        match r {
            Ok(v) => ok.push(v),
            Err(p) => problems.push(p),
        }
    }
    if problems.is_empty() {
        Ok(ok)
    } else {
        Err(Problems(problems))
    }
}

/// Both results, or the problems of both.
pub(crate) fn both<A, B>(
    a: Result<A, Problems>,
    b: Result<B, Problems>,
) -> Result<(A, B), Problems> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(Problems(mut x)), Err(Problems(y))) => {
            x.extend(y);
            Err(Problems(x))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// A spec problem tied to its file, rendered as `file:line:column: message` followed by
/// the offending line and a caret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct SpecError {
    /// The spec file's path as given.
    pub file: String,
    /// Where in the file.
    pub pos: Pos,
    /// What is wrong and what was expected.
    pub message: String,
    /// The offending line with a caret under the column (empty without a position).
    pub snippet: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.pos.line, self.pos.column, self.message
        )?;
        if !self.snippet.is_empty() {
            write!(f, "\n{}", self.snippet)?;
        }
        Ok(())
    }
}

fn snippet(source: &str, pos: Pos) -> String {
    if pos.line == 0 {
        return String::new();
    }
    let Some(text) = yaml_lines(source).nth((pos.line - 1) as usize) else {
        return String::new();
    };
    let gutter = pos.line.to_string();
    let pad = " ".repeat(gutter.len());
    let caret = " ".repeat(pos.column.saturating_sub(1) as usize);
    format!("{gutter} | {text}\n{pad} | {caret}^")
}

/// The lines of a YAML text as YAML numbers them: `\r\n`, `\r` and `\n` each end one
/// (`str::lines` does not split at a lone `\r`, so a file with old Mac line ends got the
/// wrong line quoted; found by fuzzing). A text ending in a line break has an empty last
/// line, where errors about an unexpected end point.
pub(crate) fn yaml_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        let Some(i) = s.find(['\r', '\n']) else {
            rest = None;
            return Some(s);
        };
        let end = if s[i..].starts_with("\r\n") {
            i + 2
        } else {
            i + 1
        };
        rest = Some(&s[end..]);
        Some(&s[..i])
    })
}

/// Everything that can stop rulegen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec file could not be read; check the path and permissions.
    #[error("{path}: cannot read spec: {source}")]
    Read {
        /// The path as given.
        path: String,
        #[source]
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A directory given as input holds no spec file (after `--fs-exclude` and
    /// `--fs-include`).
    #[error("{dir}: no *.yml or *.yaml spec files in this directory (or its filters left none)")]
    NoSpecs {
        /// The directory as given.
        dir: String,
    },
    /// The spec is malformed or fails validation; the message points into the file.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// Two spec files define the same service; outputs are per service, so one would
    /// silently overwrite the other.
    #[error(
        "{second}: service `{service}` is already defined in {first}; merge the specs or rename one service"
    )]
    DuplicateService {
        /// The service defined twice.
        service: String,
        /// The file that defined it first.
        first: String,
        /// The file that defined it again.
        second: String,
    },
    /// A `--param` names a parameter no spec declares under `params`.
    #[error(
        "--param {name}: no spec declares a parameter `{name}` under `params` (declared: {declared})"
    )]
    UnknownParam {
        /// The parameter as given.
        name: String,
        /// The parameters the specs declare, comma-separated.
        declared: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_and_snippet() {
        let src = "version: lakewatch/v1\nobjective: 100\n";
        let e = Problem::new(
            Pos {
                line: 2,
                column: 12,
            },
            "objective must be in (0, 100), got 100",
        )
        .in_file("spec.yml", src);
        assert_eq!(
            e.to_string(),
            "spec.yml:2:12: objective must be in (0, 100), got 100\n2 | objective: 100\n  |            ^"
        );
    }

    #[test]
    fn snippets_count_lines_as_yaml_does() {
        assert_eq!(
            yaml_lines("a\r\nb\rc\nd\n").collect::<Vec<_>>(),
            ["a", "b", "c", "d", ""]
        );
        let e = Problem::new(Pos { line: 3, column: 1 }, "here").in_file("s.yml", "a\rb\rc: 1\r");
        assert_eq!(e.snippet, "3 | c: 1\n  | ^");
    }

    #[test]
    fn yaml_errors_keep_their_position_and_lose_the_suffix() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct D {
            a: u32,
        }
        let err = serde_saphyr::from_str::<D>("a: 1\nb: 2\n").unwrap_err();
        let p = Problem::from_yaml(&err);
        assert_eq!(p.pos, Pos { line: 2, column: 1 });
        assert!(p.message.starts_with("unknown field `b`"), "{}", p.message);
        assert!(!p.message.contains("at line"), "{}", p.message);
    }
}
