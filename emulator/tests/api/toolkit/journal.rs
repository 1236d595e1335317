//! The journal's reasons for an allow and for each kind of denial, its filters, size, clearing,
//! its server-sent events, and propagation delay in words.

use std::io::{BufRead, BufReader};

use serde_json::{json, Value};

use crate::helpers::*;
use crate::services::mms;

fn last(app: &TestApp, query: &str) -> Value {
    let e = app.get(&format!("/_emulator/journal?{query}")).body["entries"].clone();
    e.as_array().and_then(|a| a.last().cloned()).unwrap_or(Value::Null)
}

fn reason(app: &TestApp, query: &str) -> String {
    last(app, query)["reason"].as_str().unwrap_or_default().to_string()
}

#[test]
fn reasons_in_words_for_allow_and_every_kind_of_deny() {
    let app = TestApp::with_spec(crate::helpers::world_with_workspace_reader());
    let t = app.arm_token(CLIENT, SECRET);
    // Tokens issued and refused.
    let issued = last(&app, "kind=token");
    assert_eq!(
        (issued["decision"].as_str(), issued["credential"].as_str()),
        (Some("allow"), Some("app-secret"))
    );
    assert_eq!(
        (
            issued["principal_kind"].as_str(),
            issued["principal_display_name"].as_str()
        ),
        (Some("service-principal"), Some("ml-auth"))
    );
    assert!(issued["reason"]
        .as_str()
        .unwrap()
        .contains("issued an access token for https://management.azure.com/"));
    assert!(issued["token_id"].as_str().is_some_and(|u| u.len() < 40));
    app.token_v1(CLIENT, "wrong", ARM);
    assert!(reason(&app, "kind=token&decision=deny").starts_with("refused: AADSTS7000215 invalid_client"));
    app.token_v1(EXPIRED_CLIENT, EXPIRED_SECRET, ARM);
    assert!(reason(&app, "kind=token&decision=deny").contains("AADSTS7000222"));
    // Allowed by an assignment.
    app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&t), None);
    let allow = reason(&app, "surface=arm&decision=allow");
    assert!(
        allow.contains("allowed by role assignment") && allow.contains("Contributor at /subscriptions/"),
        "{allow}"
    );
    // A role that does not grant the action (Reader listing keys).
    let reader = app.arm_token(WS_READER_CLIENT, "s");
    app.arm(
        "POST",
        &mms(&format!("/services/{ACI_SERVICE}/listkeys")),
        Some(&reader),
        None,
    );
    let deny = reason(&app, "surface=model-management&decision=deny");
    assert!(
        deny.contains("Reader at /subscriptions/") && deny.contains("does not grant it"),
        "{deny}"
    );
    assert!(deny.contains("services/aci/listkeys/action"), "{deny}");
    // Roles only below the scope.
    app.arm("GET", &v(&rg_path(), "2024-11-01"), Some(&t), None);
    assert!(reason(&app, "surface=arm&decision=deny").contains("only below"));
    // No role at all.
    let lonely = app
        .post_json("/_emulator/service-principals", json!({"displayName": "lonely"}))
        .body;
    let lt = app.arm_token(lonely["appId"].as_str().unwrap(), lonely["password"].as_str().unwrap());
    app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&lt), None);
    assert!(reason(&app, "surface=arm&decision=deny").contains("has no role assignment"));
    // Expired on the clock, quoting both times.
    app.post_json("/_emulator/clock", json!({"advance_seconds": 7200}));
    app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&t), None);
    let expired = reason(&app, "surface=arm&decision=deny");
    assert!(
        expired.starts_with("the token expired at ") && expired.contains(", emulator clock "),
        "{expired}"
    );
    // A wrong scoring key.
    app.score(&format!("/aci/{ACI_SERVICE}/score"), Some("wrong"), "{}");
    assert_eq!(reason(&app, "surface=scoring&decision=deny"), "the key is not valid");
    // Filters by principal (display name, object id), size and clearing.
    let by_name = app.get("/_emulator/journal?principal=ml-auth").body["entries"]
        .as_array()
        .unwrap()
        .len();
    let by_oid = app.get(&format!("/_emulator/journal?principal={SP_OBJECT}")).body["entries"]
        .as_array()
        .unwrap()
        .len();
    assert!(by_name >= 4 && by_name == by_oid, "{by_name} {by_oid}");
    assert_eq!(
        app.get("/_emulator/journal?limit=2").body["entries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(app.get("/_emulator/journal?decision=maybe").status, 400);
    let body = app.get("/_emulator/journal").body.to_string();
    assert!(
        !body.contains(&t) && !body.contains(SECRET) && !body.contains(ACI_PRIMARY),
        "no secret or token"
    );
    assert_eq!(
        read_reply(app.agent.delete(format!("{}/_emulator/journal", app.url)).call()).status,
        200
    );
    assert_eq!(app.get("/_emulator/journal").body["entries"], json!([]));
}

#[test]
fn propagation_delay_holds_a_new_assignment_back_on_the_clock() {
    let app = TestApp::with_spec(crate::helpers::world_with_workspace_reader());
    app.post_json("/_emulator/clock", json!({"freeze": true}));
    assert_eq!(
        app.post_json("/_emulator/settings", json!({"propagation_seconds": 120}))
            .body["propagation_seconds"],
        120
    );
    let t = app.arm_token(WS_READER_CLIENT, "s");
    let created = app.post_json(
        "/_emulator/role-assignments",
        json!({"assignee": "ws-reader", "role": "Contributor", "scope": ws_path(WS)}),
    );
    assert_eq!(created.status, 201, "answers at once: {}", created.body);
    let patch = || {
        app.arm(
            "PATCH",
            &v(&ws_path(WS), "2024-04-01"),
            Some(&t),
            Some(json!({"tags": {"a": "b"}})),
        )
        .status
    };
    assert_eq!(patch(), 403, "not effective yet");
    let why = reason(&app, "surface=arm&decision=deny");
    assert!(
        why.contains("of Contributor at") && why.contains("not effective until"),
        "{why}"
    );
    app.post_json("/_emulator/clock", json!({"advance_seconds": 121}));
    assert_eq!(patch(), 200, "effective after the delay");
    // A deletion keeps counting for as long.
    let deleted = read_reply(
        app.agent
            .delete(format!(
                "{}/_emulator/role-assignments?assignee=ws-reader&role=Contributor",
                app.url
            ))
            .call(),
    );
    assert_eq!(deleted.status, 200);
    assert_eq!(patch(), 200, "still effective");
    app.post_json("/_emulator/clock", json!({"advance_seconds": 121}));
    assert_eq!(patch(), 403);
}

#[test]
fn the_journal_streams_as_server_sent_events_and_can_be_off() {
    let app = TestApp::spawn();
    let url = format!("{}/_emulator/journal/stream?surface=arm&decision=deny", app.url);
    let agent = app.agent.clone();
    let reader = std::thread::spawn(move || {
        let response = agent.get(&url).call().unwrap();
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut lines = BufReader::new(response.into_body().into_reader()).lines();
        loop {
            let line = lines.next().unwrap().unwrap();
            if let Some(data) = line.strip_prefix("data: ") {
                return serde_json::from_str::<Value>(data).unwrap();
            }
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let t = app.arm_token(CLIENT, SECRET);
    app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&t), None);
    app.arm("GET", &v(&rg_path(), "2024-11-01"), Some(&t), None);
    let event = reader.join().unwrap();
    assert_eq!(
        (event["surface"].as_str(), event["decision"].as_str()),
        (Some("arm"), Some("deny")),
        "{event}"
    );
    let off = TestApp::with_config(azureml_emulator::Config {
        workers: 1,
        journal: false,
        ..Default::default()
    });
    off.arm_token(CLIENT, SECRET);
    let j = off.get("/_emulator/journal").body;
    assert_eq!((j["enabled"].as_bool(), j["entries"].clone()), (Some(false), json!([])));
}
