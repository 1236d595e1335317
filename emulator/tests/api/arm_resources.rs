//! Resource groups and workspaces through ARM: create, update, delete, and their errors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::*;

#[test]
fn resource_group_lifecycle() {
    let app = TestApp::spawn();
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let path = |rg: &str| v(&format!("/subscriptions/{SUB}/resourceGroups/{rg}"), "2024-11-01");
    let created = app.arm(
        "PUT",
        &path("rg-new"),
        Some(&admin),
        Some(json!({"location": "westeurope", "tags": {"env": "test"}})),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.body["id"],
        format!("/subscriptions/{SUB}/resourceGroups/rg-new")
    );
    assert_eq!(created.body["properties"]["provisioningState"], "Succeeded");
    let replaced = app.arm(
        "PUT",
        &path("rg-new"),
        Some(&admin),
        Some(json!({"location": "westeurope"})),
    );
    assert_eq!(replaced.status, 200);
    // PUT replaces: no tags named, none kept — and ARM then leaves `tags` out altogether
    // (openapi/fidelity/shapes/resourcegroups.get.json).
    assert!(
        replaced.body.get("tags").is_none(),
        "PUT replaces: no tags named, none kept: {}",
        replaced.body
    );
    let patched = app.arm(
        "PATCH",
        &path("rg-new"),
        Some(&admin),
        Some(json!({"tags": {"k": "v"}})),
    );
    assert_eq!(patched.body["tags"], json!({"k": "v"}));
    let kept = app.arm("PATCH", &path("rg-new"), Some(&admin), Some(json!({})));
    assert_eq!(kept.body["tags"], json!({"k": "v"}), "PATCH keeps");
    // Azure's limit: 50 tags per resource group or resource; 51 is refused and nothing changes.
    let many = |n: usize| -> serde_json::Value {
        (0..n)
            .map(|i| (format!("t{i}"), json!("v")))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let fifty = app.arm("PATCH", &path("rg-new"), Some(&admin), Some(json!({"tags": many(50)})));
    assert_eq!(fifty.status, 200, "{}", fifty.body);
    for method in ["PATCH", "PUT"] {
        let body = json!({"location": "westeurope", "tags": many(51)});
        assert_arm_error(
            &app.arm(method, &path("rg-new"), Some(&admin), Some(body)),
            400,
            "InvalidTagCount",
        );
    }
    let ws = v(
        &format!(
            "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS}"
        ),
        "2024-10-01",
    );
    assert_arm_error(
        &app.arm("PATCH", &ws, Some(&admin), Some(json!({"tags": many(51)}))),
        400,
        "InvalidTagCount",
    );
    let after = app.arm("GET", &path("rg-new"), Some(&admin), None);
    assert_eq!(
        after.body["tags"],
        many(50),
        "a refused write leaves the tags as they were"
    );
    assert_arm_error(
        &app.arm(
            "PUT",
            &path("rg-new"),
            Some(&admin),
            Some(json!({"location": "eastus"})),
        ),
        409,
        "InvalidResourceGroupLocation",
    );
    assert_arm_error(
        &app.arm("PUT", &path("rg-x"), Some(&admin), Some(json!({}))),
        400,
        "LocationRequired",
    );
    assert_arm_error(
        &app.arm(
            "PUT",
            &path("bad%20name."),
            Some(&admin),
            Some(json!({"location": "eastus"})),
        ),
        400,
        "InvalidResourceGroup",
    );
    assert_arm_error(
        &app.arm("PUT", &path("rg-y"), Some(&admin), Some(json!("nope"))),
        400,
        "InvalidRequestContent",
    );
    let list = app.arm(
        "GET",
        &v(&format!("/subscriptions/{SUB}/resourcegroups"), "2024-11-01"),
        Some(&admin),
        None,
    );
    let names: Vec<&str> = list.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["ml-example-rg", "rg-new"]);
    // Case-insensitive paths, as in ARM.
    assert_eq!(
        app.arm(
            "GET",
            &v(&format!("/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/RG-NEW"), "2024-11-01"),
            Some(&admin),
            None
        )
        .status,
        200
    );
    // ARM's long-running deletion (recorded: 202, Location on operationresults, Retry-After; polls
    // 202 then 200 with no body), on the emulator clock.
    let deleted = app.arm("DELETE", &path("rg-new"), Some(&admin), None);
    assert_eq!(deleted.status, 202, "{}", deleted.body);
    assert_eq!(deleted.header("content-length"), Some("0"));
    assert!(deleted.header("azure-asyncoperation").is_none());
    assert_eq!(deleted.header("retry-after"), Some("1"));
    let location = deleted.header("location").unwrap().to_string();
    let job = location
        .strip_prefix(&format!("{}/subscriptions/{SUB}/operationresults/", app.url))
        .and_then(|rest| rest.strip_suffix("?api-version=2024-11-01"))
        .unwrap_or_else(|| panic!("{location}"));
    let job: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(job).unwrap()).unwrap();
    assert_eq!(
        job,
        json!({"jobId": "RESOURCEGROUPDELETIONJOB-RG-NEW-WESTEUROPE", "jobLocation": "westeurope"})
    );
    let during = app.arm("GET", &path("rg-new"), Some(&admin), None);
    assert_eq!(
        during.body["properties"]["provisioningState"], "Deleting",
        "{}",
        during.body
    );
    let running = app.poll(&location, &admin);
    assert_eq!(running.status, 202);
    assert_eq!(running.header("location"), Some(location.as_str()));
    assert_eq!(running.header("retry-after"), Some("1"));
    app.finish_operations();
    let done = app.poll(&location, &admin);
    assert_eq!((done.status, done.header("content-length")), (200, Some("0")));
    // ARM answers a DELETE of a group that is not there with 404 (the spec declares no 204).
    assert_arm_error(
        &app.arm("DELETE", &path("rg-new"), Some(&admin), None),
        404,
        "ResourceGroupNotFound",
    );
    let m = assert_arm_error(
        &app.arm("GET", &path("rg-new"), Some(&admin), None),
        404,
        "ResourceGroupNotFound",
    );
    assert_eq!(m, "Resource group 'rg-new' could not be found.");
}

#[test]
fn workspace_create_update_delete() {
    let app = TestApp::spawn();
    let t = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let path = v(&ws_path("ws-two"), "2024-04-01");
    let body = json!({"location": "eastus", "sku": {"name": "Basic", "tier": "Basic"}, "tags": {"team": "a"},
        "properties": {"friendlyName": "Two", "description": "second"}});
    // PUT is a long-running operation (the 2022-05-01 recording: 202, no body, Location and
    // Azure-AsyncOperation on workspaceOperationsStatus, no Retry-After).
    let created = app.arm("PUT", &path, Some(&t), Some(body));
    assert_eq!(created.status, 202, "{}", created.body);
    assert_eq!(created.header("content-length"), Some("0"));
    assert!(created.header("retry-after").is_none());
    let status_url = created.header("azure-asyncoperation").unwrap().to_string();
    let ops = format!("{}/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/eastus/workspaceOperationsStatus/", app.url);
    assert!(
        status_url.starts_with(&ops) && status_url.ends_with("?api-version=2024-04-01&type=async"),
        "{status_url}"
    );
    assert_eq!(
        created
            .header("location")
            .map(|l| l.replace("&type=location", "&type=async")),
        Some(status_url.clone())
    );
    let creating = app.arm("GET", &path, Some(&t), None);
    assert_eq!(creating.body["properties"]["provisioningState"], "Creating");
    let running = app.poll(&status_url, &t);
    assert_eq!((running.status, &running.body["status"]), (200, &json!("InProgress")));
    app.finish_operations();
    assert_eq!(
        app.poll(&status_url, &t).body,
        json!({"status": "Succeeded", "percentComplete": 100.0})
    );
    let created = app.arm("GET", &path, Some(&t), None);
    assert_eq!(created.body["properties"]["provisioningState"], "Succeeded");
    let id = created.body["properties"]["workspaceId"].clone();
    assert_eq!(created.body["properties"]["friendlyName"], "Two");
    assert_eq!(created.body["tags"]["team"], "a");
    // systemData names the creator (ml-admin, an application, by client id).
    assert_eq!(created.body["systemData"]["createdBy"], ADMIN_CLIENT);
    assert_eq!(created.body["systemData"]["createdByType"], "Application");
    let patched = app.arm(
        "PATCH",
        &path,
        Some(&t),
        Some(json!({"properties": {"description": "changed"}})),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["properties"]["description"], "changed");
    assert_eq!(
        patched.body["properties"]["workspaceId"], id,
        "identity survives updates"
    );
    assert_eq!(patched.body["tags"]["team"], "a", "PATCH keeps what it does not name");
    // A body rendered before a write is not shown after it, nor in another api-version's shape.
    let got = app.arm("GET", &path, Some(&t), None);
    assert_eq!(got.body["properties"]["description"], "changed");
    let old_shape = app.arm("GET", &v(&ws_path("ws-two"), "2020-06-01"), Some(&t), None);
    assert_eq!(old_shape.body["properties"]["description"], "changed");
    assert!(old_shape.body.get("systemData").is_none(), "{}", old_shape.body);
    assert!(app.arm("GET", &path, Some(&t), None).body.get("systemData").is_some());
    let replaced = app.arm("PUT", &path, Some(&t), Some(json!({"location": "eastus"})));
    assert_eq!(replaced.status, 202);
    let replaced = app.arm("GET", &path, Some(&t), None);
    assert_eq!(replaced.body["properties"]["provisioningState"], "Updating");
    assert_eq!(replaced.body["tags"], json!({}), "PUT replaces");
    assert_eq!(replaced.body["properties"]["description"], "");
    assert_eq!(
        replaced.body["properties"]["workspaceId"], id,
        "identity survives a replacing PUT"
    );
    app.finish_operations();
    let m = assert_arm_error(
        &app.arm("PUT", &path, Some(&t), Some(json!({"location": "westus"}))),
        400,
        "InvalidResourceLocation",
    );
    assert!(m.contains("already exists in location 'eastus'"));
    assert_arm_error(
        &app.arm(
            "PUT",
            &v(&ws_path("x"), "2024-04-01"),
            Some(&t),
            Some(json!({"location": "eastus"})),
        ),
        400,
        "InvalidResourceName",
    );
    assert_arm_error(
        &app.arm("PUT", &v(&ws_path("ws-three"), "2024-04-01"), Some(&t), Some(json!({}))),
        400,
        "LocationRequired",
    );
    assert_arm_error(
        &app.arm(
            "PATCH",
            &v(&ws_path("ws-none"), "2024-04-01"),
            Some(&t),
            Some(json!({})),
        ),
        404,
        "ResourceNotFound",
    );
    let missing_rg =
        format!("/subscriptions/{SUB}/resourceGroups/nope/providers/Microsoft.MachineLearningServices/workspaces/w1");
    assert_arm_error(
        &app.arm(
            "PUT",
            &v(&missing_rg, "2024-04-01"),
            Some(&t),
            Some(json!({"location": "eastus"})),
        ),
        404,
        "ResourceGroupNotFound",
    );
    // DELETE: 202 with Location and Retry-After (spec), shown Deleting until it completes.
    let deleted = app.arm("DELETE", &path, Some(&t), None);
    assert_eq!(deleted.status, 202);
    assert_eq!(deleted.header("retry-after"), Some("1"));
    let location = deleted.header("location").unwrap().to_string();
    assert!(
        location.starts_with(&ops) && location.ends_with("&type=location"),
        "{location}"
    );
    assert_eq!(app.poll(&location, &t).status, 202);
    assert_eq!(
        app.arm("GET", &path, Some(&t), None).body["properties"]["provisioningState"],
        "Deleting"
    );
    assert_eq!(app.arm("DELETE", &path, Some(&t), None).status, 204);
    app.finish_operations();
    assert_eq!(app.poll(&location, &t).status, 200);
    let m = assert_arm_error(&app.arm("GET", &path, Some(&t), None), 404, "ResourceNotFound");
    assert_eq!(m, "The Resource 'Microsoft.MachineLearningServices/workspaces/ws-two' under resource group 'ml-example-rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix");
}

#[test]
fn deleting_a_resource_group_deletes_its_workspaces() {
    let app = TestApp::spawn();
    let t = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    assert_eq!(
        app.arm("DELETE", &v(&rg_path(), "2024-11-01"), Some(&t), None).status,
        202
    );
    app.finish_operations();
    assert_arm_error(
        &app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&t), None),
        404,
        "ResourceGroupNotFound",
    );
    let list = app.arm(
        "GET",
        &v(
            &format!("/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/workspaces"),
            "2024-04-01",
        ),
        Some(&t),
        None,
    );
    assert_eq!(list.body["value"], json!([]));
    // Reset brings the world back.
    assert_eq!(app.post_json("/_emulator/reset", json!({})).status, 200);
    assert_eq!(
        app.arm("GET", &v(&ws_path(WS), "2024-04-01"), Some(&t), None).status,
        200
    );
}

#[test]
fn unknown_paths_and_methods_answer_in_the_arm_shape() {
    let app = TestApp::spawn();
    let t = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    assert_arm_error(
        &app.arm(
            "GET",
            &v(
                &format!("{}/providers/Microsoft.Storage/storageAccounts/x", rg_path()),
                "2024-01-01",
            ),
            Some(&t),
            None,
        ),
        404,
        "NotFound",
    );
    assert_arm_error(
        &app.arm("POST", &v(&ws_path(WS), "2024-04-01"), Some(&t), Some(json!({}))),
        405,
        "MethodNotAllowed",
    );
}

#[test]
fn arm_writes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let name = "6b0f3d1c-9e8a-4c7b-8d6e-5f4a3b2c1d0e";
    {
        let app = TestApp::in_dir(dir.path());
        let t = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
        assert_eq!(
            app.arm(
                "PUT",
                &v(&ws_path("persisted"), "2024-04-01"),
                Some(&t),
                Some(json!({"location": "eastus"}))
            )
            .status,
            202
        );
        let ra = v(
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{name}",
                ws_path("persisted")
            ),
            "2022-04-01",
        );
        let body = json!({"properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7", "principalId": SP_OBJECT}});
        assert_eq!(app.arm("PUT", &ra, Some(&t), Some(body)).status, 201);
    }
    let app = TestApp::in_dir(dir.path());
    let t = app.arm_token(CLIENT, SECRET);
    assert_eq!(
        app.arm("GET", &v(&ws_path("persisted"), "2024-04-01"), Some(&t), None)
            .status,
        200,
        "ml-auth reads it through the persisted assignment"
    );
}

#[test]
fn subscription_ids_must_be_guids_in_their_36_character_form() {
    let app = TestApp::spawn();
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let bare = SUB.replace('-', "");
    for sub in [format!("{{{SUB}}}"), bare, "not-a-guid".to_string()] {
        let path = format!("/subscriptions/{sub}/resourceGroups/{RG}?api-version=2024-11-01");
        let r = app.arm("GET", &path, Some(&admin), None);
        let message = assert_arm_error(&r, 400, "InvalidSubscriptionId");
        assert!(message.contains(&sub), "{message}");
    }
    // Any case is the same subscription, and the same RBAC scope.
    let upper = format!(
        "/subscriptions/{}/resourceGroups/{RG}?api-version=2024-11-01",
        SUB.to_uppercase()
    );
    assert_eq!(app.arm("GET", &upper, Some(&admin), None).status, 200);
}

/// A reset forgets the operations in flight: the world file's workspace is back and `Succeeded`
/// at once (not `Deleting` until the old deletion's time is up), and the old poll is unknown.
#[test]
fn reset_forgets_operations_in_flight() {
    let app = TestApp::spawn();
    let t = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let path = v(&ws_path(WS), "2024-04-01");
    let deleted = app.arm("DELETE", &path, Some(&t), None);
    assert_eq!(deleted.status, 202);
    let location = deleted.header("location").unwrap().to_string();
    let during = app.arm("GET", &path, Some(&t), None);
    assert_eq!(during.body["properties"]["provisioningState"], "Deleting");
    assert_eq!(app.post_json("/_emulator/reset", json!({})).status, 200);
    let back = app.arm("GET", &path, Some(&t), None);
    assert_eq!(back.status, 200);
    assert_eq!(back.body["properties"]["provisioningState"], "Succeeded");
    let poll = app.poll(&location, &t);
    assert_eq!(poll.status, 404, "{:?}", poll.body);
    assert_eq!(poll.body["error"]["details"][0]["code"], "OperationNotFound");
}
