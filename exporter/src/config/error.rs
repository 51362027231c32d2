//! Config errors and where they point. Every error names `file:line:column` of the
//! offending value (serde-saphyr's spans, carried through validation) and what was
//! expected; the top-level document and every collector's settings report this way.

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_saphyr::Spanned;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read config file: {source}")]
    /// The file could not be read.
    Read {
        /// The path as given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// YAML syntax or shape error; the text already carries `file:line:column` and a
    /// snippet of the offending line.
    #[error("{0}")]
    Syntax(String),
    #[error("{path}:{line}:{column}: {message}")]
    /// A value is well-formed YAML but not allowed.
    Invalid {
        /// The file.
        path: String,
        /// Line, from 1.
        line: u64,
        /// Column, from 1.
        column: u64,
        /// What is wrong and what was expected.
        message: String,
    },
}

impl ConfigError {
    /// The error on one line, `file:line:column: message`, without the quoted snippet:
    /// for log lines and HTTP answers, where a snippet spreads over several lines and
    /// may quote a neighbouring line's secret.
    pub fn headline(&self) -> String {
        let ConfigError::Syntax(text) = self else {
            return self.to_string();
        };
        let first = text.lines().next().unwrap_or_default();
        let Some(at) = text
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("--> "))
        else {
            return first.to_string();
        };
        // serde-saphyr's first line: `error: line 7 column 9: unknown field ...`.
        let message = first.strip_prefix("error: ").unwrap_or(first);
        let message = message
            .strip_prefix("line ")
            .and_then(|m| m.split_once(": "))
            .filter(|(position, _)| position.contains(" column "))
            .map_or(message, |(_, rest)| rest);
        format!("{}: {message}", at.trim())
    }

    /// A YAML error of file `name`. serde-saphyr names the file in the header of the
    /// snippet it quotes, but some errors come without a snippet, and then without the
    /// file (found by fuzzing: an invalid duration after a broken line); those get
    /// `file:line:column: ` in front.
    pub(crate) fn syntax(e: &serde_saphyr::Error, name: &str) -> ConfigError {
        let rendered = e.render_with_options(serde_saphyr::render_options! {
            source_name: Some(name),
        });
        let Some(l) = e.location() else {
            return ConfigError::Syntax(format!("{name}: {rendered}"));
        };
        let at = format!("{name}:{}:{}", l.line(), l.column());
        if rendered.contains(&at) {
            return ConfigError::Syntax(rendered);
        }
        let suffix = format!(" at line {}, column {}", l.line(), l.column());
        let message = rendered.strip_suffix(&suffix).unwrap_or(&rendered);
        ConfigError::Syntax(format!("{at}: {message}"))
    }
}

/// Validation of one file: errors are located in `name`.
pub(crate) struct Validator<'a> {
    pub(crate) name: &'a str,
}

impl Validator<'_> {
    /// An error located at `span`.
    pub(crate) fn error<T>(&self, span: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.name.to_string(),
            line: span.referenced.line(),
            column: span.referenced.column(),
            message: message.into(),
        }
    }
}

/// A YAML mapping in file order, each key with its location (for errors about a key,
/// such as an invalid label name).
pub(crate) struct Entries<V>(pub(crate) Vec<(Spanned<String>, V)>);

impl<V: std::fmt::Debug> std::fmt::Debug for Entries<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> de::Visitor<'de> for Visit<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    out.push((k, map.next_value()?));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}
