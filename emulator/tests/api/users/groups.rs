//! Groups in RBAC (direct and nested membership, ARM role assignments to groups) and in tokens
//! (the `groups` claim and its overage form).

use serde_json::json;

use super::super::world::WorldBuilder;
use super::*;

fn read_ws(app: &TestApp, token: &str) -> Reply {
    app.arm("GET", &v(&ws_path(WS), "2024-10-01"), Some(token), None)
}

#[test]
fn a_member_of_a_nested_group_holds_its_role_until_removed() {
    let app = TestApp::spawn();
    let token = app.sign_in(ANALYST_USER);
    let at = s(&token, "access_token").to_string();
    assert_eq!(read_ws(&app, &at).status, 200, "Reader through ml-team ⊂ ml-readers");
    let denied = app.arm("GET", &v(&rg_path(), "2021-04-01"), Some(&at), None);
    assert_arm_error(&denied, 403, "AuthorizationFailed");
    let removed = app.send_json(
        "DELETE",
        &format!("/_emulator/groups/ml-team/members/{}", ANALYST_USER.0),
        None,
    );
    assert_eq!(removed.status, 204, "{}", removed.body);
    let message = assert_arm_error(&read_ws(&app, &at), 403, "AuthorizationFailed");
    assert!(message.contains(ANALYST_USER.0), "{message}");
    // The journal names the group's assignment when it decides.
    let journal = app.get("/_emulator/journal").body;
    assert!(journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["reason"].as_str().is_some_and(|r| r.contains("Reader"))));
}

#[test]
fn a_role_assigned_to_a_group_through_arm_reaches_its_direct_members() {
    let mut w = WorldBuilder::default_world();
    let user = w.user(&format!("dana@{DOMAIN}"));
    let app = TestApp::with_spec(w.build());
    let group = app.post_json(
        "/_emulator/groups",
        json!({"displayName": "ml-writers", "mailNickname": "mlwriters"}),
    );
    assert_eq!(group.status, 201, "{}", group.body);
    let gid = s(&group.body, "id").to_string();
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let put = app.arm(
        "PUT",
        &v(&format!("{}/providers/Microsoft.Authorization/roleAssignments/{}", ws_path(WS), uuid::Uuid::new_v4()), "2022-04-01"),
        Some(&admin),
        Some(json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"),
            "principalId": gid, "principalType": "Group"}})),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    let at = s(
        &app.ropc(TENANT, &format!("dana@{DOMAIN}"), "Passw0rd!").body,
        "access_token",
    )
    .to_string();
    assert_eq!(read_ws(&app, &at).status, 403);
    let add = app.post_json(&format!("/_emulator/groups/{gid}/members"), json!({"memberId": user}));
    assert_eq!(add.status, 204, "{}", add.body);
    assert_eq!(
        app.post_json(&format!("/_emulator/groups/{gid}/members"), json!({"memberId": user}))
            .status,
        400
    );
    assert_eq!(
        read_ws(&app, &at).status,
        200,
        "a role change takes effect on the next request"
    );
    // A fresh token carries the group.
    let fresh = claims(s(
        &app.ropc(TENANT, &format!("dana@{DOMAIN}"), "Passw0rd!").body,
        "access_token",
    ));
    assert_eq!(fresh["groups"], json!([gid]));
}

#[test]
fn more_than_two_hundred_groups_become_the_overage_claim() {
    let mut w = WorldBuilder::default_world();
    let upn = format!("busy@{DOMAIN}");
    let oid = w.user(&upn);
    for i in 0..201 {
        w.group(&format!("g{i}"), &[&upn]);
    }
    let app = TestApp::with_spec(w.build());
    let at = claims(s(&app.ropc(TENANT, &upn, "Passw0rd!").body, "access_token"));
    assert!(at.get("groups").is_none());
    assert_eq!(at["_claim_names"], json!({"groups": "src1"}));
    assert_eq!(
        at["_claim_sources"]["src1"]["endpoint"],
        format!("https://graph.microsoft.com/v1.0/users/{oid}/getMemberObjects")
    );
    let at_limit = {
        let mut w = WorldBuilder::default_world();
        w.user(&upn);
        for i in 0..200 {
            w.group(&format!("g{i}"), &[&upn]);
        }
        let app = TestApp::with_spec(w.build());
        claims(s(&app.ropc(TENANT, &upn, "Passw0rd!").body, "access_token"))
    };
    assert_eq!(at_limit["groups"].as_array().map(Vec::len), Some(200));
}

#[test]
fn group_cycles_and_deleted_groups_are_harmless() {
    let mut w = WorldBuilder::default_world();
    let upn = format!("cy@{DOMAIN}");
    w.user(&upn);
    let a = w.group("cycle-a", &[&upn]);
    let b = w.group("cycle-b", &["cycle-a"]);
    w.assign("cycle-b", "Reader", &ws_path(WS));
    let app = TestApp::with_spec(w.build());
    assert_eq!(
        app.post_json(&format!("/_emulator/groups/{a}/members"), json!({"memberId": b}))
            .status,
        204
    );
    let at = s(&app.ropc(TENANT, &upn, "Passw0rd!").body, "access_token").to_string();
    assert_eq!(claims(&at)["groups"], json!([a, b]));
    assert_eq!(read_ws(&app, &at).status, 200);
    assert_eq!(
        app.send_json("DELETE", &format!("/_emulator/groups/{b}"), None).status,
        204
    );
    assert_eq!(read_ws(&app, &at).status, 403);
}
