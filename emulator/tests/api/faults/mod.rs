//! Faults: each kind fires in its surface's exact shape, for exactly its count, inside its window,
//! with its seeded probability, and lands in the journal with its rule id.

mod aad;
mod resources;
mod when;

use serde_json::{json, Value};

use crate::helpers::*;

impl TestApp {
    /// Adds a fault rule; answers its id.
    pub fn fault(&self, rule: Value) -> String {
        let r = self.post_json("/_emulator/faults", rule.clone());
        assert_eq!(r.status, 201, "fault {rule}: {}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    /// The journal entries of one kind (`fault`, `token`, `authorization`, ...).
    pub fn journal_of(&self, kind: &str) -> Vec<Value> {
        self.get(&format!("/_emulator/journal?kind={kind}")).body["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// The default service principal's client-credentials form on the v2 endpoint.
pub fn client_credentials() -> Vec<(&'static str, &'static str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
        ("scope", "https://management.azure.com/.default"),
    ]
}

pub fn token_path() -> String {
    format!("/{TENANT}/oauth2/v2.0/token")
}

#[test]
fn rules_are_listed_removed_and_cleared_and_bad_ones_refused() {
    let app = TestApp::spawn();
    let id = app.fault(json!({"surface": "arm", "kind": "throttle", "when": {"count": 3}}));
    assert_eq!(id, "f1");
    let listed = app.get("/_emulator/faults").body;
    assert_eq!(listed["faults"][0]["id"], "f1");
    assert_eq!(listed["faults"][0]["remaining"], 3);
    assert_eq!(listed["faults"][0]["fired"], 0);
    let named = app.fault(json!({"id": "mine", "surface": "scoring", "kind": "unauthorized"}));
    assert_eq!(named, "mine");
    let dup = app.post_json(
        "/_emulator/faults",
        json!({"id": "mine", "surface": "arm", "kind": "throttle"}),
    );
    assert_eq!(dup.status, 409, "{}", dup.body);
    for bad in [
        json!({"surface": "scoring", "kind": "mfa-required"}),
        json!({"surface": "arm", "kind": "latency"}),
        json!({"surface": "arm", "kind": "throttle", "when": {"probability": 2}}),
        json!({"surface": "arm", "kind": "throttle", "when": {"count": 0}}),
        json!({"surface": "arm", "kind": "nope"}),
        json!({"surface": "arm", "kind": "throttle", "extra": 1}),
    ] {
        let r = app.post_json("/_emulator/faults", bad.clone());
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "InvalidRequest");
    }
    let r = read_reply(app.agent.delete(format!("{}/_emulator/faults/mine", app.url)).call());
    assert_eq!(r.status, 200);
    let r = read_reply(app.agent.delete(format!("{}/_emulator/faults/mine", app.url)).call());
    assert_eq!(r.status, 404);
    let r = read_reply(app.agent.delete(format!("{}/_emulator/faults", app.url)).call());
    assert_eq!(r.body["removed"], 1);
    assert_eq!(app.get("/_emulator/faults").body["faults"], json!([]));
    // Reset brings back the fixtures' rules (none here) and drops run-time ones.
    app.fault(json!({"surface": "arm", "kind": "throttle"}));
    assert_eq!(app.post_json("/_emulator/reset", json!({})).status, 200);
    assert_eq!(app.get("/_emulator/faults").body["faults"], json!([]));
}
