//! Users and interactive sign-in: ROPC, refresh tokens, device code, authorization code with
//! PKCE and the sign-in page, groups in RBAC and in tokens, the control API of users and groups.

mod authorize;
mod device_code;
mod directory;
mod groups;
mod refresh;
mod ropc;

use std::collections::HashMap;

use serde_json::Value;

use super::helpers::*;

pub const CLI: &str = AZURE_CLI_CLIENT;
/// What azureml-core and az ask for.
pub const ARM_USER_SCOPE: &str = "https://management.core.windows.net//.default offline_access openid profile";
/// RFC 7636 appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A raw HTTP answer (HTML pages, redirects).
pub struct Raw {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: String,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Location` header's query (or fragment) parameters.
    pub fn location_params(&self) -> HashMap<String, String> {
        let location = self.header("location").expect("a Location header");
        let query = location.split_once(['?', '#']).map_or("", |(_, q)| q);
        serde_urlencoded::from_str(query).unwrap()
    }

    /// The value of a hidden input of an HTML page.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].replace("&amp;", "&"))
    }

    /// The session cookie set by the answer, as `name=value`.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("emulator_session=") && !c.contains("Max-Age=0"))
            .and_then(|c| c.split(';').next())
            .map(str::to_string)
    }
}

impl TestApp {
    /// An agent that does not follow redirects (to read `Location`).
    fn raw_agent(&self) -> ureq::Agent {
        let pem = std::fs::read(&self.running.info().ca_cert).unwrap();
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(certs)))
            .unversioned_rustls_crypto_provider(std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .build();
        ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into()
    }

    /// A GET (optionally with a cookie) answered as is.
    pub fn raw_get(&self, path: &str, cookie: Option<&str>) -> Raw {
        let mut req = self.raw_agent().get(format!("{}{path}", self.url));
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        raw(req.call())
    }

    /// A form POST (optionally with a cookie) answered as is.
    pub fn raw_post_form(&self, path: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Raw {
        let mut req = self.raw_agent().post(format!("{}{path}", self.url));
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        raw(req.send_form(form.to_vec()))
    }

    /// A JSON request with any method (control API PATCH/PUT/DELETE).
    pub fn send_json(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.arm(method, path, None, body)
    }

    /// ROPC on the v2 endpoint of `tenant` with the Azure CLI's public client.
    pub fn ropc(&self, tenant: &str, username: &str, password: &str) -> Reply {
        self.post_form(
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[
                ("grant_type", "password"),
                ("client_id", CLI),
                ("username", username),
                ("password", password),
                ("scope", ARM_USER_SCOPE),
                ("client_info", "1"),
            ],
        )
    }

    /// ROPC that must succeed: the whole token response.
    pub fn sign_in(&self, user: (&str, &str, &str)) -> Value {
        let r = self.ropc(TENANT, user.0, user.1);
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// A v2 refresh-token redemption by the Azure CLI's client.
    pub fn refresh(&self, refresh_token: &str, scope: &str) -> Reply {
        self.post_form(
            &format!("/{TENANT}/oauth2/v2.0/token"),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CLI),
                ("refresh_token", refresh_token),
                ("scope", scope),
            ],
        )
    }
}

fn raw(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Raw {
    let mut response = response.expect("request completes");
    Raw {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// The string field of a JSON body.
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}"))
}
