//! A collector's `tls:` block (Prometheus' `tls_config` keys) for its client connections.

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::error::{ConfigError, Validator};
use crate::config::secret::expand_env;

/// Prometheus' `tls_config` keys, for a collector's client connections.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub(crate) ca_file: Option<Spanned<String>>,
    pub(crate) cert_file: Option<Spanned<String>>,
    pub(crate) key_file: Option<Spanned<String>>,
    pub(crate) server_name: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) insecure_skip_verify: bool,
}

impl Validator<'_> {
    /// Validates a `tls:` block: absolute paths (with `${ENV}` expansion), cert and key
    /// together, and the files loadable now, so a typo is reported at its line rather
    /// than as a failing target later.
    pub(crate) fn tls(&self, span: &Spanned<RawTls>) -> Result<crate::tls::ClientTls, ConfigError> {
        let raw = &span.value;
        let path = |s: &Spanned<String>| -> Result<std::path::PathBuf, ConfigError> {
            let p = expand_env(&s.value).map_err(|why| self.error(s, why))?;
            if !p.starts_with('/') {
                return Err(self.error(s, format!("path {p:?} must be absolute")));
            }
            Ok(p.into())
        };
        let cert = match (&raw.cert_file, &raw.key_file) {
            (None, None) => None,
            (Some(c), Some(k)) => Some((path(c)?, path(k)?)),
            (Some(c), None) => return Err(self.error(c, "cert_file needs key_file")),
            (None, Some(k)) => return Err(self.error(k, "key_file needs cert_file")),
        };
        let tls = crate::tls::ClientTls {
            ca_file: raw.ca_file.as_ref().map(path).transpose()?,
            cert,
            server_name: raw.server_name.as_ref().map(|s| s.value.clone()),
            insecure_skip_verify: raw.insecure_skip_verify,
            any_server_name: false,
        };
        if let Some(name) = &raw.server_name {
            tls.server_name("").map_err(|e| self.error(name, e))?;
        }
        // A file that cannot be read is reported at its own key.
        if let (Some(at), Some(ca)) = (&raw.ca_file, &tls.ca_file) {
            crate::tls::load_certs(ca).map_err(|e| self.error(at, e))?;
        }
        if let (Some(c), Some(k), Some((cert, key))) = (&raw.cert_file, &raw.key_file, &tls.cert) {
            crate::tls::load_certs(cert).map_err(|e| self.error(c, e))?;
            crate::tls::load_key(key).map_err(|e| self.error(k, e))?;
        }
        tls.client_config().map_err(|e| self.error(span, e))?;
        Ok(tls)
    }
}
