//! `azureml-emulator ad group …`: security groups and their direct members, in Microsoft Graph's
//! shapes as `az ad group` prints them. Members are users, service principals or groups (nested).

use actix_web::web::{self, Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::users::{service_error, user_json};
use super::{authorize, bad, parse};
use crate::domain::ids::parse_guid;
use crate::domain::world::Group;
use crate::domain::{ObjectId, World};
use crate::error::AdminError;
use crate::fixtures::FIXTURE_TIME;
use crate::service::groups;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/groups", web::get().to(list))
        .route("/groups", web::post().to(create))
        .route("/groups/{id}", web::get().to(show))
        .route("/groups/{id}", web::delete().to(delete))
        .route("/groups/{id}/members", web::get().to(members))
        .route("/groups/{id}/members", web::post().to(add_member))
        .route("/groups/{id}/members/{member}", web::delete().to(remove_member));
}

/// A group as `az ad group show` prints it.
fn group_json(g: &Group) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.group",
        "classification": null,
        "createdDateTime": FIXTURE_TIME.replace(".0000000", ""),
        "description": g.description,
        "displayName": g.display_name,
        "groupTypes": [],
        "id": g.object_id,
        "mail": null,
        "mailEnabled": false,
        "mailNickname": g.mail_nickname,
        "securityEnabled": true,
        "visibility": null,
    })
}

/// A group by object id or display name.
fn find(world: &World, id: &str) -> Result<Group, AdminError> {
    let by_id = parse_guid(id).ok().and_then(|g| world.group(ObjectId(g)));
    by_id
        .or_else(|| world.groups().iter().find(|g| g.display_name.eq_ignore_ascii_case(id)))
        .cloned()
        .ok_or_else(|| {
            AdminError::NotFound(format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ))
        })
}

/// A directory object by object id, or a user's UPN, or an application's or group's name.
fn member_id(world: &World, id: &str) -> Result<ObjectId, AdminError> {
    let found = match parse_guid(id) {
        Ok(g) => {
            let oid = ObjectId(g);
            let by_client = world.application(crate::domain::ClientId(g)).map(|a| a.object_id);
            world.has_object(oid).then_some(oid).or(by_client)
        }
        Err(_) => world
            .user_by_upn(id)
            .map(|u| u.object_id)
            .or_else(|| {
                world
                    .groups()
                    .iter()
                    .find(|g| g.display_name.eq_ignore_ascii_case(id))
                    .map(|g| g.object_id)
            })
            .or_else(|| {
                world
                    .applications()
                    .iter()
                    .find(|a| a.display_name == id)
                    .map(|a| a.object_id)
            }),
    };
    found.ok_or_else(|| bad(format!("no user, service principal or group matches member '{id}'")))
}

/// A member as `az ad group member list` prints it.
fn member_json(world: &World, oid: ObjectId) -> Value {
    if let Some(u) = world.user(oid) {
        return user_json(u);
    }
    if let Some(g) = world.group(oid) {
        return group_json(g);
    }
    match world.applications().iter().find(|a| a.object_id == oid) {
        Some(a) => json!({
            "@odata.type": "#microsoft.graph.servicePrincipal",
            "id": a.object_id, "appId": a.client_id, "displayName": a.display_name,
        }),
        None => json!({"@odata.type": "#microsoft.graph.directoryObject", "id": oid}),
    }
}

async fn list(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let value: Vec<Value> = state.world().groups().iter().map(group_json).collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

async fn show(state: Data<AppState>, req: HttpRequest, id: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    Ok(HttpResponse::Ok().json(group_json(&find(&state.world(), &id)?)))
}

/// `az ad group create --display-name D --mail-nickname N [--description T]`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewGroup {
    display_name: String,
    mail_nickname: String,
    description: Option<String>,
}

async fn create(state: Data<AppState>, req: HttpRequest, body: Bytes) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let b: NewGroup = parse(&body)?;
    if b.display_name.trim().is_empty() || b.mail_nickname.trim().is_empty() {
        return Err(bad("displayName and mailNickname must not be empty"));
    }
    let tenant = state
        .world()
        .default_tenant()
        .map(|t| t.id)
        .ok_or_else(|| bad("no tenant"))?;
    let group = Group {
        object_id: ObjectId(Uuid::new_v4()),
        tenant_id: tenant,
        display_name: b.display_name,
        mail_nickname: b.mail_nickname,
        description: b.description,
        members: vec![],
    };
    let made = crate::service::blocking(&state, move |s| groups::create(s, group))
        .await
        .map_err(service_error)?;
    Ok(HttpResponse::Created().json(group_json(&made)))
}

async fn delete(state: Data<AppState>, req: HttpRequest, id: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let oid = find(&state.world(), &id)?.object_id;
    crate::service::blocking(&state, move |s| groups::delete(s, oid))
        .await
        .map_err(service_error)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn members(state: Data<AppState>, req: HttpRequest, id: Path<String>) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let world = state.world();
    let group = find(&world, &id)?;
    let value: Vec<Value> = group.members.iter().map(|m| member_json(&world, *m)).collect();
    Ok(HttpResponse::Ok().json(json!({"value": value})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewMember {
    member_id: String,
}

/// `az ad group member add --group G --member-id OID`: 204; an existing member is 400, as Graph
/// answers ("One or more added object references already exist").
async fn add_member(
    state: Data<AppState>,
    req: HttpRequest,
    id: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let b: NewMember = parse(&body)?;
    let world = state.world();
    let group = find(&world, &id)?.object_id;
    let member = member_id(&world, &b.member_id)?;
    if member == group {
        return Err(bad("a group cannot be a member of itself"));
    }
    let added = crate::service::blocking(&state, move |s| groups::add_member(s, group, member))
        .await
        .map_err(service_error)?;
    if !added {
        return Err(bad(
            "One or more added object references already exist for the following modified properties: 'members'.",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn remove_member(
    state: Data<AppState>,
    req: HttpRequest,
    path: Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let (id, member) = path.into_inner();
    let world = state.world();
    let group = find(&world, &id)?.object_id;
    let member = member_id(&world, &member)?;
    let removed = crate::service::blocking(&state, move |s| groups::remove_member(s, group, member))
        .await
        .map_err(service_error)?;
    if !removed {
        return Err(AdminError::NotFound(format!(
            "'{member}' is not a direct member of the group."
        )));
    }
    Ok(HttpResponse::NoContent().finish())
}
