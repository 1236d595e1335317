//! `seed`: a data dir written from fixtures without serving, which `serve` then starts on as a
//! restart; and `serve` seeding a big world through it, in a child process.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::helpers::agent_trusting;

const BIN: &str = env!("CARGO_BIN_EXE_azureml-emulator");
const SUB: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";

/// The default world plus `users` users holding `assignments` Reader roles between them.
fn fixtures(dir: &Path, users: usize, assignments: usize) -> PathBuf {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/default.toml");
    let mut text = std::fs::read_to_string(default).unwrap();
    for u in 0..users {
        text.push_str(&format!(
            "\n[[users]]\nobject_id = \"cccccccc-0000-4000-8000-{u:012}\"\nupn = \"seeded{u}@contoso.onmicrosoft.com\"\ndisplay_name = \"s\"\npassword = \"p\"\n"
        ));
    }
    for i in 0..assignments {
        text.push_str(&format!(
            "\n[[role_assignments]]\nprincipal = \"cccccccc-0000-4000-8000-{:012}\"\nrole = \"Reader\"\nscope = \"/subscriptions/{SUB}/resourceGroups/rg{}/providers/Microsoft.Storage/storageAccounts/sa{i}\"\n",
            i % users,
            i % 97
        ));
    }
    let path = dir.join("world.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn seed(data: &Path, fixtures: &Path) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(["seed", "--data-dir", data.to_str().unwrap(), "--fixtures"])
        .arg(fixtures)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

/// A running `serve`, stopped when dropped (also when an assertion fails first).
struct Serving(Child);

impl Serving {
    /// Stops the emulator and returns what it logged.
    fn stop(mut self) -> String {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let mut log = String::new();
        if let Some(mut stderr) = self.0.stderr.take() {
            stderr.read_to_string(&mut log).unwrap();
        }
        log
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `serve` on `data` with `fixtures`, until it is ready; the ready file's contents.
fn serve(data: &Path, fixtures: &Path) -> (Serving, Value) {
    let ready_path = data.join("ready.json");
    // A killed emulator leaves its ready file.
    let _ = std::fs::remove_file(&ready_path);
    let mut serving = Serving(
        crate::cli::serve_command(data)
            .arg("--fixtures")
            .arg(fixtures)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let ready = crate::cli::wait_for(&ready_path, &mut serving.0);
    (serving, ready)
}

/// The users the fixtures added (`seeded…`).
fn seeded_users(ready: &Value) -> Vec<Value> {
    let agent = agent_trusting(Path::new(ready["ca_cert"].as_str().unwrap()));
    let url = ready["url"].as_str().unwrap();
    let world: Value = agent
        .get(format!("{url}/_emulator/world"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let users = world["users"].as_array().unwrap();
    users
        .iter()
        .filter(|u| u["upn"].as_str().is_some_and(|upn| upn.starts_with("seeded")))
        .cloned()
        .collect()
}

#[test]
fn seed_writes_a_data_dir_that_serve_starts_on_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (data, world) = (dir.path().join("data"), fixtures(dir.path(), 3, 6));
    let (ok, out, err) = seed(&data, &world);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("seeded {}", data.display()));
    for file in ["emulator.sqlite3", "ca.pem"] {
        assert!(data.join(file).exists(), "{file} missing");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("emulator.sqlite3"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A seeded data dir is not seeded again.
    let (ok, _, err) = seed(&data, &world);
    assert!(!ok);
    assert!(err.contains("holds a world already"), "{err}");
    let (child, ready) = serve(&data, &world);
    assert_eq!(seeded_users(&ready).len(), 3);
    let log = child.stop();
    assert!(!log.contains("fixtures differ"), "{log}");
    assert!(!log.contains("child process"), "a small world seeds in-process: {log}");
    // Fixtures that do not parse leave no data dir behind.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[users]]\nupn = 3\n").unwrap();
    let (ok, _, err) = seed(&dir.path().join("other"), &bad);
    assert!(!ok && err.contains("upn"), "{err}");
    assert!(!dir.path().join("other").join("emulator.sqlite3").exists());
}

#[test]
fn serve_seeds_a_big_world_in_a_child_process() {
    let dir = tempfile::tempdir().unwrap();
    // Over 4 MiB of fixtures.
    let (data, world) = (dir.path().join("data"), fixtures(dir.path(), 2_200, 22_000));
    assert!(std::fs::metadata(&world).unwrap().len() >= 4 << 20);
    let (child, ready) = serve(&data, &world);
    assert_eq!(seeded_users(&ready).len(), 2_200);
    let log = child.stop();
    assert!(log.contains("seeded by a child process"), "{log}");
    // The restart that followed read what the child wrote: the same fixtures, unchanged.
    assert!(!log.contains("fixtures differ"), "{log}");
    let (child, ready) = serve(&data, &world);
    assert_eq!(seeded_users(&ready).len(), 2_200);
    assert!(
        !child.stop().contains("child process"),
        "a seeded data dir is not seeded again"
    );
}

#[test]
fn a_big_world_the_child_cannot_seed_is_refused_by_serve_in_the_usual_way() {
    let dir = tempfile::tempdir().unwrap();
    let (data, world) = (dir.path().join("data"), fixtures(dir.path(), 2_200, 22_000));
    // Valid TOML, but a role assignment naming nobody: the check after parsing refuses it.
    let mut text = std::fs::read_to_string(&world).unwrap();
    text.push_str(
        "\n[[role_assignments]]\nprincipal = \"nobody@contoso.onmicrosoft.com\"\nrole = \"Reader\"\nscope = \"/\"\n",
    );
    std::fs::write(&world, text).unwrap();
    let out = crate::cli::serve_command(&data)
        .arg("--fixtures")
        .arg(&world)
        .output()
        .unwrap();
    let log = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success());
    assert!(log.contains("seeding in a child process failed"), "{log}");
    assert!(
        log.contains("nobody@contoso.onmicrosoft.com"),
        "the start names the fixture error: {log}"
    );
    assert!(!data.join("emulator.sqlite3").exists(), "nothing written");
}
