//! When rules fire: counts (also under concurrency), windows on the emulator clock, seeded
//! probabilities that repeat from run to run.

use serde_json::json;

use super::{client_credentials, token_path};
use crate::helpers::*;

#[test]
fn a_window_on_the_emulator_clock() {
    let app = TestApp::spawn();
    app.fault(json!({"surface": "aad", "kind": "unavailable", "when": {"after_seconds": 600, "for_seconds": 600}}));
    let rule = &app.get("/_emulator/faults").body["faults"][0];
    assert!(
        rule["when"]["from"].is_string() && rule["when"]["until"].is_string(),
        "{rule}"
    );
    assert_eq!(
        app.post_form(&token_path(), &client_credentials()).status,
        200,
        "before"
    );
    app.post_json("/_emulator/clock", json!({"advance_seconds": 601}));
    assert_eq!(
        app.post_form(&token_path(), &client_credentials()).status,
        503,
        "inside"
    );
    assert_eq!(
        app.post_form(&token_path(), &client_credentials()).status,
        503,
        "still inside"
    );
    app.post_json("/_emulator/clock", json!({"advance_seconds": 600}));
    assert_eq!(app.post_form(&token_path(), &client_credentials()).status, 200, "after");
}

/// The outcomes of `n` token requests under a rule of probability `p` and `seed`.
fn outcomes(p: f64, seed: u64, n: usize) -> Vec<bool> {
    let app = TestApp::spawn();
    app.fault(json!({"surface": "aad", "kind": "unavailable", "when": {"probability": p, "seed": seed}}));
    (0..n)
        .map(|_| app.post_form(&token_path(), &client_credentials()).status == 503)
        .collect()
}

#[test]
fn a_seeded_probability_repeats() {
    let a = outcomes(0.5, 42, 24);
    let b = outcomes(0.5, 42, 24);
    assert_eq!(a, b, "the same seed, the same requests hit");
    let hits = a.iter().filter(|h| **h).count();
    assert!((4..=20).contains(&hits), "about half of 24: {hits}");
    assert_ne!(a, outcomes(0.5, 43, 24), "another seed, another run");
    assert!(outcomes(0.0, 1, 5).iter().all(|h| !h));
    assert!(outcomes(1.0, 1, 5).iter().all(|h| *h));
}

#[test]
fn a_count_holds_under_concurrent_requests() {
    let app = TestApp::with_workers(4);
    app.fault(json!({"surface": "aad", "kind": "server-error", "when": {"count": 5}}));
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| s.spawn(|| app.post_form(&token_path(), &client_credentials()).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 500).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 11);
    assert_eq!(app.journal_of("fault").len(), 5);
}

#[test]
fn fixtures_declare_rules_and_reset_brings_them_back() {
    let mut spec = crate::world::WorldBuilder::default_world().build();
    spec.faults =
        vec![
            serde_json::from_value(json!({"id": "boot", "surface": "aad", "kind": "throttle", "when": {"count": 1}}))
                .unwrap(),
        ];
    let app = TestApp::with_spec(spec);
    assert_eq!(app.post_form(&token_path(), &client_credentials()).status, 429);
    assert_eq!(app.post_form(&token_path(), &client_credentials()).status, 200);
    app.post_json("/_emulator/reset", json!({}));
    let rules = app.get("/_emulator/faults").body;
    assert_eq!(
        (
            rules["faults"][0]["id"].as_str(),
            rules["faults"][0]["remaining"].as_u64()
        ),
        (Some("boot"), Some(1))
    );
    assert_eq!(app.post_form(&token_path(), &client_credentials()).status, 429);
}
