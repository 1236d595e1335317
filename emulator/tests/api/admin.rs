//! The control API: health, clock, reset, world, info.

use serde_json::json;

use crate::helpers::*;

#[test]
fn health_and_info() {
    let app = TestApp::spawn();
    assert_eq!(app.get("/_emulator/health").body["status"], "Healthy");
    let info = app.get("/_emulator/info").body;
    assert_eq!(info["url"], app.url.as_str());
    assert_eq!(info["service_principal"]["clientId"], CLIENT);
    assert_eq!(info["env"]["AZURE_AUTHORITY_HOST"], format!("{}/adfs", app.url));
}

#[test]
fn clock_moves_are_reflected_in_issued_tokens() {
    let app = TestApp::spawn();
    let scope = "https://management.azure.com/.default";
    let first = claims(
        app.token_v2(CLIENT, SECRET, scope).body["access_token"]
            .as_str()
            .unwrap(),
    );

    let frozen = app.post_json("/_emulator/clock", json!({"freeze": true})).body;
    assert_eq!(frozen["frozen"], true);
    let a = claims(
        app.token_v2(CLIENT, SECRET, scope).body["access_token"]
            .as_str()
            .unwrap(),
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = claims(
        app.token_v2(CLIENT, SECRET, scope).body["access_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(a["iat"], b["iat"], "a frozen clock stamps identical times");

    let moved = app.post_json("/_emulator/clock", json!({"advance_seconds": 7200})).body;
    assert_eq!(moved["frozen"], true);
    let c = claims(
        app.token_v2(CLIENT, SECRET, scope).body["access_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(c["iat"].as_i64().unwrap() - a["iat"].as_i64().unwrap(), 7200);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 3599 + 300);

    let set = app
        .post_json("/_emulator/clock", json!({"set": "2030-01-01T00:00:00Z"}))
        .body;
    assert_eq!(set["now"], "2030-01-01T00:00:00Z");
    let d = claims(
        app.token_v2(CLIENT, SECRET, scope).body["access_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(d["iat"].as_i64().unwrap(), 1_893_456_000 - 300);

    let resumed = app.post_json("/_emulator/clock", json!({"resume": true})).body;
    assert_eq!(resumed["frozen"], false);
    assert_eq!(resumed["offset_seconds"], 0);
    let e = claims(
        app.token_v2(CLIENT, SECRET, scope).body["access_token"]
            .as_str()
            .unwrap(),
    );
    assert!((e["iat"].as_i64().unwrap() - first["iat"].as_i64().unwrap()).abs() < 60);
    assert_eq!(app.get("/_emulator/clock").body["frozen"], false);
}

#[test]
fn bad_clock_requests_are_400_in_the_api_shape() {
    let app = TestApp::spawn();
    for body in [
        json!({}),
        json!({"freeze": true, "resume": true}),
        json!({"set": "yesterday"}),
        json!({"advance_seconds": "1h"}),
        json!({"warp": 1}),
    ] {
        let r = app.post_json("/_emulator/clock", body.clone());
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "InvalidRequest", "{body}");
        assert!(r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(app.get("/_emulator/clock").body["offset_seconds"], 0, "nothing moved");
}

#[test]
fn reset_restores_the_loaded_world_and_world_hides_secrets() {
    let app = TestApp::spawn();
    let world = app.get("/_emulator/world").body;
    assert_eq!(world["applications"][0]["display_name"], "ml-auth");
    let text = world.to_string();
    assert!(
        !text.contains(SECRET),
        "plaintext secrets never leave the emulator through /world"
    );
    assert!(!text.contains("Owner-Passw0rd!"));
    assert_eq!(world["applications"][0]["secrets"][0]["hint"], "ml-");
    let r = app.post_json("/_emulator/reset", json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.token_v2(CLIENT, SECRET, "https://management.azure.com/.default")
            .status,
        200
    );
}

#[test]
fn non_loopback_clients_need_the_admin_key() {
    use azureml_emulator::Config;
    use std::net::{IpAddr, UdpSocket};
    // An address of this machine that is not loopback (no packet is sent); skip where there is none.
    let Some(ip) = UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
        .and_then(|s| s.local_addr())
        .ok()
        .map(|a| a.ip())
        .filter(|ip: &IpAddr| !ip.is_loopback() && !ip.is_unspecified())
    else {
        eprintln!("no non-loopback address; skipping");
        return;
    };
    // Serve a user certificate (--cert/--key) that names this address.
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.subject_alt_names.push(rcgen::SanType::IpAddress(ip));
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let app = TestApp::with_config(Config {
        host: ip,
        workers: 1,
        admin_key: Some("k3y".into()),
        tls: Some((cert_path.clone(), key_path)),
        ..Config::default()
    });
    assert_eq!(
        app.running.info().ca_cert,
        cert_path,
        "the user's certificate is what clients trust"
    );
    let health = format!("https://{ip}:{}/_emulator/health", app.running.port);
    let mut denied = app.agent.get(&health).call().unwrap();
    assert_eq!(denied.status(), 403);
    let body: serde_json::Value = denied.body_mut().read_json().unwrap();
    assert_eq!(body["error"]["code"], "AdminAccessDenied");
    let wrong = app
        .agent
        .get(&health)
        .header("x-emulator-admin-key", "nope")
        .call()
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let allowed = app
        .agent
        .get(&health)
        .header("x-emulator-admin-key", "k3y")
        .call()
        .unwrap();
    assert_eq!(allowed.status(), 200);
    // The AAD surface itself is open to every client.
    let oidc = format!(
        "https://{ip}:{}/{TENANT}/v2.0/.well-known/openid-configuration",
        app.running.port
    );
    assert_eq!(app.agent.get(&oidc).call().unwrap().status(), 200);
}

#[test]
fn web_pages_of_other_origins_cannot_drive_the_control_api() {
    let app = TestApp::spawn();
    let clock = format!("{}/_emulator/clock", app.url);
    // What a page of another site sends with `fetch(…, {method: "POST", mode: "no-cors"})`.
    let foreign = read_reply(
        app.agent
            .post(&clock)
            .header("origin", "https://attacker.example")
            .header("content-type", "text/plain")
            .send(r#"{"advance_seconds": 86400}"#),
    );
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    assert_eq!(foreign.body["error"]["code"], "AdminCrossOriginDenied");
    assert_eq!(app.get("/_emulator/clock").body["offset_seconds"], 0, "nothing moved");
    // Reads too, and the opaque origin of a sandboxed frame or a file:// page.
    for origin in ["https://attacker.example", "null", "http://127.0.0.1:1"] {
        let r = read_reply(
            app.agent
                .get(&format!("{}/_emulator/world", app.url))
                .header("origin", origin)
                .call(),
        );
        assert_eq!(r.status, 403, "{origin}: {}", r.body);
    }
    // The dashboard's own writes carry the emulator's origin and pass; so do clients sending none.
    let own = read_reply(
        app.agent
            .post(&clock)
            .header("origin", app.url.trim_end_matches('/'))
            .send_json(json!({"advance_seconds": 10})),
    );
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(
        app.post_json("/_emulator/clock", json!({"advance_seconds": -10}))
            .status,
        200
    );
}
