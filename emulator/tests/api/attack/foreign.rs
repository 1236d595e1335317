//! Cases that present **genuine** tokens where they do not belong: outside their lifetime, of
//! another kind, tenant or emulator, of a deleted and re-created instance, or with a Host header
//! that would make a wrong audience look right. Each is minted for the case, so presenting it
//! warms nothing the forged cases reuse.

use serde_json::json;

use super::cases::{custom, expect, token, token_why, with_headers, Case};
use super::{Bench, Kind, Phase, Surface, Why};
use crate::helpers::{ws_path, Reply, WS};

/// Expired and not-yet-valid genuine tokens (the clock moves, then moves back). Warm, each is
/// first accepted while valid. Azure ML tokens live 24 h and carry no `nbf`/`iat` (the recorded
/// shape, `crate::authority::aml`): they expire a day later and a clock moved back cannot make
/// them not-yet-valid, so they get only the expiry case.
pub(super) fn out_of_time(surface: Surface, out: &mut Vec<Case>) {
    if matches!(surface, Surface::AmlService | Surface::AmlEndpoint) {
        out.push(custom("expired by the clock", Why::Expired, |b, phase| {
            timed(b, phase, 24 * 3600 + 600)
        }));
        return;
    }
    out.push(custom("expired by the clock", Why::Expired, |b, phase| {
        timed(b, phase, 2 * 3600 + 600)
    }));
    out.push(custom("not yet valid by the clock", Why::Invalid, |b, phase| {
        timed(b, phase, -3600)
    }));
}

fn timed(b: &Bench, phase: Phase, shift: i64) -> Result<Reply, String> {
    let t = b.mint(b.surface.genuine_kind());
    if phase == Phase::Warm {
        expect(b.present(&t), 200, "a fresh genuine token")?;
    }
    b.advance_clock(shift);
    let reply = b.present(&t);
    b.advance_clock(-shift);
    Ok(reply)
}

pub(super) fn foreign(b: &Bench, out: &mut Vec<Case>) {
    use Kind::*;
    let (arm_like, scoring) = (Why::Audience, Why::Invalid);
    // Azure ML surfaces get no other-tenant case: a principal of another tenant holds no role on
    // the workspace, so it cannot obtain an Azure ML token to present.
    let kinds: &[(Kind, Why)] = match b.surface {
        Surface::Arm | Surface::ModelManagement => &[
            (Ml, arm_like),
            (Graph, arm_like),
            (AksService, Why::Invalid),
            (AmlEndpoint, Why::Invalid),
            (OtherTenantArm, Why::Tenant),
        ],
        Surface::EntraScoring => &[
            (Arm, scoring),
            (Graph, scoring),
            (OwnOrigin, scoring),
            (AksService, scoring),
            (AmlEndpoint, scoring),
            (OtherTenantMl, scoring),
        ],
        Surface::AmlService => &[
            (Arm, scoring),
            (Ml, scoring),
            (OtherAksService, scoring),
            (AmlEndpoint, scoring),
        ],
        Surface::AmlEndpoint => &[
            (Arm, scoring),
            (Ml, scoring),
            (AksService, scoring),
            (OtherAmlEndpoint, scoring),
        ],
    };
    for (kind, why) in kinds {
        out.push(token_why(format!("cross-kind: a {kind:?} token"), *why, b.mint(*kind)));
    }
    let elsewhere = b.mint_elsewhere(b.surface.genuine_kind());
    out.push(token("the same kind of token from another emulator", elsewhere.clone()));
    let mut parts: Vec<&str> = elsewhere.split('.').collect();
    parts[0] = &b.genuine.h;
    out.push(token(
        "another emulator's token under this token's header",
        parts.join("."),
    ));
    match b.surface {
        Surface::AmlService => out.push(custom(
            "token of a deleted and re-created service",
            Why::Invalid,
            reborn_service,
        )),
        Surface::AmlEndpoint => out.push(custom(
            "token of a deleted and re-created endpoint",
            Why::Invalid,
            reborn_endpoint,
        )),
        _ => {}
    }
}

fn reborn_service(b: &Bench, phase: Phase) -> Result<Reply, String> {
    let name = format!("aks-reborn-{phase:?}").to_ascii_lowercase();
    let mms = |tail: &str| format!("/modelmanagement/v1.0{}/services{tail}", ws_path(WS));
    let admin = Some(b.admin());
    let body = json!({"name": name, "computeType": "AKS", "aadAuthEnabled": true});
    expect(b.app.arm("POST", &mms(""), admin, Some(body.clone())), 202, "create")?;
    let t = expect(
        b.app.arm("POST", &mms(&format!("/{name}/token")), admin, None),
        200,
        "token",
    )?;
    let t = t.body["accessToken"].as_str().unwrap_or_default().to_string();
    let path = format!("/api/v1/service/{name}/score");
    if phase == Phase::Warm {
        expect(b.score_at(&path, &t), 200, "the service's own token")?;
    }
    expect(
        b.app.arm("DELETE", &mms(&format!("/{name}")), admin, None),
        200,
        "delete",
    )?;
    expect(b.app.arm("POST", &mms(""), admin, Some(body)), 202, "re-create")?;
    Ok(b.score_at(&path, &t))
}

fn reborn_endpoint(b: &Bench, phase: Phase) -> Result<Reply, String> {
    let name = format!("ep-reborn-{phase:?}").to_ascii_lowercase();
    let ep = |tail: &str| crate::helpers::v(&format!("{}/onlineEndpoints/{name}{tail}", ws_path(WS)), "2024-04-01");
    let admin = Some(b.admin());
    let body = json!({"location": "eastus", "properties": {"authMode": "AMLToken"}});
    expect(b.app.arm("PUT", &ep(""), admin, Some(body.clone())), 201, "create")?;
    let t = expect(b.app.arm("POST", &ep("/token"), admin, None), 200, "token")?;
    let t = t.body["accessToken"].as_str().unwrap_or_default().to_string();
    let path = format!("/online/{name}/score");
    if phase == Phase::Warm {
        expect(b.score_at(&path, &t), 200, "the endpoint's own token")?;
    }
    // Deletion is a long-running operation: 202 (the endpoint is gone when it is acknowledged).
    expect(b.app.arm("DELETE", &ep(""), admin, None), 202, "delete")?;
    expect(b.app.arm("PUT", &ep(""), admin, Some(body)), 201, "re-create")?;
    Ok(b.score_at(&path, &t))
}

/// Audiences come from configuration, never from the request: tokens for other resources stay
/// wrong-audience whatever Host, X-Forwarded-Host or Forwarded says.
pub(super) fn hosts(b: &Bench, out: &mut Vec<Case>) {
    if !b.surface.is_arm_like() {
        return;
    }
    let (ml, graph) = (b.mint(Kind::Ml), b.mint(Kind::Graph));
    out.push(with_headers(
        "$ML with Host: ml.azure.com",
        Why::Audience,
        ml.clone(),
        vec![("Host", "ml.azure.com")],
    ));
    out.push(with_headers(
        "$ML with X-Forwarded-Host: ml.azure.com and X-Forwarded-Proto: https",
        Why::Audience,
        ml,
        vec![("X-Forwarded-Host", "ml.azure.com"), ("X-Forwarded-Proto", "https")],
    ));
    out.push(with_headers(
        "$GRAPH with X-Forwarded-Host: graph.microsoft.com",
        Why::Audience,
        graph.clone(),
        vec![("X-Forwarded-Host", "graph.microsoft.com")],
    ));
    out.push(with_headers(
        "$GRAPH with Forwarded: host=graph.microsoft.com;proto=https",
        Why::Audience,
        graph,
        vec![("Forwarded", "host=graph.microsoft.com;proto=https")],
    ));
}
