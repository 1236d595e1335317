//! Arbitrary JSON bodies and names sent to every route that reads a body or a name: never a 5xx,
//! and every refusal in the surface's own JSON shape. `PROPTEST_CASES` sets the number of cases
//! (10,000 by default).

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::helpers::*;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("Key"),
            Just("AMLToken"),
            Just("Primary"),
            Just("eastus"),
            Just("AKS"),
            Just("")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let keys = prop_oneof![
            Just("location".to_string()),
            Just("tags".to_string()),
            Just("properties".to_string()),
            Just("authMode".to_string()),
            Just("keyType".to_string()),
            Just("keyValue".to_string()),
            Just("name".to_string()),
            Just("computeType".to_string()),
            Just("roleDefinitionId".to_string()),
            Just("principalId".to_string()),
            Just("displayName".to_string()),
            ".{0,6}".prop_map(String::from),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(keys, inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,40}",
        "[a-zA-Z0-9._()~-]{0,95}",
        Just(String::new()),
        Just("..".into())
    ]
}

/// The routes under test, with a `{name}` placeholder; method, path, surface.
const ROUTES: &[(&str, &str)] = &[
    (
        "PUT",
        "/subscriptions/{SUB}/resourceGroups/{name}?api-version=2024-11-01",
    ),
    (
        "PATCH",
        "/subscriptions/{SUB}/resourceGroups/{RG}?api-version=2024-11-01",
    ),
    ("PUT", "{WS}/../{name}?api-version=2024-04-01"),
    ("PUT", "{WS}/onlineEndpoints/{name}?api-version=2024-04-01"),
    (
        "POST",
        "{WS}/onlineEndpoints/ep-key/regenerateKeys?api-version=2024-04-01",
    ),
    (
        "PUT",
        "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01",
    ),
    (
        "PUT",
        "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{name}?api-version=2022-04-01",
    ),
    ("POST", "/modelmanagement/v1.0{WS}/services"),
    (
        "POST",
        "/modelmanagement/v1.0{WS}/services/aci-service-1/regenerateKeys",
    ),
    ("POST", "/_emulator/service-principals"),
    ("POST", "/_emulator/role-assignments"),
    ("POST", "/_emulator/services/{name}/regenerate-key"),
    ("POST", "/_emulator/clock"),
];

#[test]
fn arbitrary_bodies_and_names_are_refused_in_each_surfaces_shape() {
    let app = TestApp::spawn();
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let ws = ws_path(WS);
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10_000);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&(0..ROUTES.len(), name(), json_value()), |(i, n, body)| {
            let (method, template) = ROUTES[i];
            let encoded: String =
                percent_encoding::utf8_percent_encode(&n, percent_encoding::NON_ALPHANUMERIC).collect();
            let path = template
                .replace("{SUB}", SUB)
                .replace("{RG}", RG)
                .replace("{WS}", &ws)
                .replace("{name}", &encoded);
            let reply = app.arm(method, &path, Some(&admin), Some(body.clone()));
            prop_assert!(
                reply.status < 500,
                "{method} {path} {body} -> {} {}",
                reply.status,
                reply.body
            );
            if reply.status >= 400 {
                let shaped = reply.body["error"]["code"].is_string()
                    || reply.body["code"].is_string()
                    || reply.body["message"].is_string();
                prop_assert!(shaped, "{method} {path} {body} -> {} {}", reply.status, reply.body);
            }
            Ok(())
        })
        .unwrap();
    // The world is still whole: the default workspace still answers.
    let r = app.arm(
        "GET",
        &format!("{ws}?api-version=2024-04-01"),
        Some(&admin),
        Some(json!({})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}
