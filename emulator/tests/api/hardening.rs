//! Start-time safety: owner-only data dirs and files (also for older data dirs), an empty admin key
//! refused, and IPv4 loopback clients of a dual-stack `::` listener treated as loopback.

use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

use azureml_emulator::{Config, Emulator, StartError, Storage};

use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_azureml-emulator");

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every entry of the data dir, with its mode.
#[cfg(unix)]
fn modes(dir: &Path) -> Vec<(String, u32)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), mode(&e.path()))
        })
        .collect();
    entries.sort();
    entries
}

#[cfg(unix)]
#[test]
fn the_data_dir_is_0700_and_every_file_in_it_0600_also_when_an_older_version_left_it_open() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    {
        let app = TestApp::in_dir(&dir);
        // A write, so the WAL has content.
        assert_eq!(app.post_json("/_emulator/reset", serde_json::json!({})).status, 200);
        assert_eq!(mode(&dir), 0o700);
        let files = modes(&dir);
        for name in [
            "emulator.sqlite3",
            "emulator.sqlite3-wal",
            "emulator.sqlite3-shm",
            "ca-key.pem",
            "ca.pem",
        ] {
            assert!(files.iter().any(|(n, _)| n == name), "{name} missing: {files:?}");
        }
        assert!(files.iter().all(|(_, m)| *m == 0o600), "{files:?}");
    }
    // What older versions left: 0755 and 0644.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, _) in modes(&dir) {
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let app = TestApp::in_dir(&dir);
    assert_eq!(mode(&dir), 0o700);
    let files = modes(&dir);
    assert!(files.iter().all(|(_, m)| *m == 0o600), "{files:?}");
    assert_eq!(
        app.token_v1(CLIENT, SECRET, ARM).status,
        200,
        "the tightened files still work"
    );
}

#[cfg(unix)]
#[test]
fn ready_files_carry_the_secret_and_are_owner_only() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let ready = temp.path().join("elsewhere").join("ready.json");
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(&data)
        .arg("--ready-file")
        .arg(&ready)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ready.exists() {
        assert!(std::time::Instant::now() < deadline, "no ready file");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (a, b) = (mode(&ready), mode(&data.join("ready.json")));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!((a, b), (0o600, 0o600));
}

#[test]
fn an_empty_admin_key_is_refused_at_start() {
    for key in ["", "   "] {
        let err = Emulator::start(Config {
            admin_key: Some(key.into()),
            ..Config::default()
        })
        .err()
        .expect("start refused");
        assert!(matches!(err, StartError::EmptyAdminKey), "{err}");
        assert!(err.to_string().contains("admin key is empty"), "{err}");
    }
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = Command::new(BIN);
        cmd.args(args).env_remove("AZUREML_EMULATOR_ADMIN_KEY");
        if let Some(v) = env {
            cmd.env("AZUREML_EMULATOR_ADMIN_KEY", v);
        }
        let out = cmd.output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let serve = ["serve", "--in-memory", "--port", "0", "--host", "0.0.0.0"];
    let (ok, err) = run(&[&serve[..], &["--admin-key", ""]].concat(), None);
    assert!(!ok && err.contains("admin key is empty"), "{err}");
    // An unset CI variable expands to an empty one.
    let (ok, err) = run(&serve, Some(""));
    assert!(!ok && err.contains("admin key is empty"), "{err}");
}

#[test]
fn on_a_dual_stack_listener_ipv4_loopback_clients_may_use_the_control_api() {
    let app = TestApp::with_config(Config {
        host: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        workers: 1,
        ..Config::default()
    });
    assert!(app.url.starts_with("https://127.0.0.1:"), "{}", app.url);
    // The peer is ::ffff:127.0.0.1 here.
    let reply = app.get("/_emulator/health");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(app.get("/_emulator/info").body["url"], app.url.as_str());
    // And over IPv6 loopback too.
    let v6 = format!("https://[::1]:{}/_emulator/health", app.running.port);
    assert_eq!(read_reply(app.agent.get(v6).call()).status, 200);
}

#[test]
fn a_data_dir_that_is_a_file_fails_with_a_clear_message() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = Emulator::start(Config {
        storage: Storage::Dir(file.clone()),
        ..Config::default()
    })
    .err()
    .expect("start refused");
    let message = err.to_string();
    assert!(message.contains("exists and is not a directory"), "{message}");
    assert!(message.contains(file.to_str().unwrap()), "{message}");
    let out = Command::new(BIN)
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("exists and is not a directory"), "{stderr}");
    assert!(!stderr.contains("os error"), "{stderr}");
}
