//! The token forge: each kind and each way of signing, and what the validators make of them.

use serde_json::{json, Value};

use crate::helpers::*;

fn forge(app: &TestApp, order: Value) -> String {
    let r = app.post_json("/_emulator/tokens/forge", order.clone());
    assert_eq!(r.status, 200, "{order}: {}", r.body);
    r.body["token"].as_str().unwrap().to_string()
}

fn arm_status(app: &TestApp, token: &str) -> (u16, String) {
    let r = app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(token), None);
    (
        r.status,
        r.body["error"]["code"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn arm_tokens_forged_every_way() {
    let app = TestApp::spawn();
    let genuine = forge(&app, json!({"kind": "arm"}));
    assert_eq!(
        arm_status(&app, &genuine).0,
        200,
        "a current-key token with genuine claims works"
    );
    assert_eq!(claims(&genuine)["oid"], SP_OBJECT);
    for (order, code) in [
        (
            json!({"kind": "arm", "lifetime_seconds": -60}),
            "ExpiredAuthenticationToken",
        ),
        (
            json!({"kind": "arm", "claims": {"aud": "https://graph.microsoft.com"}}),
            "InvalidAuthenticationTokenAudience",
        ),
        (
            json!({"kind": "arm", "sign_with": "unpublished"}),
            "InvalidAuthenticationToken",
        ),
        (
            json!({"kind": "arm", "sign_with": "none"}),
            "InvalidAuthenticationToken",
        ),
        (
            json!({"kind": "arm", "sign_with": "hs256-with-public-key"}),
            "InvalidAuthenticationToken",
        ),
        (
            json!({"kind": "arm", "claims": {"iss": "https://sts.windows.net/11111111-1111-4111-8111-111111111111/"}}),
            "InvalidAuthenticationToken",
        ),
        (
            json!({"kind": "arm", "claims": {"oid": null}}),
            "InvalidAuthenticationToken",
        ),
    ] {
        let t = forge(&app, order.clone());
        assert_eq!(arm_status(&app, &t), (401, code.to_string()), "{order}");
    }
    assert_eq!(
        segment(&forge(&app, json!({"kind": "arm", "sign_with": "none"})), 0)["alg"],
        "none"
    );
    // A retired key: none until one is retired.
    let r = app.post_json(
        "/_emulator/tokens/forge",
        json!({"kind": "arm", "sign_with": "retired"}),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    let rotated = app.post_json("/_emulator/keys/rotate", json!({})).body;
    app.post_json(
        &format!("/_emulator/keys/{}/retire", rotated["previous"].as_str().unwrap()),
        json!({}),
    );
    let t = forge(&app, json!({"kind": "arm", "sign_with": "retired"}));
    assert_eq!(segment(&t, 0)["kid"], rotated["previous"]);
    assert_eq!(arm_status(&app, &t).0, 401);
}

#[test]
fn aml_and_id_tokens_forged() {
    let app = TestApp::spawn();
    let score = |t: &str| {
        app.score(&format!("/api/v1/service/{AKS_SERVICE}/score"), Some(t), "{}")
            .status
    };
    assert_eq!(score(&forge(&app, json!({"kind": "aml"}))), 200);
    assert_eq!(score(&forge(&app, json!({"kind": "aml", "lifetime_seconds": -1}))), 401);
    assert_eq!(
        score(&forge(&app, json!({"kind": "aml", "sign_with": "unpublished"}))),
        401
    );
    assert_eq!(
        score(&forge(
            &app,
            json!({"kind": "aml", "claims": {"iss": "https://westus.api.azureml.ms"}})
        )),
        401
    );
    let endpoint = forge(&app, json!({"kind": "aml", "service": AML_TOKEN_ENDPOINT}));
    assert_eq!(
        app.score(&format!("/online/{AML_TOKEN_ENDPOINT}/score"), Some(&endpoint), "{}")
            .status,
        200
    );
    assert_eq!(score(&endpoint), 401, "another service's token");
    let id = forge(
        &app,
        json!({"kind": "id", "principal": "reader@contoso.onmicrosoft.com"}),
    );
    let c = claims(&id);
    assert_eq!(
        (c["preferred_username"].as_str(), c["ver"].as_str()),
        (Some("reader@contoso.onmicrosoft.com"), Some("2.0"))
    );
    assert_eq!(
        app.post_json("/_emulator/tokens/forge", json!({"kind": "nope"})).status,
        400
    );
}
