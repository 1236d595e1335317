//! Start, restart and side-by-side emulators.

use crate::helpers::*;

#[test]
fn restart_keeps_the_signing_key_ca_and_world() {
    let dir = tempfile::tempdir().unwrap();
    let (kid, ca) = {
        let app = TestApp::in_dir(dir.path());
        let kid = app.get("/common/discovery/keys").body["keys"][0]["kid"].clone();
        let token = app.token_v1(CLIENT, SECRET, ARM).body["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(segment(&token, 0)["kid"], kid);
        (kid, std::fs::read_to_string(dir.path().join("ca.pem")).unwrap())
    };
    assert!(dir.path().join("emulator.sqlite3").exists());
    let app = TestApp::in_dir(dir.path());
    assert_eq!(
        app.get("/common/discovery/keys").body["keys"][0]["kid"],
        kid,
        "same signing key after restart"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ca.pem")).unwrap(),
        ca,
        "same CA after restart"
    );
    assert_eq!(
        app.token_v1(CLIENT, SECRET, ARM).status,
        200,
        "secrets persisted (hashed) survive"
    );
    let db = std::fs::read(dir.path().join("emulator.sqlite3")).unwrap();
    let needle = SECRET.as_bytes();
    assert!(
        !db.windows(needle.len()).any(|w| w == needle),
        "no plaintext secret in the database"
    );
}

#[test]
fn two_emulators_run_side_by_side_with_their_own_keys_and_clocks() {
    let a = TestApp::spawn();
    let b = TestApp::spawn();
    assert_ne!(a.url, b.url);
    let ka = a.get("/common/discovery/keys").body["keys"][0]["kid"].clone();
    let kb = b.get("/common/discovery/keys").body["keys"][0]["kid"].clone();
    assert_ne!(ka, kb);
    a.running.clock().advance(time::Duration::days(1)).unwrap();
    assert_eq!(b.get("/_emulator/clock").body["offset_seconds"], 0);
    assert!(a.get("/_emulator/clock").body["offset_seconds"].as_i64().unwrap() >= 86_399);
    a.running.stop();
    assert_eq!(
        b.token_v2(CLIENT, SECRET, "https://management.azure.com/.default")
            .status,
        200
    );
}

#[test]
fn tls_material_and_bundle_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::in_dir(dir.path());
    let info = app.running.info();
    let bundle = std::fs::read_to_string(&info.ca_bundle).unwrap();
    let ca = std::fs::read_to_string(&info.ca_cert).unwrap();
    assert!(bundle.ends_with(&ca), "the emulator CA closes the bundle");
    assert!(bundle.matches("BEGIN CERTIFICATE").count() >= 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("ca-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private keys are owner-only");
    }
}

#[test]
fn a_bad_world_file_fails_to_start_with_a_clear_error() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("w.toml");
    std::fs::write(&path, "[[tenants]]\nid = \"11111111-2222-4333-8444-555555555555\"\ndisplay_name = \"T\"\n[[workspaces]]\nsubscription = \"11111111-2222-4333-8444-555555555555\"\nresource_group = \"rg\"\nname = \"w\"\nlocation = \"x\"\n").unwrap();
    let err = azureml_emulator::Emulator::start(azureml_emulator::Config {
        fixtures: Some(path),
        ..Default::default()
    })
    .err()
    .expect("start fails");
    assert!(err.to_string().contains("unknown resource group"), "{err}");
}
