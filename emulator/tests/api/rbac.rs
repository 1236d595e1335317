//! The RBAC role matrix and the role-assignment API, table-driven.

use serde_json::json;

use crate::helpers::*;
use crate::world::WorldBuilder;

const ROLES: [&str; 5] = ["Owner", "Contributor", "Reader", "AzureML Data Scientist", "none"];
const LEVELS: [&str; 3] = ["subscription", "resourcegroup", "workspace"];

fn scope_of(level: &str, ws: &str) -> String {
    match level {
        "subscription" => format!("/subscriptions/{SUB}"),
        "resourcegroup" => rg_path(),
        _ => ws_path(ws),
    }
}

fn client_id(i: usize) -> String {
    format!("aaaaaaaa-0000-4000-8000-{i:012}")
}

/// The default world plus one service principal per (role, level), each assigned at that level
/// (workspace-level principals on both `ml-example` and `scratch`).
fn matrix_world() -> azureml_emulator::fixtures::WorldSpec {
    let mut world = WorldBuilder::default_world();
    world.workspace("scratch");
    for (r, role) in ROLES.iter().enumerate() {
        for (l, level) in LEVELS.iter().enumerate() {
            let sp = world.service_principal_with(&format!("sp-{r}-{l}"), &client_id(r * 10 + l + 1), None);
            if *role == "none" {
                continue;
            }
            let targets = if *level == "workspace" {
                vec![ws_path(WS), ws_path("scratch")]
            } else {
                vec![scope_of(level, WS)]
            };
            for scope in targets {
                world.assign(&sp.name, role, &scope);
            }
        }
    }
    world.build()
}

fn expected(role: &str, op: &str) -> bool {
    match (role, op) {
        ("Owner", _) => true,
        ("Contributor", "ra-write" | "ra-delete") => false,
        ("Contributor", _) => true,
        ("Reader", "ws-read" | "ra-read" | "ws-list") => true,
        ("AzureML Data Scientist", "ws-list") => true, // listed (200) but filtered: it cannot read the workspace itself
        _ => false,
    }
}

#[test]
fn role_matrix_for_workspace_and_role_assignment_operations() {
    let app = TestApp::with_spec(matrix_world());
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let reader_oid = "a1d0e5f2-0c3b-4d7a-9e1f-000000000003";
    let reader_role = "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7";
    let mut failures = Vec::new();
    for (r, role) in ROLES.iter().enumerate() {
        for (l, level) in LEVELS.iter().enumerate() {
            let token = app.arm_token(&client_id(r * 10 + l + 1), "s");
            let mut check = |op: &str, reply: Reply, ok_status: u16| {
                let allowed = expected(role, op);
                let status_ok = if allowed {
                    reply.status == ok_status
                } else {
                    reply.status == 403 && reply.body["error"]["code"] == "AuthorizationFailed"
                };
                if !status_ok {
                    failures.push(format!(
                        "{role} at {level}: {op} expected {} got {} {}",
                        if allowed { ok_status } else { 403 },
                        reply.status,
                        reply.body
                    ));
                }
            };
            check(
                "ws-read",
                app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&token), None),
                200,
            );
            check(
                "ws-write",
                app.arm(
                    "PATCH",
                    &v(&ws_path(WS), "2024-04-01"),
                    Some(&token),
                    Some(json!({"tags": {"by": format!("{r}{l}")}})),
                ),
                200,
            );
            check(
                "ws-list",
                app.arm(
                    "GET",
                    &v(
                        &format!("{}/providers/Microsoft.MachineLearningServices/workspaces", rg_path()),
                        "2024-04-01",
                    ),
                    Some(&token),
                    None,
                ),
                200,
            );
            let ra_path = format!("{}/providers/Microsoft.Authorization/roleAssignments", ws_path(WS));
            check(
                "ra-read",
                app.arm("GET", &v(&ra_path, "2022-04-01"), Some(&token), None),
                200,
            );
            let name = uuid::Uuid::new_v4();
            let body = json!({"properties": {"roleDefinitionId": reader_role, "principalId": reader_oid}});
            // Assigning Reader to a user who already holds Reader at the subscription is still a new
            // assignment at the workspace scope.
            let put = app.arm(
                "PUT",
                &v(&format!("{ra_path}/{name}"), "2022-04-01"),
                Some(&token),
                Some(body),
            );
            let created = put.status == 201;
            check("ra-write", put, 201);
            if created {
                check(
                    "ra-delete",
                    app.arm(
                        "DELETE",
                        &v(&format!("{ra_path}/{name}"), "2022-04-01"),
                        Some(&token),
                        None,
                    ),
                    200,
                );
            } else {
                let admin_name = uuid::Uuid::new_v4();
                let body = json!({"properties": {"roleDefinitionId": reader_role, "principalId": reader_oid}});
                assert_eq!(
                    app.arm(
                        "PUT",
                        &v(&format!("{ra_path}/{admin_name}"), "2022-04-01"),
                        Some(&admin),
                        Some(body)
                    )
                    .status,
                    201
                );
                check(
                    "ra-delete",
                    app.arm(
                        "DELETE",
                        &v(&format!("{ra_path}/{admin_name}"), "2022-04-01"),
                        Some(&token),
                        None,
                    ),
                    200,
                );
                app.arm(
                    "DELETE",
                    &v(&format!("{ra_path}/{admin_name}"), "2022-04-01"),
                    Some(&admin),
                    None,
                );
            }
            // Delete last, on the scratch workspace, recreated by the admin afterwards.
            check(
                "ws-delete",
                app.arm("DELETE", &v(&ws_path("scratch"), "2024-04-01"), Some(&token), None),
                202,
            );
            let recreate = app.arm(
                "PUT",
                &v(&ws_path("scratch"), "2024-04-01"),
                Some(&admin),
                Some(json!({"location": "eastus"})),
            );
            assert_eq!(recreate.status, 202, "{}", recreate.body);
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn authorization_failed_names_client_object_action_and_scope() {
    let app = TestApp::spawn();
    let t = app.arm_token(CLIENT, SECRET);
    let r = app.arm("GET", &v(&rg_path(), "2024-11-01"), Some(&t), None);
    let m = assert_arm_error(&r, 403, "AuthorizationFailed");
    assert_eq!(m, format!(
        "The client '{SP_OBJECT}' with object id '{SP_OBJECT}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourceGroups/read' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
        rg_path()
    ));
}

#[test]
fn listing_filters_items_and_refuses_callers_without_any_role() {
    let app = TestApp::spawn();
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let other = app.arm(
        "PUT",
        &v(&ws_path("other-ws"), "2024-04-01"),
        Some(&admin),
        Some(json!({"location": "westus"})),
    );
    // Workspace PUT is a long-running operation: 202 (New-AzMLWorkspace.Recording.json).
    assert_eq!(other.status, 202, "{}", other.body);
    let t = app.arm_token(CLIENT, SECRET);
    let list = app.arm(
        "GET",
        &v(
            &format!("/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/workspaces"),
            "2024-04-01",
        ),
        Some(&t),
        None,
    );
    let names: Vec<&str> = list.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["ml-example"],
        "ml-auth sees only the workspace it holds a role on"
    );
    let all = app.arm(
        "GET",
        &v(
            &format!("{}/providers/Microsoft.MachineLearningServices/workspaces", rg_path()),
            "2024-04-01",
        ),
        Some(&admin),
        None,
    );
    assert_eq!(all.body["value"].as_array().unwrap().len(), 2);
}

#[test]
fn subscriptions_and_tenants_show_what_the_caller_can_see() {
    let mut world = WorldBuilder::default_world();
    world.service_principal_with("loner", "aaaaaaaa-0000-4000-8000-000000000099", None);
    let app = TestApp::with_spec(world.build());
    let t = app.arm_token(CLIENT, SECRET);
    let subs = app
        .arm("GET", "/subscriptions?api-version=2022-12-01", Some(&t), None)
        .body;
    assert_eq!(subs["value"][0]["subscriptionId"], SUB);
    assert_eq!(subs["value"][0]["tenantId"], TENANT);
    assert_eq!(subs["value"][0]["state"], "Enabled");
    assert_eq!(subs["count"]["value"], 1);
    assert_eq!(
        app.arm(
            "GET",
            &format!("/subscriptions/{SUB}?api-version=2022-12-01"),
            Some(&t),
            None
        )
        .status,
        200
    );
    let tenants = app.arm("GET", "/tenants?api-version=2022-12-01", Some(&t), None).body;
    assert_eq!(tenants["value"][0]["defaultDomain"], DOMAIN);

    let loner = app.arm_token("aaaaaaaa-0000-4000-8000-000000000099", "s");
    assert_eq!(
        app.arm("GET", "/subscriptions?api-version=2022-12-01", Some(&loner), None)
            .body["value"],
        json!([])
    );
    assert_arm_error(
        &app.arm(
            "GET",
            &format!("/subscriptions/{SUB}?api-version=2022-12-01"),
            Some(&loner),
            None,
        ),
        404,
        "SubscriptionNotFound",
    );
    let ws_list = app.arm(
        "GET",
        &v(
            &format!("{}/providers/Microsoft.MachineLearningServices/workspaces", rg_path()),
            "2024-04-01",
        ),
        Some(&loner),
        None,
    );
    assert_arm_error(&ws_list, 403, "AuthorizationFailed");
    let unknown = "99999999-9999-4999-8999-999999999999";
    assert_arm_error(
        &app.arm(
            "GET",
            &format!("/subscriptions/{unknown}/resourceGroups?api-version=2022-12-01"),
            Some(&t),
            None,
        ),
        404,
        "SubscriptionNotFound",
    );
}

#[test]
fn assignments_at_a_resource_group_are_inherited_and_removal_takes_effect_at_once() {
    let app = TestApp::spawn();
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let t = app.arm_token(CLIENT, SECRET);
    let rg = v(&rg_path(), "2024-11-01");
    assert_arm_error(&app.arm("GET", &rg, Some(&t), None), 403, "AuthorizationFailed");
    let name = "0d8a2f33-7a0b-4d57-9a9b-3b9a2c1d0e01";
    let ra = v(
        &format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", rg_path()),
        "2022-04-01",
    );
    let body = json!({"properties": {"roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"), "principalId": SP_OBJECT, "principalType": "ServicePrincipal"}});
    let created = app.arm("PUT", &ra, Some(&admin), Some(body.clone()));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["properties"]["scope"], rg_path());
    assert_eq!(created.body["properties"]["roleDefinitionId"], format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"));
    assert_eq!(
        created.body["id"],
        format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", rg_path())
    );
    assert_eq!(
        app.arm("GET", &rg, Some(&t), None).status,
        200,
        "the same token works at once"
    );
    assert_eq!(
        app.arm("PUT", &ra, Some(&admin), Some(body.clone())).status,
        200,
        "an identical re-PUT is idempotent"
    );
    let dup = app.arm(
        "PUT",
        &v(
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                rg_path(),
                uuid::Uuid::new_v4()
            ),
            "2022-04-01",
        ),
        Some(&admin),
        Some(body),
    );
    assert_eq!(
        assert_arm_error(&dup, 409, "RoleAssignmentExists"),
        "The role assignment already exists."
    );
    let deleted = app.arm("DELETE", &ra, Some(&admin), None);
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["name"], name);
    assert_arm_error(&app.arm("GET", &rg, Some(&t), None), 403, "AuthorizationFailed");
    assert_eq!(app.arm("DELETE", &ra, Some(&admin), None).status, 204, "already gone");
    assert_arm_error(&app.arm("GET", &ra, Some(&admin), None), 404, "RoleAssignmentNotFound");
}

#[test]
fn role_assignment_validation() {
    let app = TestApp::spawn();
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let base = format!("{}/providers/Microsoft.Authorization/roleAssignments", ws_path(WS));
    let put = |name: &str, body: serde_json::Value| {
        app.arm(
            "PUT",
            &v(&format!("{base}/{name}"), "2022-04-01"),
            Some(&admin),
            Some(body),
        )
    };
    let reader = "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7";
    let id = uuid::Uuid::new_v4().to_string();
    assert_arm_error(
        &put(
            "not-a-guid",
            json!({"properties": {"roleDefinitionId": reader, "principalId": SP_OBJECT}}),
        ),
        400,
        "InvalidRoleAssignmentId",
    );
    assert_arm_error(
        &put(
            &id,
            json!({"properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-4000-8000-000000000000", "principalId": SP_OBJECT}}),
        ),
        400,
        "RoleDefinitionDoesNotExist",
    );
    let m = assert_arm_error(
        &put(
            &id,
            json!({"properties": {"roleDefinitionId": reader, "principalId": "00000000-0000-4000-8000-000000000000"}}),
        ),
        400,
        "PrincipalNotFound",
    );
    assert!(
        m.starts_with("Principal 00000000000040008000000000000000 does not exist in the directory"),
        "{m}"
    );
    assert_arm_error(
        &put(
            &id,
            json!({"properties": {"roleDefinitionId": reader, "principalId": SP_OBJECT, "principalType": "User"}}),
        ),
        400,
        "UnmatchedPrincipalType",
    );
    assert_arm_error(
        &put(&id, json!({"properties": {"roleDefinitionId": reader}})),
        400,
        "InvalidRequestContent",
    );
    let missing_ws = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{id}",
        ws_path("nope")
    );
    assert_arm_error(
        &app.arm(
            "PUT",
            &v(&missing_ws, "2022-04-01"),
            Some(&admin),
            Some(json!({"properties": {"roleDefinitionId": reader, "principalId": SP_OBJECT}})),
        ),
        404,
        "ResourceNotFound",
    );
    let list = app.arm("GET", &v(&base, "2022-04-01"), Some(&admin), None);
    assert!(
        list.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["name"] != id.as_str()),
        "nothing was written"
    );
}

#[test]
fn assignment_lists_honour_at_scope_and_principal_filters() {
    let app = TestApp::spawn();
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let list = |scope: &str, filter: Option<&str>| {
        let mut path = v(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"),
            "2022-04-01",
        );
        if let Some(f) = filter {
            path.push_str(&format!("&$filter={}", f.replace(' ', "%20").replace('\'', "%27")));
        }
        let r = app.arm("GET", &path, Some(&admin), None);
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["properties"]["scope"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let sub = format!("/subscriptions/{SUB}");
    assert_eq!(list(&sub, None).len(), 8, "everything at and below the subscription");
    assert_eq!(
        list(&sub, Some("atScope()")).len(),
        3,
        "owner user, reader user and ml-admin at the subscription"
    );
    let at_ws = list(&ws_path(WS), Some("atScope()"));
    assert_eq!(
        at_ws.len(),
        8,
        "the workspace's own assignments (ml-auth, cpu-cluster, ml-uami, ml-readers) plus everything above them"
    );
    let mine = list(&sub, Some(&format!("principalId eq '{SP_OBJECT}'")));
    assert_eq!(mine, vec![ws_path(WS)]);
    let r = app.arm(
        "GET",
        &(v(
            &format!("{sub}/providers/Microsoft.Authorization/roleAssignments"),
            "2022-04-01",
        ) + "&$filter=bogus"),
        Some(&admin),
        None,
    );
    assert_arm_error(&r, 400, "UnsupportedFilter");
}

#[test]
fn role_definitions_builtin_and_custom_with_not_actions() {
    let app = TestApp::spawn();
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let defs = format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions");
    let by_name = app.arm(
        "GET",
        &(v(&defs, "2022-05-01-preview") + "&$filter=roleName%20eq%20%27Contributor%27"),
        Some(&admin),
        None,
    );
    let c = &by_name.body["value"][0];
    assert_eq!(by_name.body["value"].as_array().unwrap().len(), 1);
    assert_eq!(c["name"], "b24988ac-6180-42a0-ab88-20f7382dd24c");
    assert_eq!(c["id"], format!("{defs}/b24988ac-6180-42a0-ab88-20f7382dd24c"));
    assert_eq!(c["properties"]["type"], "BuiltInRole");
    assert_eq!(
        c["properties"]["permissions"][0]["notActions"][1],
        "Microsoft.Authorization/*/Write"
    );
    let not_guid = app.arm(
        "GET",
        &v(&format!("{defs}/not-a-guid"), "2022-04-01"),
        Some(&admin),
        None,
    );
    assert_arm_error(&not_guid, 404, "RoleDefinitionDoesNotExist");
    let all = app.arm("GET", &v(&defs, "2022-04-01"), Some(&admin), None).body;
    assert_eq!(all["value"].as_array().unwrap().len(), 7);

    // A custom role that may do everything on workspaces except delete them.
    let role_id = "7c1e6b1a-1111-4a2b-9c3d-4e5f6a7b8c9d";
    let body = json!({"properties": {"roleName": "Workspace Keeper", "description": "no deletes", "type": "CustomRole",
        "permissions": [{"actions": ["Microsoft.MachineLearningServices/workspaces/*"], "notActions": ["Microsoft.MachineLearningServices/workspaces/delete"]}],
        "assignableScopes": [format!("/subscriptions/{SUB}")]}});
    let created = app.arm(
        "PUT",
        &v(&format!("{defs}/{role_id}"), "2022-04-01"),
        Some(&admin),
        Some(body.clone()),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["properties"]["type"], "CustomRole");
    let clash = app.arm(
        "PUT",
        &v(&format!("{defs}/{}", uuid::Uuid::new_v4()), "2022-04-01"),
        Some(&admin),
        Some(body),
    );
    assert_arm_error(&clash, 409, "RoleDefinitionWithSameNameExists");

    // Give it to ml-auth at the resource group.
    let t = app.arm_token(CLIENT, SECRET);
    let ra = v(
        &format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{}",
            rg_path(),
            uuid::Uuid::new_v4()
        ),
        "2022-04-01",
    );
    let assign = app.arm(
        "PUT",
        &ra,
        Some(&admin),
        Some(json!({"properties": {"roleDefinitionId": format!("{defs}/{role_id}"), "principalId": SP_OBJECT}})),
    );
    assert_eq!(assign.status, 201, "{}", assign.body);
    let other = app.arm(
        "PUT",
        &v(&ws_path("kept"), "2024-04-01"),
        Some(&t),
        Some(json!({"location": "eastus"})),
    );
    assert_eq!(
        other.status, 202,
        "write allowed through the custom role: {}",
        other.body
    );
    let del = app.arm("DELETE", &v(&ws_path("kept"), "2024-04-01"), Some(&t), None);
    assert!(assert_arm_error(&del, 403, "AuthorizationFailed")
        .contains("'Microsoft.MachineLearningServices/workspaces/delete'"));
    // The role cannot be deleted while assigned; built-ins never.
    assert_arm_error(
        &app.arm(
            "DELETE",
            &v(&format!("{defs}/{role_id}"), "2022-04-01"),
            Some(&admin),
            None,
        ),
        409,
        "RoleDefinitionHasAssignments",
    );
    assert_arm_error(
        &app.arm(
            "DELETE",
            &v(&format!("{defs}/b24988ac-6180-42a0-ab88-20f7382dd24c"), "2022-04-01"),
            Some(&admin),
            None,
        ),
        400,
        "RoleDefinitionIsBuiltIn",
    );
}

#[test]
fn log_only_mode_allows_and_journals() {
    let app = TestApp::with_config(azureml_emulator::Config {
        workers: 1,
        rbac_mode: azureml_emulator::state::RbacMode::LogOnly,
        ..Default::default()
    });
    let t = app.arm_token(CLIENT, SECRET);
    assert_eq!(app.arm("GET", &v(&rg_path(), "2024-11-01"), Some(&t), None).status, 200);
    let journal = app.get("/_emulator/journal?surface=arm").body;
    assert_eq!(journal["rbac_mode"], "log-only");
    let e = &journal["entries"][0];
    assert_eq!(e["action"], "Microsoft.Resources/subscriptions/resourceGroups/read");
    assert_eq!(e["principal"], SP_OBJECT);
    assert_eq!(e["scope"], rg_path());
    // Authentication is never relaxed.
    assert_arm_error(
        &app.arm("GET", &v(&rg_path(), "2024-11-01"), None, None),
        401,
        "AuthenticationFailed",
    );
}

#[test]
fn custom_roles_are_assignable_only_within_their_assignable_scopes() {
    let app = TestApp::spawn();
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let defs = format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions");
    let role_id = "9a1e6b1a-2222-4a2b-9c3d-4e5f6a7b8c9d";
    let body = json!({"properties": {"roleName": "RG Only", "permissions": [{"actions": ["*/read"]}], "assignableScopes": [rg_path()]}});
    assert_eq!(
        app.arm(
            "PUT",
            &v(&format!("{defs}/{role_id}"), "2022-04-01"),
            Some(&admin),
            Some(body)
        )
        .status,
        201
    );
    let assign = |scope: &str| {
        let path = v(
            &format!(
                "{scope}/providers/Microsoft.Authorization/roleAssignments/{}",
                uuid::Uuid::new_v4()
            ),
            "2022-04-01",
        );
        let body = json!({"properties": {"roleDefinitionId": format!("{defs}/{role_id}"), "principalId": SP_OBJECT}});
        app.arm("PUT", &path, Some(&admin), Some(body))
    };
    let outside = assign(&format!("/subscriptions/{SUB}"));
    assert!(assert_arm_error(&outside, 400, "InvalidCreateRoleAssignmentRequest").contains("assignableScopes"));
    assert_eq!(
        assign(&ws_path(WS)).status,
        201,
        "a workspace lies within the resource group"
    );
}
