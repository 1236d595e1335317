//! The control API of users and groups, and the `ad` / `sign-in` verbs' shapes.

use serde_json::json;

use super::*;

#[test]
fn users_are_created_shown_updated_and_deleted_in_graph_shape() {
    let app = TestApp::spawn();
    let made = app.post_json(
        "/_emulator/users",
        json!({"displayName": "Bea Builder", "userPrincipalName": format!("bea@{DOMAIN}"), "password": "Bea-Passw0rd!"}),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    for key in [
        "id",
        "userPrincipalName",
        "displayName",
        "givenName",
        "surname",
        "businessPhones",
        "mail",
        "accountEnabled",
    ] {
        assert!(made.body.get(key).is_some(), "{key}");
    }
    assert_eq!(
        (s(&made.body, "givenName"), s(&made.body, "surname")),
        ("Bea", "Builder")
    );
    let id = s(&made.body, "id").to_string();
    assert_eq!(
        app.get(&format!("/_emulator/users/bea@{DOMAIN}")).body["id"],
        id.as_str()
    );
    assert_eq!(app.ropc(TENANT, &format!("bea@{DOMAIN}"), "Bea-Passw0rd!").status, 200);
    let dup = app.post_json(
        "/_emulator/users",
        json!({"displayName": "x", "userPrincipalName": format!("BEA@{DOMAIN}"), "password": "p"}),
    );
    assert_eq!(dup.status, 400);
    let bad_domain = app.post_json(
        "/_emulator/users",
        json!({"displayName": "x", "userPrincipalName": "x@evil.example", "password": "p"}),
    );
    assert_eq!(bad_domain.status, 400);
    let unknown_field = app.post_json(
        "/_emulator/users",
        json!({"displayName": "x", "userPrincipalName": format!("y@{DOMAIN}"), "password": "p", "isAdmin": true}),
    );
    assert_eq!(unknown_field.status, 400);
    let patched = app.send_json(
        "PATCH",
        &format!("/_emulator/users/{id}"),
        Some(json!({"password": "New-Passw0rd!"})),
    );
    assert_eq!(patched.status, 200);
    assert_aad_error(
        &app.ropc(TENANT, &format!("bea@{DOMAIN}"), "Bea-Passw0rd!"),
        400,
        "invalid_grant",
        50126,
    );
    assert_eq!(app.ropc(TENANT, &format!("bea@{DOMAIN}"), "New-Passw0rd!").status, 200);
    let listed = app.get("/_emulator/users").body;
    assert_eq!(listed["value"].as_array().unwrap().len(), 5);
    assert_eq!(
        app.send_json("DELETE", &format!("/_emulator/users/{id}"), None).status,
        204
    );
    assert_eq!(app.get(&format!("/_emulator/users/{id}")).status, 404);
    assert_aad_error(
        &app.ropc(TENANT, &format!("bea@{DOMAIN}"), "New-Passw0rd!"),
        400,
        "invalid_grant",
        50034,
    );
}

#[test]
fn groups_list_their_members_and_role_assignments_take_group_names() {
    let app = TestApp::spawn();
    let members = app.get(&format!("/_emulator/groups/{READERS_GROUP}/members")).body;
    assert_eq!(members["value"][0]["displayName"], "ml-team");
    assert_eq!(members["value"][0]["@odata.type"], "#microsoft.graph.group");
    let team = app.get("/_emulator/groups/ml-team").body;
    assert_eq!(
        (s(&team, "id"), team["securityEnabled"].as_bool()),
        (TEAM_GROUP, Some(true))
    );
    let assigned = app.post_json(
        "/_emulator/role-assignments",
        json!({"assignee": TEAM_GROUP, "role": "Contributor", "scope": ws_path(WS)}),
    );
    assert_eq!(assigned.status, 201, "{}", assigned.body);
    assert_eq!(assigned.body["properties"]["principalType"], "Group");
    // The reset brings the world back, sessions and all.
    assert_eq!(app.post_json("/_emulator/reset", json!({})).status, 200);
    assert_eq!(
        app.get("/_emulator/role-assignments?assignee=ml-team").body["value"],
        json!([])
    );
}
