//! The origins this emulator answers as, from configuration only: the one URL builder.
//!
//! Every URL the emulator mints (token endpoints, `jwks_uri`, `scoringUri`, `Operation-Location`,
//! the `authorization_uri` of a challenge, cloud metadata…) and every audience it accepts as "this
//! emulator" comes from here. The request's `Host` (or `X-Forwarded-Host`, `Forwarded`) is
//! client-controlled: it is used only to pick which configured origin to answer with, and a Host
//! that is none of them gets the primary origin — never an echo of the header.

use std::sync::Arc;

use actix_web::http::header::HOST;
use actix_web::HttpRequest;

/// The configured origins, `scheme://host[:port]` without a trailing slash. The first is primary.
#[derive(Clone, Debug)]
pub struct Origins {
    all: Arc<[String]>,
}

impl Origins {
    /// The listening URL first, then the other names clients may use for it: `localhost` and the
    /// loopback addresses the generated certificate covers, and any `extra` origins (`--origin`).
    pub fn new(primary: &str, port: u16, extra: &[String]) -> Self {
        let mut all = vec![normalise(primary)];
        for alias in [
            format!("https://127.0.0.1:{port}"),
            format!("https://localhost:{port}"),
            format!("https://[::1]:{port}"),
        ]
        .into_iter()
        .chain(extra.iter().map(|e| normalise(e)))
        {
            if !all.iter().any(|o| o.eq_ignore_ascii_case(&alias)) {
                all.push(alias);
            }
        }
        Origins { all: all.into() }
    }

    /// The primary origin (the listening URL as announced).
    pub fn primary(&self) -> &str {
        &self.all[0]
    }

    pub fn all(&self) -> &[String] {
        &self.all
    }

    /// The configured origin the request was addressed to, judged by its `Host` header alone and
    /// only when it names a configured origin; otherwise the primary one.
    /// `X-Forwarded-Host` and `Forwarded` are never consulted.
    pub fn for_request(&self, req: &HttpRequest) -> &str {
        let host = req
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        host.and_then(|h| self.find_host(h)).unwrap_or_else(|| self.primary())
    }

    fn find_host(&self, host: &str) -> Option<&str> {
        self.all
            .iter()
            .find(|o| o.strip_prefix("https://").is_some_and(|h| h.eq_ignore_ascii_case(host)))
            .map(String::as_str)
    }

    /// Whether `url` (an audience or resource, trailing slash ignored) is one of these origins.
    pub fn is_own(&self, url: &str) -> bool {
        let bare = url.trim_end_matches('/');
        self.all.iter().any(|o| o.eq_ignore_ascii_case(bare))
    }
}

fn normalise(origin: &str) -> String {
    origin.trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn only_configured_hosts_are_answered_with() {
        let o = Origins::new("https://127.0.0.1:8443", 8443, &["https://ml.example.test".into()]);
        let at = |host: &str| {
            let req = TestRequest::default().insert_header(("host", host)).to_http_request();
            o.for_request(&req).to_string()
        };
        assert_eq!(at("localhost:8443"), "https://localhost:8443");
        assert_eq!(at("LOCALHOST:8443"), "https://localhost:8443");
        assert_eq!(at("ml.example.test"), "https://ml.example.test");
        assert_eq!(at("evil.example\"><x"), "https://127.0.0.1:8443");
        assert_eq!(at("ml.azure.com"), "https://127.0.0.1:8443");
        let forwarded = TestRequest::default()
            .insert_header(("host", "127.0.0.1:8443"))
            .insert_header(("x-forwarded-host", "localhost:8443"))
            .to_http_request();
        assert_eq!(o.for_request(&forwarded), "https://127.0.0.1:8443");
        assert!(o.is_own("https://localhost:8443/"));
        assert!(!o.is_own("https://attacker.example"));
        assert!(!o.is_own("https://127.0.0.1:8444"));
    }
}
