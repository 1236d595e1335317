//! Redirect URIs: whether an application registered the one a sign-in names.
//!
//! Entra ID compares redirect URIs exactly (a trailing slash aside), except loopback ones: for
//! `http://localhost`, `http://127.0.0.1` and `http://[::1]` the port is ignored, so a desktop
//! client's ephemeral listener (`http://localhost:53125`) matches a registered
//! `http://localhost` (`reply-url-configuration.md`, "localhost exceptions").

use crate::domain::world::Application;

/// The platform a matched redirect URI is registered under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectKind {
    /// Web or public client (mobile and desktop).
    Web,
    /// Single-page application: refresh tokens live 24 hours.
    Spa,
}

/// Which platform of `app` registered `uri`, if any.
pub fn registered(app: &Application, uri: &str) -> Option<RedirectKind> {
    let matches = |list: &[String]| list.iter().any(|r| same(r, uri));
    if matches(&app.sign_in.redirect_uris) {
        Some(RedirectKind::Web)
    } else if matches(&app.sign_in.spa_redirect_uris) {
        Some(RedirectKind::Spa)
    } else {
        None
    }
}

/// `scheme`, `host` (lower-cased), `port`, and the rest (path and query) of an absolute URI.
fn parts(uri: &str) -> Option<(String, String, Option<&str>, &str)> {
    let (scheme, rest) = uri.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') || tail.contains('#') {
        return None;
    }
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    let tail = if tail.is_empty() { "/" } else { tail };
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase(), port, tail))
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

fn same(registered: &str, given: &str) -> bool {
    let (Some(r), Some(g)) = (parts(registered), parts(given)) else {
        return false;
    };
    let trim = |t: &str| t.trim_end_matches('/').to_string();
    let same_tail = trim(r.3) == trim(g.3);
    if r.0 == "http" && is_loopback(&r.1) {
        return g.0 == "http" && g.1 == r.1 && same_tail;
    }
    r.0 == g.0 && r.1 == g.1 && r.2 == g.2 && same_tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ports_are_ignored_and_the_rest_is_exact() {
        assert!(same("http://localhost", "http://localhost:53125"));
        assert!(same("http://localhost", "http://localhost:8400/"));
        assert!(same("http://localhost/cb", "http://localhost:9999/cb"));
        assert!(!same("http://localhost/cb", "http://localhost:9999/other"));
        assert!(
            !same("http://localhost", "http://127.0.0.1:8400"),
            "the host must match"
        );
        assert!(!same("http://localhost", "https://localhost:8400"));
        assert!(same("https://app.example/signin", "https://app.example/signin/"));
        assert!(!same("https://app.example/signin", "https://app.example:8443/signin"));
        assert!(!same("https://app.example/signin", "https://evil.example/signin"));
        assert!(!same("http://localhost", "http://localhost:1@evil.example"));
        assert!(!same("http://localhost", "http://localhost:1/#frag"));
        assert!(same("http://[::1]", "http://[::1]:8080"));
    }
}
