//! Passwords, keys and tokens: given inline (with `${ENV}` expansion) or as `<key>_file`,
//! and kept out of every log line, label and error message.

use serde_saphyr::Spanned;

use crate::config::error::{ConfigError, Validator};

/// A password, key or token. Its `Debug` output is redacted, it has no `Display`, and
/// the only way to the text is [`Secret::expose`], so it cannot end up in a log line or
/// an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret read from the config or a file.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret text, for the one place that sends it to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Expands `${NAME}` references to environment variables. `$$` is a literal `$`.
pub fn expand_env(text: &str) -> Result<String, String> {
    expand_vars(text, |name| std::env::var(name).ok())
}

fn expand_vars(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(after) = rest.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or_else(|| "unterminated ${ in value: expected ${NAME}".to_string())?;
            let name = &after[..end];
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err(format!(
                    "invalid environment variable name {name:?} in ${{...}}"
                ));
            }
            let value = lookup(name).ok_or_else(|| {
                format!("environment variable {name} is not set (referenced as ${{{name}}})")
            })?;
            out.push_str(&value);
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

impl Validator<'_> {
    /// Resolves a secret given inline (with `${ENV}` expansion) or as `<key>_file`
    /// (read now, trailing newline removed). Both at once is an error. No error message
    /// ever contains the secret's value.
    pub(crate) fn secret(
        &self,
        key: &str,
        inline: Option<Spanned<String>>,
        file: Option<Spanned<String>>,
    ) -> Result<Option<Secret>, ConfigError> {
        match (inline, file) {
            (Some(_), Some(f)) => {
                Err(self.error(&f, format!("give either {key} or {key}_file, not both")))
            }
            (Some(v), None) => expand_env(&v.value)
                .map(|s| Some(Secret(s)))
                .map_err(|why| self.error(&v, why)),
            (None, Some(f)) => {
                let path = expand_env(&f.value).map_err(|why| self.error(&f, why))?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| self.error(&f, format!("cannot read {key}_file {path}: {e}")))?;
                Ok(Some(Secret(
                    text.trim_end_matches(['\n', '\r']).to_string(),
                )))
            }
            (None, None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_expansion() {
        let env = |name: &str| (name == "PW").then(|| "s3cr$t".to_string());
        assert_eq!(expand_vars("a${PW}b", env).as_deref(), Ok("as3cr$tb"));
        assert_eq!(
            expand_vars("cost: $$5 and $x", env).as_deref(),
            Ok("cost: $5 and $x")
        );
        assert_eq!(
            expand_vars("${UNSET}", env).unwrap_err(),
            "environment variable UNSET is not set (referenced as ${UNSET})"
        );
        assert!(expand_vars("${OPEN", env).is_err());
        assert!(expand_vars("${1X}", env).is_err());
        assert!(expand_env("${PATH}").is_ok_and(|p| !p.is_empty()));
    }

    #[test]
    fn secrets_inline_file_and_both() {
        let v = Validator { name: "c.yml" };
        let span = |s: &str| -> Spanned<String> {
            serde_saphyr::from_str::<Spanned<String>>(s).expect("a scalar")
        };
        let dir = std::env::temp_dir().join(format!("lakewatch-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "hunter2\n").unwrap();
        let s = v
            .secret("password", None, Some(span(&file.display().to_string())))
            .unwrap();
        assert_eq!(s.as_ref().map(Secret::expose), Some("hunter2"));
        assert_eq!(format!("{s:?}"), "Some(Secret(<redacted>))");
        let s = v.secret("password", Some(span("plain")), None).unwrap();
        assert_eq!(s.unwrap().expose(), "plain");
        let e = v
            .secret("password", Some(span("plain")), Some(span("/x")))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "c.yml:1:1: give either password or password_file, not both"
        );
        let e = v
            .secret("password", None, Some(span("/nonexistent/pw")))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("c.yml:1:1: cannot read password_file /nonexistent/pw:"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
