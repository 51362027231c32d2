//! `<thing>_include` / `<thing>_exclude` regex pairs, as node_exporter's collectors take
//! them.

use regex::Regex;
use serde_saphyr::Spanned;

use crate::config::error::{ConfigError, Validator};

/// Include/exclude regexes, both anchored as written by the user.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only values matching this are kept (`None`: all).
    pub include: Option<Regex>,
    /// Values matching this are dropped, even when included.
    pub exclude: Option<Regex>,
}

impl Filter {
    /// True when `value` matches the include regex (if any) and not the exclude regex.
    pub fn allows(&self, value: &str) -> bool {
        self.include.as_ref().is_none_or(|r| r.is_match(value))
            && !self.exclude.as_ref().is_some_and(|r| r.is_match(value))
    }
}

/// Equal when written the same (a reload compares settings; `Regex` has no `==`).
impl PartialEq for Filter {
    fn eq(&self, other: &Filter) -> bool {
        let text = |r: &Option<Regex>| r.as_ref().map(|r| r.as_str().to_string());
        text(&self.include) == text(&other.include) && text(&self.exclude) == text(&other.exclude)
    }
}

impl Validator<'_> {
    /// An optional regex; empty text means none, absent means `default`.
    pub(crate) fn regex(
        &self,
        raw: Option<Spanned<String>>,
        default: Option<&str>,
    ) -> Result<Option<Regex>, ConfigError> {
        match raw {
            Some(s) if s.value.is_empty() => Ok(None),
            Some(s) => Regex::new(&s.value)
                .map(Some)
                .map_err(|e| self.error(&s, format!("invalid regular expression: {e}"))),
            None => Ok(default.map(|d| Regex::new(d).expect("built-in default regexes are valid"))),
        }
    }

    /// An include/exclude pair with a built-in default exclusion.
    pub(crate) fn filter(
        &self,
        include: Option<Spanned<String>>,
        exclude: Option<Spanned<String>>,
        default_exclude: &str,
    ) -> Result<Filter, ConfigError> {
        Ok(Filter {
            include: self.regex(include, None)?,
            exclude: self.regex(exclude, Some(default_exclude))?,
        })
    }
}
