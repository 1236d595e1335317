//! Subscriptions and tenants: visible to callers of their tenant holding some role in them.

use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::{ArmResult, Ctx};
use crate::domain::scope::Scope;
use crate::domain::world::{Subscription, Tenant};
use crate::error::ArmError;

fn visible(ctx: &Ctx<'_>, s: &Subscription) -> bool {
    s.tenant_id == ctx.caller.tenant
        && Scope::parse(&format!("/subscriptions/{}", s.id)).is_ok_and(|scope| ctx.gate.has_access_within(&scope))
}

fn subscription_json(s: &Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": s.id,
        "tenantId": s.tenant_id,
        "displayName": s.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}

/// Subscriptions in which the caller holds some role (azureml-core requires its own to be listed).
pub fn list(ctx: &Ctx<'_>) -> ArmResult {
    let value: Vec<Value> = ctx
        .world
        .subscriptions()
        .iter()
        .filter(|s| visible(ctx, s))
        .map(subscription_json)
        .collect();
    let count = value.len();
    Ok(HttpResponse::Ok().json(json!({"value": value, "count": {"type": "Total", "value": count}})))
}

pub fn get(ctx: &Ctx<'_>, sub: &str) -> ArmResult {
    let found = sub
        .parse()
        .ok()
        .and_then(|id| ctx.world.subscription(id))
        .filter(|s| visible(ctx, s));
    found
        .map(|s| HttpResponse::Ok().json(subscription_json(s)))
        .ok_or_else(|| ArmError::subscription_not_found(sub))
}

fn tenant_json(t: &Tenant) -> Value {
    json!({
        "id": format!("/tenants/{}", t.id),
        "tenantId": t.id,
        "countryCode": "US",
        "displayName": t.display_name,
        "domains": t.domains,
        "tenantCategory": "Home",
        "defaultDomain": t.default_domain(),
        "tenantType": "AAD"
    })
}

/// The caller's home tenant.
pub fn list_tenants(ctx: &Ctx<'_>) -> ArmResult {
    let value: Vec<Value> = ctx
        .world
        .tenant(ctx.caller.tenant)
        .map(tenant_json)
        .into_iter()
        .collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}
