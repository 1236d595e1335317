//! A newcomer's first hour with the real binary: absolute paths from a relative data dir, a banner
//! hint that works as printed, `eval "$(… env)"` failing when `env` fails, stale ready files, flags
//! over the environment, one server per data dir, edited fixtures noticed, and logs without colour
//! codes or per-client noise.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use azureml_emulator::{Config, Storage};
use serde_json::Value;

use crate::helpers::*;
use crate::raw;

const BIN: &str = env!("CARGO_BIN_EXE_azureml-emulator");

/// A `serve` process; killed when dropped.
struct Serve {
    child: Child,
    ready: Value,
    banner: Vec<String>,
}

impl Serve {
    /// Starts `serve --port 0 ARGS` in `cwd` and waits for `ready` (relative to `cwd`).
    fn start(cwd: &Path, args: &[&str], ready: &str, envs: &[(&str, &str)]) -> Serve {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(cwd)
            .args(["serve", "--port", "0", "--ready-file", ready])
            .args(args)
            .env_remove("AZUREML_EMULATOR_URL")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut banner = Vec::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            let last = line.contains("point SDKs at it:");
            banner.push(line);
            if last {
                break;
            }
        }
        let path = cwd.join(ready);
        let deadline = Instant::now() + Duration::from_secs(30);
        let ready = loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                break serde_json::from_str(&text).unwrap();
            }
            assert!(child.try_wait().unwrap().is_none(), "serve exited: {banner:?}");
            assert!(Instant::now() < deadline, "no ready file");
            std::thread::sleep(Duration::from_millis(50));
        };
        Serve { child, ready, banner }
    }

    fn url(&self) -> &str {
        self.ready["url"].as_str().unwrap()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then everything it wrote to stderr.
    fn stop(mut self) -> String {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut err).unwrap();
        let _ = self.child.wait();
        err
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd).args(args).env_remove("AZUREML_EMULATOR_URL");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_absolute_file(value: &Value, what: &str) {
    let path = Path::new(value.as_str().unwrap_or_else(|| panic!("{what}: {value}")));
    assert!(path.is_absolute(), "{what} is relative: {}", path.display());
    assert!(path.exists(), "{what} does not exist: {}", path.display());
}

#[test]
fn every_path_is_absolute_with_a_relative_data_dir_and_the_banner_hint_works_as_printed() {
    let work = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let s = Serve::start(work.path(), &["--data-dir", "rel"], "ready.json", &[]);
    for key in ["data_dir", "ca_cert", "ca_bundle"] {
        assert_absolute_file(&s.ready[key], key);
    }
    for key in [
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "NODE_EXTRA_CA_CERTS",
    ] {
        assert_absolute_file(&s.ready["env"][key], key);
    }
    let bundle = s.banner.iter().find(|l| l.contains("CA bundle:")).unwrap();
    assert!(
        bundle.contains(&format!(" {}", s.ready["ca_bundle"].as_str().unwrap())),
        "{bundle}"
    );

    // The hint, run as printed from another directory with a PATH that does not know the binary.
    let hint = s
        .banner
        .last()
        .unwrap()
        .split("point SDKs at it:")
        .nth(1)
        .unwrap()
        .trim();
    assert!(
        hint.contains(&format!("--data-dir {}", s.ready["data_dir"].as_str().unwrap())),
        "{hint}"
    );
    let out = Command::new("sh")
        .current_dir(elsewhere.path())
        .args([
            "-c",
            &format!("{hint} && printf '%s\\n%s\\n' \"$AZUREML_EMULATOR_URL\" \"$SSL_CERT_FILE\""),
        ])
        .env("PATH", "/usr/bin:/bin")
        .env_remove("AZUREML_EMULATOR_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{hint}: {}", text(&out.stderr));
    let printed = text(&out.stdout);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.first().copied(), Some(s.url()), "{printed}");
    assert_eq!(lines.get(1).copied(), s.ready["ca_bundle"].as_str(), "{printed}");

    // `env` with the relative data dir, from where it is relative: absolute paths still.
    let out = cli(work.path(), &["env", "--data-dir", "rel", "--format", "json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let env: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_absolute_file(&env["SSL_CERT_FILE"], "env SSL_CERT_FILE");
}

#[test]
fn a_failed_env_makes_eval_fail_and_says_why_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let eval = |script: &str| {
        Command::new("sh")
            .args(["-c", script, BIN, d])
            .env_remove("AZUREML_EMULATOR_URL")
            .output()
            .unwrap()
    };
    let out = eval(r#"eval "$("$0" env --data-dir "$1")"; echo "eval status $?""#);
    assert_eq!(text(&out.stdout).trim(), "eval status 1");
    assert!(
        text(&out.stderr).contains("no running emulator found"),
        "{}",
        text(&out.stderr)
    );
    let out = eval(r#"set -e; eval "$("$0" env --data-dir "$1")"; echo survived"#);
    assert!(!out.status.success());
    assert!(!text(&out.stdout).contains("survived"));

    let out = cli(dir.path(), &["env", "--data-dir", d, "--format", "powershell"], &[]);
    assert!(!out.status.success());
    assert!(text(&out.stdout).starts_with("throw "), "{}", text(&out.stdout));
    let out = cli(dir.path(), &["env", "--data-dir", d, "--format", "json"], &[]);
    assert!(!out.status.success() && out.stdout.is_empty());
}

#[test]
fn a_stale_ready_file_of_a_killed_server_is_reported() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let d = data.to_str().unwrap();
    let mut s = Serve::start(work.path(), &["--data-dir", d], "ready.json", &[]);
    let pid = s.pid();
    s.child.kill().unwrap(); // SIGKILL: no clean-up
    s.child.wait().unwrap();
    assert!(data.join("ready.json").exists(), "left behind");

    let out = cli(work.path(), &["env", "--data-dir", d], &[]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("that is gone") && err.contains(&format!("no process has pid {pid}")),
        "{err}"
    );
    let out = cli(work.path(), &["clock", "show", "--data-dir", d], &[]);
    assert!(text(&out.stderr).contains("that is gone"), "{}", text(&out.stderr));

    // A pid that exists (this test) but no server behind the URL.
    let path = data.join("ready.json");
    let mut ready: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    ready["pid"] = std::process::id().into();
    std::fs::write(&path, ready.to_string()).unwrap();
    let err = text(&cli(work.path(), &["env", "--data-dir", d], &[]).stderr);
    assert!(err.contains(&format!("pid {} exists but", std::process::id())), "{err}");

    // kill -9 also released the data dir's lock.
    let again = Serve::start(work.path(), &["--data-dir", d], "ready2.json", &[]);
    assert_ne!(again.ready["pid"], pid);
}

#[test]
fn an_explicit_flag_beats_an_exported_url() {
    let work = tempfile::tempdir().unwrap();
    let a = Serve::start(work.path(), &["--data-dir", "a"], "a.json", &[]);
    let b = Serve::start(work.path(), &["--data-dir", "b"], "b.json", &[]);
    let exported = [
        ("AZUREML_EMULATOR_URL", a.url()),
        ("SSL_CERT_FILE", a.ready["ca_bundle"].as_str().unwrap()),
    ];
    let url_of = |args: &[&str]| {
        let out = cli(work.path(), &[&["env", "--format", "json"], args].concat(), &exported);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["AZUREML_EMULATOR_URL"].clone()
    };
    assert_eq!(
        url_of(&["--data-dir", "b"]),
        b.url(),
        "--data-dir wins over the environment"
    );
    assert_eq!(url_of(&[]), a.url(), "the environment wins over the default data dir");
    let ca_a = a.ready["ca_cert"].as_str().unwrap();
    assert_eq!(
        url_of(&["--url", a.url(), "--ca-cert", ca_a, "--data-dir", "b"]),
        a.url(),
        "--url wins"
    );
}

#[test]
fn a_second_server_on_the_same_data_dir_is_refused_and_leaves_the_first_alone() {
    let work = tempfile::tempdir().unwrap();
    let first = Serve::start(work.path(), &["--data-dir", "d"], "d/ready.json", &[]);
    let ready_path = work.path().join("d/ready.json");
    let before = std::fs::read(&ready_path).unwrap();
    let out = cli(
        work.path(),
        &["serve", "--port", "0", "--data-dir", "d", "--ready-file", "second.json"],
        &[],
    );
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("in use by another emulator"), "{err}");
    assert!(
        err.contains(&format!("pid {}", first.pid())) && err.contains(first.url()),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&ready_path).unwrap(),
        before,
        "the first one's ready file untouched"
    );
    assert!(!work.path().join("second.json").exists());
    let agent = agent_trusting(Path::new(first.ready["ca_cert"].as_str().unwrap()));
    let health = agent.get(format!("{}/_emulator/health", first.url())).call().unwrap();
    assert_eq!(health.status(), 200);
}

/// The default world plus one application, `added` (secret "s").
fn edited_world() -> String {
    format!(
        "{}\n[[applications]]\ndisplay_name = \"added\"\nclient_id = \"aaaaaaaa-0000-4000-8000-0000000000a1\"\nobject_id = \"bbbbbbbb-0000-4000-8000-0000000000a1\"\n[[applications.secrets]]\nvalue = \"s\"\n",
        azureml_emulator::fixtures::DEFAULT_WORLD
    )
}

#[test]
fn edited_fixtures_on_an_existing_data_dir_are_noticed_and_reset_reseeds() {
    let temp = tempfile::tempdir().unwrap();
    let (dir, world) = (temp.path().join("data"), temp.path().join("world.toml"));
    std::fs::write(&world, azureml_emulator::fixtures::DEFAULT_WORLD).unwrap();
    let start = || {
        TestApp::with_config(Config {
            workers: 1,
            storage: Storage::Dir(dir.clone()),
            fixtures: Some(world.clone()),
            ..Config::default()
        })
    };
    assert!(!start().running.fixtures_changed(), "first start seeds");
    assert!(!start().running.fixtures_changed(), "same fixtures");
    std::fs::write(&world, edited_world()).unwrap();
    {
        let app = start();
        assert!(app.running.fixtures_changed());
        let added = "aaaaaaaa-0000-4000-8000-0000000000a1";
        assert_eq!(app.token_v1(added, "s", ARM).status, 400, "the stored world is in use");
        assert_eq!(app.post_json("/_emulator/reset", serde_json::json!({})).status, 200);
        assert_eq!(
            app.token_v1(added, "s", ARM).status,
            200,
            "reset re-seeds from the file"
        );
    }
    assert!(!start().running.fixtures_changed(), "re-seeded");
}

#[test]
fn the_banner_and_log_say_when_the_fixtures_changed() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("w.toml"), azureml_emulator::fixtures::DEFAULT_WORLD).unwrap();
    let args = ["--data-dir", "d", "--fixtures", "w.toml"];
    let first = Serve::start(work.path(), &args, "r1.json", &[]);
    assert!(
        !first.banner.iter().any(|l| l.contains("fixtures:")),
        "{:?}",
        first.banner
    );
    first.stop();
    std::fs::write(work.path().join("w.toml"), edited_world()).unwrap();
    let second = Serve::start(work.path(), &args, "r2.json", &[]);
    let line = second.banner.iter().find(|l| l.contains("fixtures:")).cloned();
    let log = second.stop();
    let line = line.unwrap_or_default();
    assert!(
        line.contains("CHANGED") && line.contains("POST /_emulator/reset"),
        "{line}"
    );
    assert!(
        log.contains("the fixtures differ from those that seeded this data dir"),
        "{log}"
    );
}

#[test]
fn logs_carry_no_colour_codes_and_no_line_per_client_fault() {
    let work = tempfile::tempdir().unwrap();
    let probe = |s: &Serve| {
        let port = s.ready["port"].as_u64().unwrap() as u16;
        let config = raw::trusting(&PathBuf::from(s.ready["ca_cert"].as_str().unwrap()));
        raw::hello_with_ip_sni(port, &config);
        let mut tls = raw::connect(port, &config, Duration::from_secs(10));
        raw::send(&mut tls, b"GARBAGE\r\n\r\n");
        assert_eq!(raw::read_until_closed(&mut tls).status, 400);
    };
    let quiet = Serve::start(work.path(), &["--in-memory"], "q.json", &[]);
    probe(&quiet);
    let log = quiet.stop();
    assert!(log.contains("listening"), "{log}");
    assert!(!log.contains('\u{1b}'), "colour codes: {log:?}");
    assert!(!log.contains("SNI") && !log.contains("stream error"), "{log}");

    // The same probes do produce those lines when asked for: the quiet log is the filter's doing.
    let loud = Serve::start(
        work.path(),
        &["--in-memory"],
        "l.json",
        &[("RUST_LOG", "warn,rustls=warn,actix_http=debug")],
    );
    probe(&loud);
    let log = loud.stop();
    assert!(log.contains("SNI") && log.contains("stream error"), "{log}");
}
