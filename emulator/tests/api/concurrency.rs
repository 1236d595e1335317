//! Every write path under concurrency, black-box against the HTTP API of an emulator with several
//! workers: parallel key regenerations (model management and ARM), delete racing regenerate,
//! same-name creates, `create-for-rbac` with one display name, and identical role assignments.
//! The final state must equal the last acknowledged writes: nothing lost, reverted, resurrected
//! or created twice.

use std::sync::Barrier;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::services::mms;

const WORKERS: usize = 4;
const ROUNDS: usize = 25;

type Job<'a, T> = Box<dyn FnOnce() -> T + Send + 'a>;

/// Runs the jobs at once and returns their results in the jobs' order. Each thread first makes a
/// request of its own (so it holds a warm connection), then all are released by one barrier.
fn together<'a, T: Send>(app: &TestApp, jobs: Vec<Job<'a, T>>) -> Vec<T> {
    let barrier = Barrier::new(jobs.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|job| {
                let barrier = &barrier;
                s.spawn(move || {
                    assert_eq!(app.get("/_emulator/health").status, 200);
                    barrier.wait();
                    job()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("job completes")).collect()
    })
}

fn statuses(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}

/// Regenerating the primary and the secondary key at once, round after round, with known values:
/// after each round both acknowledged values are the keys, and scoring follows.
fn regenerate_rounds(
    app: &TestApp,
    regen: &(dyn Fn(&str, &str) -> Reply + Sync),
    keys: &dyn Fn() -> Value,
    ok: u16,
) -> Vec<String> {
    let mut failures = Vec::new();
    for round in 1..=ROUNDS {
        let (p, s) = (format!("p{round}"), format!("s{round}"));
        let replies = together(
            app,
            vec![
                Box::new(|| regen("Primary", &p)) as Job<'_, Reply>,
                Box::new(|| regen("Secondary", &s)),
            ],
        );
        assert_eq!(statuses(&replies), [ok, ok], "round {round}: both writes acknowledged");
        let now = keys();
        if now != json!({"primaryKey": p, "secondaryKey": s}) {
            failures.push(format!("round {round}: acknowledged p{round}/s{round}, state {now}"));
        }
    }
    failures
}

#[test]
fn parallel_service_key_regenerations_keep_both_acknowledged_keys() {
    let app = TestApp::with_workers(WORKERS);
    let t = app.arm_token(CLIENT, SECRET);
    let regen = |kind: &str, value: &str| {
        app.arm(
            "POST",
            &mms("/services/aci-service-1/regenerateKeys"),
            Some(&t),
            Some(json!({"keyType": kind, "keyValue": value})),
        )
    };
    let keys = || {
        app.arm("POST", &mms("/services/aci-service-1/listkeys"), Some(&t), None)
            .body
    };
    let failures = regenerate_rounds(&app, &regen, &keys, 202);
    assert!(failures.is_empty(), "lost key writes:\n{}", failures.join("\n"));
    for (key, status) in [("p25", 200), ("s25", 200), ("p24", 401), ("s24", 401)] {
        assert_eq!(
            app.score("/aci/aci-service-1/score", Some(key), "{}").status,
            status,
            "scoring with {key}"
        );
    }
}

#[test]
fn parallel_endpoint_key_regenerations_keep_both_acknowledged_keys() {
    let app = TestApp::with_workers(WORKERS);
    let t = app.arm_token(CLIENT, SECRET);
    let ep = |tail: &str| v(&format!("{}/onlineEndpoints/ep-key{tail}", ws_path(WS)), "2024-04-01");
    let regen = |kind: &str, value: &str| {
        app.arm(
            "POST",
            &ep("/regenerateKeys"),
            Some(&t),
            Some(json!({"keyType": kind, "keyValue": value})),
        )
    };
    let keys = || {
        let b = app.arm("POST", &ep("/listKeys"), Some(&t), None).body;
        json!({"primaryKey": b["primaryKey"], "secondaryKey": b["secondaryKey"]})
    };
    // regenerateKeys is a long-running operation (202); the key is written when it is acknowledged.
    let failures = regenerate_rounds(&app, &regen, &keys, 202);
    assert!(failures.is_empty(), "lost key writes:\n{}", failures.join("\n"));
    assert_eq!(app.score("/online/ep-key/score", Some("s25"), "{}").status, 200);
    assert_eq!(app.score("/online/ep-key/score", Some("p24"), "{}").status, 401);
}

/// A DELETE racing regenerations that keep coming until the service is gone: once the DELETE is
/// acknowledged the service stays gone — no regeneration in flight writes it back, and the keys
/// and tokens it had open nothing (a re-created service of the same name refuses the old tokens).
#[test]
fn a_service_deleted_while_its_keys_are_regenerated_never_comes_back() {
    let app = TestApp::with_workers(WORKERS);
    let t = app.arm_token(CLIENT, SECRET);
    let mut failures = Vec::new();
    for i in 0..4 {
        let (aci, aks) = (format!("gone-aci-{i}"), format!("gone-aks-{i}"));
        let create = |body: Value| app.arm("POST", &mms("/services"), Some(&t), Some(body)).status;
        assert_eq!(create(json!({"name": aci, "computeType": "ACI"})), 202);
        assert_eq!(
            create(json!({"name": aks, "computeType": "AKS", "aadAuthEnabled": true})),
            202
        );
        let token = app
            .arm("POST", &mms(&format!("/services/{aks}/token")), Some(&t), None)
            .body["accessToken"]
            .as_str()
            .expect("token")
            .to_string();
        let (app, t) = (&app, &t);
        let mut jobs: Vec<Job<'_, Vec<String>>> = Vec::new();
        for name in [aci.clone(), aks.clone()] {
            let doomed = name.clone();
            jobs.push(Box::new(move || {
                std::thread::sleep(std::time::Duration::from_millis(5));
                let r = app.arm("DELETE", &mms(&format!("/services/{doomed}")), Some(t), None);
                let ok = r.status == 200;
                (!ok)
                    .then(|| format!("DELETE {doomed}: {} {}", r.status, r.body))
                    .into_iter()
                    .collect()
            }));
            for n in 0..3 {
                let name = name.clone();
                jobs.push(Box::new(move || {
                    // Regenerate until the service is gone (bounded, in case it never goes).
                    for k in 0..60 {
                        let r = app.arm(
                            "POST",
                            &mms(&format!("/services/{name}/regenerateKeys")),
                            Some(t),
                            Some(json!({"keyType": "Primary", "keyValue": format!("{name}-{n}-{k}")})),
                        );
                        match r.status {
                            202 => {}
                            // Gone, or (a possible rule) no keys to regenerate on a token-only service.
                            404 => return vec![],
                            400 if r.body["code"] == "BadArgument" => return vec![],
                            s => return vec![format!("regenerate {name}: {s} {}", r.body)],
                        }
                    }
                    vec![format!("regenerate {name}: still answering 202 after the race")]
                }));
            }
        }
        failures.extend(together(app, jobs).into_iter().flatten());
        for name in [&aci, &aks] {
            let get = app.arm("GET", &mms(&format!("/services/{name}")), Some(t), None);
            if get.status != 404 {
                failures.push(format!("{name} deleted with 200 but GET answers {}", get.status));
            }
        }
        let r = app.score(&format!("/aci/{aci}/score"), Some("any-key"), "{}");
        if r.status != 404 {
            failures.push(format!("{aci} deleted, its scoring route answers {}", r.status));
        }
        let r = app.score(&format!("/api/v1/service/{aks}/score"), Some(&token), "{}");
        if r.status != 404 {
            failures.push(format!(
                "{aks} deleted, a token issued before the delete scores {}",
                r.status
            ));
        }
        let again = app.arm(
            "POST",
            &mms("/services"),
            Some(t),
            Some(json!({"name": aks, "computeType": "AKS", "aadAuthEnabled": true})),
        );
        if again.status != 202 {
            failures.push(format!("{aks} deleted, re-creating it answers {}", again.status));
        }
        let r = app.score(&format!("/api/v1/service/{aks}/score"), Some(&token), "{}");
        if r.status != 401 {
            failures.push(format!("{aks} re-created, its predecessor's token scores {}", r.status));
        }
    }
    assert!(failures.is_empty(), "resurrections:\n{}", failures.join("\n"));
}

#[test]
fn parallel_creates_of_one_service_name_make_exactly_one() {
    let app = TestApp::with_workers(WORKERS);
    let t = app.arm_token(CLIENT, SECRET);
    let mut failures = Vec::new();
    for round in 0..5 {
        let name = format!("twin-{round}");
        let jobs: Vec<Job<'_, Reply>> = (0..6)
            .map(|_| {
                let (app, t, name) = (&app, &t, name.clone());
                Box::new(move || {
                    app.arm(
                        "POST",
                        &mms("/services"),
                        Some(t),
                        Some(json!({"name": name, "computeType": "ACI"})),
                    )
                }) as Job<'_, Reply>
            })
            .collect();
        let replies = together(&app, jobs);
        let created = replies.iter().filter(|r| r.status == 202).count();
        let conflicts = replies
            .iter()
            .filter(|r| r.status == 409 && r.body["code"] == "Conflict")
            .count();
        if (created, conflicts) != (1, 5) {
            failures.push(format!(
                "{name}: statuses {:?}, want one 202 and five 409 Conflict",
                statuses(&replies)
            ));
        }
        let list = app.arm("GET", &mms("/services"), Some(&t), None).body;
        let listed = list["value"]
            .as_array()
            .map_or(0, |v| v.iter().filter(|s| s["name"] == name.as_str()).count());
        if listed != 1 {
            failures.push(format!("{name}: listed {listed} times"));
        }
        let keys = app
            .arm("POST", &mms(&format!("/services/{name}/listkeys")), Some(&t), None)
            .body;
        let scored = app.score(&format!("/aci/{name}/score"), keys["primaryKey"].as_str(), "{}");
        if scored.status != 200 {
            failures.push(format!("{name}: its listed primary key scores {}", scored.status));
        }
    }
    assert!(failures.is_empty(), "double creates:\n{}", failures.join("\n"));
}

#[test]
fn parallel_create_for_rbac_with_one_name_makes_one_application() {
    let app = TestApp::with_workers(WORKERS);
    let mut failures = Vec::new();
    for round in 0..6 {
        let name = format!("race-bot-{round}");
        let jobs: Vec<Job<'_, Reply>> = (0..5)
            .map(|_| {
                let (app, name) = (&app, name.clone());
                Box::new(move || app.post_json("/_emulator/service-principals", json!({"displayName": name})))
                    as Job<'_, Reply>
            })
            .collect();
        let replies = together(&app, jobs);
        let mut codes = statuses(&replies);
        codes.sort_unstable();
        if codes != [200, 200, 200, 200, 201] {
            failures.push(format!(
                "{name}: statuses {codes:?}, want one 201 (created) and four 200 (patched)"
            ));
        }
        let world = app.get("/_emulator/world").body;
        let apps: Vec<&Value> = world["applications"]
            .as_array()
            .map(|a| a.iter().filter(|x| x["display_name"] == name.as_str()).collect())
            .unwrap_or_default();
        if apps.len() != 1 {
            failures.push(format!("{name}: {} applications in /_emulator/world", apps.len()));
            continue;
        }
        let app_id = apps[0]["client_id"].as_str().unwrap_or_default();
        for r in &replies {
            if r.body["appId"] != app_id {
                failures.push(format!(
                    "{name}: an answer names appId {} instead of {app_id}",
                    r.body["appId"]
                ));
            }
            let password = r.body["password"].as_str().unwrap_or_default();
            let token = app.token_v2(app_id, password, "https://management.azure.com/.default");
            if token.status != 200 {
                failures.push(format!("{name}: an acknowledged secret does not work: {}", token.body));
            }
        }
    }
    assert!(failures.is_empty(), "create-for-rbac races:\n{}", failures.join("\n"));
}

#[test]
fn parallel_puts_of_one_role_assignment_make_exactly_one() {
    let app = TestApp::with_workers(WORKERS);
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let role = |id: &str| format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{id}");
    let mut failures = Vec::new();
    for round in 0..3 {
        // Scopes of resource types the emulator does not model are accepted as written.
        let scope = format!("{}/providers/Microsoft.Storage/storageAccounts/race{round}", rg_path());
        let body = json!({"properties": {
            "roleDefinitionId": role("acdd72a7-3385-48ef-bd42-f606fba81ae7"),
            "principalId": SP_OBJECT, "principalType": "ServicePrincipal"}});
        let put = |name: String| {
            let (app, admin, scope, body) = (&app, &admin, scope.clone(), body.clone());
            Box::new(move || {
                let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
                app.arm("PUT", &v(&path, "2022-04-01"), Some(admin), Some(body))
            }) as Job<'_, Reply>
        };
        // One name, one body, six writers: one creates (201), the others find it (200).
        let same = uuid::Uuid::new_v4().to_string();
        let mut codes = statuses(&together(&app, (0..6).map(|_| put(same.clone())).collect()));
        codes.sort_unstable();
        if codes != [200, 200, 200, 200, 200, 201] {
            failures.push(format!("round {round}, one name: statuses {codes:?}"));
        }
        // The same assignment under six new names: one wins, five are RoleAssignmentExists.
        let scope2 = format!("{scope}x");
        let body2 = body.clone();
        let put2 = |name: String| {
            let (app, admin, scope, body) = (&app, &admin, scope2.clone(), body2.clone());
            Box::new(move || {
                let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
                app.arm("PUT", &v(&path, "2022-04-01"), Some(admin), Some(body))
            }) as Job<'_, Reply>
        };
        let replies = together(&app, (0..6).map(|_| put2(uuid::Uuid::new_v4().to_string())).collect());
        let created = replies.iter().filter(|r| r.status == 201).count();
        let exists = replies
            .iter()
            .filter(|r| r.status == 409 && r.body["error"]["code"] == "RoleAssignmentExists")
            .count();
        if (created, exists) != (1, 5) {
            failures.push(format!("round {round}, new names: statuses {:?}", statuses(&replies)));
        }
        for s in [&scope, &scope2] {
            let list = app.get(&format!(
                "/_emulator/role-assignments?assignee={SP_OBJECT}&scope={}",
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
            ));
            let n = list.body["value"].as_array().map_or(0, Vec::len);
            if n != 1 {
                failures.push(format!("{s}: {n} assignments of one (scope, role, principal)"));
            }
        }
    }
    assert!(failures.is_empty(), "role-assignment races:\n{}", failures.join("\n"));
}
