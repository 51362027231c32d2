//! `http(s)://host[:port][/prefix]` URLs of HTTP targets, with their `tls:` block.

use serde_saphyr::Spanned;

use crate::config::error::{ConfigError, Validator};
use crate::config::tls::RawTls;

impl Validator<'_> {
    /// Validates `http(s)://host[:port][/prefix]`; `tls` (https only) says how the
    /// server is verified, by default against the system's trust roots.
    pub(crate) fn http_url(
        &self,
        raw: &Spanned<String>,
        tls: Option<&Spanned<RawTls>>,
    ) -> Result<crate::http_client::Endpoint, ConfigError> {
        self.endpoint(raw, raw.value.trim(), tls)
    }

    /// [`Validator::http_url`] of `text`, with errors located at `span`.
    pub(crate) fn endpoint<T>(
        &self,
        span: &Spanned<T>,
        text: &str,
        tls: Option<&Spanned<RawTls>>,
    ) -> Result<crate::http_client::Endpoint, ConfigError> {
        let uri: hyper::Uri = text.parse().map_err(|e| {
            self.error(
                span,
                format!("invalid URL {text:?} ({e}): expected http(s)://host:port"),
            )
        })?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(self.error(
                    span,
                    format!("invalid URL {text:?}: expected http(s)://host:port"),
                ));
            }
        };
        let Some(authority) = uri.authority() else {
            return Err(self.error(span, format!("URL {text:?} has no host")));
        };
        if authority.as_str().contains('@') {
            return Err(self.error(
                span,
                "put credentials in user/password, not in the URL (the URL shows up in logs)",
            ));
        }
        if uri.query().is_some() {
            return Err(self.error(span, format!("URL {text:?} must not have a query string")));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let tls = match (https, tls) {
            (false, None) => None,
            (false, Some(t)) => {
                return Err(self.error(
                    t,
                    format!("tls is only used with https:// URLs, and {text:?} is http://"),
                ));
            }
            (true, t) => {
                let client = match t {
                    Some(t) => self.tls(t)?,
                    None => crate::tls::ClientTls::default(),
                };
                let connector = crate::tls::Connector::new(&client, host).map_err(|e| match t {
                    Some(t) => self.error(t, e),
                    None => self.error(span, e),
                })?;
                Some(connector)
            }
        };
        Ok(crate::http_client::Endpoint {
            host: host.to_string(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            base_path: uri.path().trim_end_matches('/').to_string(),
            tls,
        })
    }
}
