//! Explain / what-if agrees with the gate: over generated worlds (service principals holding
//! random built-in roles at random scopes), for random (principal, operation) pairs,
//! `POST /_emulator/explain` says allowed exactly when the real request passes its RBAC check.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::services::mms;
use crate::world::WorldBuilder;

const ROLES: [&str; 5] = [
    "Reader",
    "Contributor",
    "Owner",
    "AzureML Data Scientist",
    "AzureML Compute Operator",
];

fn scopes() -> [String; 4] {
    [
        format!("/subscriptions/{SUB}"),
        rg_path(),
        ws_path(WS),
        format!("{}/onlineEndpoints/{KEY_ENDPOINT}", ws_path(WS)),
    ]
}

/// (method, path, body, action, scope) of real requests whose single RBAC check is at `scope`.
fn operations() -> Vec<(&'static str, String, Option<Value>, &'static str, String)> {
    let ws = ws_path(WS);
    let ep = format!("{ws}/onlineEndpoints/{KEY_ENDPOINT}");
    vec![
        (
            "GET",
            v(&ws, "2024-04-01"),
            None,
            "Microsoft.MachineLearningServices/workspaces/read",
            ws.clone(),
        ),
        (
            "PATCH",
            v(&ws, "2024-04-01"),
            Some(json!({"tags": {}})),
            "Microsoft.MachineLearningServices/workspaces/write",
            ws.clone(),
        ),
        (
            "POST",
            v(&format!("{ws}/listKeys"), "2024-04-01"),
            None,
            "Microsoft.MachineLearningServices/workspaces/listKeys/action",
            ws.clone(),
        ),
        (
            "GET",
            v(&rg_path(), "2024-11-01"),
            None,
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            rg_path(),
        ),
        (
            "GET",
            v(&ep, "2024-10-01"),
            None,
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read",
            ep.clone(),
        ),
        (
            "POST",
            v(&format!("{ep}/listKeys"), "2024-10-01"),
            None,
            "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/listKeys/action",
            ep.clone(),
        ),
        (
            "POST",
            mms(&format!("/services/{ACI_SERVICE}/listkeys")),
            None,
            "Microsoft.MachineLearningServices/workspaces/services/aci/listkeys/action",
            format!("{ws}/services/{ACI_SERVICE}"),
        ),
    ]
}

fn check(grants: &[Vec<(usize, usize)>], asks: &[(usize, usize)]) -> Result<(), TestCaseError> {
    let mut w = WorldBuilder::default_world();
    let principals: Vec<_> = (0..grants.len())
        .map(|i| w.service_principal(&format!("p{i}")))
        .collect();
    for (p, held) in principals.iter().zip(grants) {
        let mut seen = std::collections::HashSet::new();
        for &(role, scope) in held.iter().filter(|g| seen.insert(**g)) {
            w.assign(&p.name, ROLES[role], &scopes()[scope]);
        }
    }
    let app = TestApp::with_spec(w.build());
    let tokens: Vec<String> = principals
        .iter()
        .map(|p| app.arm_token(&p.client_id, &p.secret))
        .collect();
    let ops = operations();
    for &(p, op) in asks {
        let (method, path, body, action, scope) = &ops[op];
        let explained = app.post_json(
            "/_emulator/explain",
            json!({"principal": principals[p].name, "action": action, "scope": scope}),
        );
        prop_assert_eq!(explained.status, 200, "{}", explained.body);
        let status = app.arm(method, path, Some(&tokens[p]), body.clone()).status;
        prop_assert_ne!(status, 401);
        let allowed = explained.body["allowed"].as_bool().unwrap();
        prop_assert_eq!(
            allowed,
            status != 403,
            "p{} {} {}: explain {} but the gate answered {}: {}",
            p,
            method,
            path,
            allowed,
            status,
            explained.body
        );
        if allowed {
            prop_assert!(explained.body["matched"]["assignment"].is_string());
        }
    }
    Ok(())
}

#[test]
fn explain_agrees_with_the_gate_on_generated_worlds() {
    let mut runner = TestRunner::new(Config {
        cases: 6,
        failure_persistence: None,
        ..Config::default()
    });
    let grants = prop::collection::vec(prop::collection::vec((0..ROLES.len(), 0..4usize), 0..3), 4);
    let asks = prop::collection::vec((0..4usize, 0..operations().len()), 14);
    runner.run(&(grants, asks), |(g, a)| check(&g, &a)).unwrap();
}

#[test]
fn explain_names_the_roles_actions_and_not_actions() {
    let app = TestApp::with_spec(world_with_workspace_reader());
    let r = app.post_json(
        "/_emulator/explain",
        json!({"principal": "ws-reader", "action": "Microsoft.MachineLearningServices/workspaces/listKeys/action", "scope": ws_path(WS)}),
    );
    assert_eq!(
        (r.status, r.body["allowed"].as_bool()),
        (200, Some(false)),
        "{}",
        r.body
    );
    let held = &r.body["assignments"][0];
    assert_eq!(
        (
            held["role"].as_str(),
            held["applies_at_scope"].as_bool(),
            held["grants_action"].as_bool()
        ),
        (Some("Reader"), Some(true), Some(false))
    );
    assert_eq!(held["actions"], json!(["*/read"]));
    assert!(r.body["reason"].as_str().unwrap().contains("Reader at"));
    let ds = app.post_json(
        "/_emulator/explain",
        json!({"principal": "contributor@contoso.onmicrosoft.com", "action": "Microsoft.Authorization/roleAssignments/write", "scope": ws_path(WS)}),
    );
    assert_eq!(
        ds.body["assignments"][0]["excluded_by"], "Microsoft.Authorization/*/Write",
        "{}",
        ds.body
    );
    assert_eq!(
        app.post_json(
            "/_emulator/explain",
            json!({"principal": "nobody", "action": "a", "scope": "/"})
        )
        .status,
        400
    );
    assert_eq!(
        app.post_json(
            "/_emulator/explain",
            json!({"principal": "ws-reader", "action": "a", "scope": "not a scope"})
        )
        .status,
        400
    );
}
