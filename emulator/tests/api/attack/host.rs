//! The request's Host, X-Forwarded-Host and Forwarded headers are client-controlled: the token
//! authority never takes them for a valid resource, and no URL the emulator hands out is built
//! from them (no reflection into `WWW-Authenticate`, `Operation-Location` or discovery documents).

use serde_json::json;

use super::send;
use crate::helpers::*;

const EVIL: &str = "evil.example\"><x";

/// Host-like headers an attacker sets, one set per attempt.
fn spoofs(host: &'static str) -> Vec<Vec<(&'static str, &'static str)>> {
    vec![
        vec![("Host", host)],
        vec![("X-Forwarded-Host", host), ("X-Forwarded-Proto", "https")],
    ]
}

#[test]
fn the_token_endpoint_never_takes_the_requests_host_for_a_resource() {
    let app = TestApp::spawn();
    let mut failures = Vec::new();
    let mut headers = spoofs("attacker.example");
    headers.push(vec![("Forwarded", "host=attacker.example;proto=https")]);
    for spoof in headers {
        for (endpoint, field, value) in [
            ("oauth2/token", "resource", "https://attacker.example"),
            ("oauth2/v2.0/token", "scope", "https://attacker.example/.default"),
        ] {
            let mut request = app
                .agent
                .post(format!("{}/{TENANT}/{endpoint}", app.url))
                .header("Content-Type", "application/x-www-form-urlencoded");
            for (name, v) in &spoof {
                request = request.header(*name, *v);
            }
            let reply = read_reply(request.send_form([
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT),
                ("client_secret", SECRET),
                (field, value),
            ]));
            let refused = reply.status == 400
                && reply.body["error"] == "invalid_resource"
                && reply.body["error_codes"] == json!([500011]);
            if !refused {
                let body: String = reply.body.to_string().chars().take(120).collect();
                failures.push(format!(
                    "{endpoint} {field}={value} with {spoof:?}: {} {body}",
                    reply.status
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "expected AADSTS500011 for:\n{}",
        failures.join("\n")
    );
}

/// Whether `reply` mentions the spoofed host anywhere (headers or body).
fn reflects(reply: &Reply) -> Option<String> {
    let body = reply.body.to_string();
    if let Some(at) = body.find("evil.example") {
        let around: String = body.chars().skip(at.saturating_sub(60)).take(120).collect();
        return Some(format!("body …{around}…"));
    }
    reply
        .headers
        .iter()
        .find(|(_, v)| v.to_str().unwrap_or_default().contains("evil.example"))
        .map(|(k, v)| format!("header {k}: {v:?}"))
}

#[test]
fn the_host_header_is_never_reflected() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let bearer = format!("Bearer {t}");
    let url = app.url.clone();
    let mms = format!("/modelmanagement/v1.0{}/services", ws_path(WS));
    // (what, method, path, authorization, the URL the normal answer must carry)
    type Check = Box<dyn Fn(&Reply) -> Option<String>>;
    let field = |pointer: &'static str, want: String| -> Check {
        Box::new(move |r: &Reply| {
            let got = r.body.pointer(pointer).and_then(|v| v.as_str()).unwrap_or_default();
            (!got.starts_with(&want)).then(|| format!("{pointer} = '{got}', want '{want}…'"))
        })
    };
    let header = |name: &'static str, want: String| -> Check {
        Box::new(move |r: &Reply| {
            let got = r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
            (!got.contains(&want)).then(|| format!("{name}: '{got}', want it to contain '{want}'"))
        })
    };
    let probes: Vec<(&str, &str, String, String, u16, Check)> = vec![
        (
            "ARM 401 challenge",
            "GET",
            v(&ws_path(WS), "2024-04-01"),
            "Bearer x.y.z".into(),
            401,
            header("www-authenticate", format!("authorization_uri=\"{url}/{TENANT}\"")),
        ),
        (
            "model-management Operation-Location",
            "POST",
            format!("{mms}/aci-service-1/regenerateKeys"),
            bearer.clone(),
            202,
            header("operation-location", format!("{url}/modelmanagement/v1.0/")),
        ),
        (
            "model-management scoringUri",
            "GET",
            format!("{mms}/aci-service-1"),
            bearer.clone(),
            200,
            field("/scoringUri", format!("{url}/aci/")),
        ),
        (
            "OIDC v2 token_endpoint",
            "GET",
            format!("/{TENANT}/v2.0/.well-known/openid-configuration"),
            String::new(),
            200,
            field("/token_endpoint", format!("{url}/")),
        ),
        (
            "OIDC v1 jwks_uri",
            "GET",
            format!("/{TENANT}/.well-known/openid-configuration"),
            String::new(),
            200,
            field("/jwks_uri", format!("{url}/")),
        ),
        (
            "instance discovery",
            "GET",
            format!("/common/discovery/instance?api-version=1.1&authorization_endpoint={url}/{TENANT}/oauth2/v2.0/authorize"),
            String::new(),
            200,
            Box::new(|_: &Reply| None),
        ),
        (
            "workspace discovery",
            "GET",
            "/discovery".into(),
            String::new(),
            200,
            field("/modelmanagement", url.clone()),
        ),
        (
            "cloud metadata",
            "GET",
            "/metadata/endpoints?api-version=2022-09-01".into(),
            String::new(),
            200,
            field("/resourceManager", url.clone()),
        ),
        (
            "ARM workspace discoveryUrl",
            "GET",
            v(&ws_path(WS), "2024-04-01"),
            bearer.clone(),
            200,
            field("/properties/discoveryUrl", url.clone()),
        ),
    ];
    let mut failures = Vec::new();
    for spoof in spoofs(EVIL) {
        for (what, method, path, authorization, normal, check) in &probes {
            let reply = if *method == "POST" {
                let mut request = app
                    .agent
                    .post(format!("{url}{path}"))
                    .header("Authorization", authorization)
                    .header("Content-Type", "application/json");
                for (name, v) in &spoof {
                    request = request.header(*name, *v);
                }
                read_reply(request.send(json!({"keyType": "Secondary", "keyValue": "s-host"}).to_string()))
            } else {
                send(&app, method, path, authorization, &spoof)
            };
            let problem = match reflects(&reply) {
                Some(r) => Some(format!("reflected in {r}")),
                None if reply.status == *normal => check(&reply),
                // Refusing a Host that is not the emulator's is fine, as long as nothing leaks.
                None if [400, 421].contains(&reply.status) => None,
                None => Some(format!("unexpected status {} {}", reply.status, reply.body)),
            };
            if let Some(p) = problem {
                failures.push(format!("{what} with {spoof:?}: {p}"));
            }
        }
    }
    assert!(failures.is_empty(), "spoofed hosts leaked:\n{}", failures.join("\n"));
}
