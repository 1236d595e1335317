//! What only a holder of the emulator's signing keys can forge: tokens signed with the right key
//! whose header or claims a real validator still refuses — other algorithms with the right key,
//! an unknown `crit` extension (RFC 7515 §4.1.11: must be rejected), lifetimes beyond anything the
//! issuer mints (`exp = 2^63-1`; the choice here: a lifetime longer than the issuer could have
//! minted is refused), duplicate claims, and the issuer, tenant and object of scoring tokens.
//!
//! The private keys are read from the data dir's SQLite file (tables `signing_keys` and
//! `workspace_signing_keys`): signing as the issuer cannot be done through the HTTP API. A control
//! token re-signed with the same key (only its unique id changed) must be accepted, which proves the
//! keys read are the ones that sign.

use serde_json::{json, Map, Value};

use super::forge::{Jwt, Signer};
use super::{judge, mint_from, Surface, Why, FABRIKAM};
use crate::helpers::*;

const YEAR: i64 = 365 * 24 * 3600;

fn stored_key(db: &rusqlite::Connection, sql: &str) -> Signer {
    let (kid, der): (String, Vec<u8>) = db
        .query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("a stored signing key");
    Signer::from_pkcs8(&kid, &der)
}

fn with(base: &Value, changes: Value) -> Value {
    let mut out: Map<String, Value> = base.as_object().cloned().unwrap_or_default();
    out.extend(changes.as_object().cloned().unwrap_or_default());
    Value::Object(out)
}

/// The forgeries for one surface: (name, token). All must be refused with `Why::Invalid`.
fn forgeries(surface: Surface, g: &Jwt, signer: &Signer, claims: &Value) -> Vec<(String, String)> {
    // Azure ML tokens carry no iat: their lifetime runs from issue, 24 h before exp.
    let iat = claims["iat"]
        .as_i64()
        .unwrap_or_else(|| claims["exp"].as_i64().unwrap_or_default() - 24 * 3600);
    let sign = |header: &Value, claims: &Value| signer.token("RS256", header, claims);
    let mut out: Vec<(String, String)> = Vec::new();
    for alg in ["RS384", "RS512", "PS256"] {
        out.push((
            format!("{alg} with the right key"),
            signer.token(alg, &with(&g.header, json!({"alg": alg})), claims),
        ));
    }
    out.push((
        "crit naming an unknown extension".into(),
        sign(
            &with(
                &g.header,
                json!({"crit": ["urn:example:unknown"], "urn:example:unknown": true}),
            ),
            claims,
        ),
    ));
    for (name, change) in [
        ("exp = 2^63-1", json!({"exp": i64::MAX})),
        ("a ten-year lifetime", json!({"exp": iat + 10 * YEAR})),
        ("exp = -2^63", json!({"exp": i64::MIN})),
        ("nbf = 2^63-1", json!({"nbf": i64::MAX})),
        ("exp = 1e300", json!({"exp": 1e300})),
    ] {
        out.push((name.into(), sign(&g.header, &with(claims, change))));
    }
    let text = claims.to_string();
    let inner = &text[1..text.len() - 1];
    let header = g.header.to_string();
    out.push((
        "duplicate aud, a forged value first".into(),
        signer.sign_raw(
            "RS256",
            &header,
            &format!("{{\"aud\":\"https://evil.example\",{inner}}}"),
        ),
    ));
    out.push((
        "duplicate aud, a forged value last".into(),
        signer.sign_raw(
            "RS256",
            &header,
            &format!("{{{inner},\"aud\":\"https://evil.example\"}}"),
        ),
    ));
    let claim_changes: Vec<(&str, Value)> = match surface {
        Surface::Arm | Surface::ModelManagement | Surface::EntraScoring => vec![
            (
                "iss of another tenant",
                json!({"iss": format!("https://sts.windows.net/{FABRIKAM}/")}),
            ),
            ("iss of another authority", json!({"iss": "https://evil.example/"})),
        ],
        Surface::AmlService | Surface::AmlEndpoint => vec![
            ("iss of a region's API", json!({"iss": "https://westus.api.azureml.ms"})),
            ("iss of another authority", json!({"iss": "https://evil.example"})),
            ("aud other than azureml", json!({"aud": "https://ml.azure.com"})),
            (
                "workspaceId of another workspace",
                json!({"workspaceId": "00000000-0000-4000-8000-00000000beef"}),
            ),
            (
                "serviceId of another instance",
                json!({"serviceId": "00000000-0000-4000-8000-00000000cafe"}),
            ),
            ("endpointName of another", json!({"endpointName": "ep-key"})),
            (
                "actions granting only the other kind's score",
                json!({"actions": json!([match surface {
                    Surface::AmlService => "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action",
                    _ => "Microsoft.MachineLearningServices/workspaces/services/aks/score/action",
                }]).to_string()}),
            ),
            ("nbf in the future", json!({"nbf": i64::MAX / 2})),
            ("tid of another tenant", json!({"tid": FABRIKAM})),
            (
                "oid of no principal",
                json!({"oid": "00000000-0000-4000-8000-00000000dead"}),
            ),
        ],
    };
    for (name, change) in claim_changes {
        out.push((name.into(), sign(&g.header, &with(claims, change))));
    }
    out
}

#[test]
fn forgeries_only_a_key_holder_can_make_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::in_dir(dir.path());
    let admin = app.arm_token(ADMIN_CLIENT, ADMIN_SECRET);
    let surfaces = [
        Surface::Arm,
        Surface::ModelManagement,
        Surface::EntraScoring,
        Surface::AmlService,
        Surface::AmlEndpoint,
    ];
    // Minting an Azure ML token creates the workspace's key.
    let genuine: Vec<(Surface, Jwt)> = surfaces
        .iter()
        .map(|s| (*s, Jwt::parse(&mint_from(&app, &admin, s.genuine_kind()))))
        .collect();
    let db = rusqlite::Connection::open(dir.path().join("emulator.sqlite3")).unwrap();
    let entra = stored_key(&db, "SELECT kid, pkcs8_der FROM signing_keys WHERE active = 1");
    let aml = stored_key(&db, "SELECT kid, pkcs8_der FROM workspace_signing_keys");
    let mut failures = Vec::new();
    let mut count = 0;
    for (surface, g) in &genuine {
        let (signer, unique) = match surface {
            // Azure ML tokens have no unique id: the control changes exp by a second.
            Surface::AmlService | Surface::AmlEndpoint => (&aml, "exp"),
            _ => (&entra, "uti"),
        };
        assert_eq!(
            g.header["kid"],
            signer.kid.as_str(),
            "{surface:?}: the stored key signs"
        );
        let fresh = match unique {
            "exp" => json!(g.claims["exp"].as_i64().unwrap_or_default() - 1),
            _ => json!(uuid::Uuid::new_v4().to_string()),
        };
        let claims = with(&g.claims, json!({ unique: fresh }));
        let (method, path) = surface.request();
        let present = |token: &str| super::send(&app, method, &path, &format!("Bearer {token}"), &[]);
        let control = present(&signer.token("RS256", &g.header, &claims));
        assert_eq!(
            control.status, 200,
            "{surface:?}: a re-signed genuine token is accepted: {}",
            control.body
        );
        for (name, token) in forgeries(*surface, g, signer, &claims) {
            count += 1;
            if let Err(e) = judge(*surface, Why::Invalid, &present(&token), &[]) {
                failures.push(format!("{surface:?} [{name}]: {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} key-holder forgeries were not refused:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
