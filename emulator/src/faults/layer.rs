//! The fault middleware. It runs inside the surface middleware (which has resolved the request's
//! surface and id) and inside the body timeouts, and evaluates the fault table once per request:
//! with no rule in the table it costs one atomic load.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::http::{ConnectionType, Method};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpMessage, HttpRequest};

use super::facts::Facts;
use super::{render, FiredSet, Kind, Needs};
use crate::decision::journal::Field;
use crate::domain::World;
use crate::http::surface::{request_info, Surface};
use crate::state::AppState;

/// The body of an answer a fault shaped: a whole error, one cut off half-way, or none at all.
pub enum FaultBody {
    Whole(BoxBody),
    /// The first half of a body whose `Content-Length` announces all of it; the connection is
    /// dropped after it.
    Truncated {
        head: Option<Bytes>,
        declared: u64,
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    },
    /// Nothing: the connection is dropped before any body byte.
    Reset,
}

#[derive(Debug, thiserror::Error)]
#[error("the fault rule cut the connection")]
struct Cut;

impl MessageBody for FaultBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        match self {
            FaultBody::Whole(b) => b.size(),
            FaultBody::Truncated { declared, .. } => BodySize::Sized(*declared),
            FaultBody::Reset => BodySize::Stream,
        }
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        match self.get_mut() {
            FaultBody::Whole(b) => Pin::new(b).poll_next(cx),
            FaultBody::Truncated { head, pause, .. } => {
                if let Some(h) = head.take().filter(|h| !h.is_empty()) {
                    *pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(100))));
                    return Poll::Ready(Some(Ok(h)));
                }
                match pause.as_mut().map(|p| p.as_mut().poll(cx)) {
                    Some(Poll::Pending) => Poll::Pending,
                    _ => Poll::Ready(Some(Err(Box::new(Cut)))),
                }
            }
            FaultBody::Reset => Poll::Ready(Some(Err(Box::new(Cut)))),
        }
    }
}

/// Longest token request body read to learn its grant and client (AAD's own limit is far lower).
const MAX_FORM: usize = 64 * 1024;

/// See the module documentation.
pub async fn layer(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, FaultBody>>, actix_web::Error> {
    let (fired, surface, needs) = match first_look(&req) {
        Look::Pass => return Ok(next.call(req).await?.map_into_left_body()),
        Look::Fired(fired, surface, needs) => (Some(fired), surface, needs),
        Look::ReadCredential(surface, needs) => (None, surface, needs),
    };
    let Some(state) = req.app_data::<Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    // A handle of our own on the request for the facts to borrow from while `req` is lent out to
    // read the body; dropped before routing, which wants the only one.
    let http = req.request().clone();
    let verdict = Box::pin(evaluate(&state, &mut req, &http, surface, needs, fired)).await?;
    drop(http);
    let Some((fired, end)) = verdict else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    if let Some(body) = end {
        return Ok(req.into_response(body).map_into_right_body());
    }
    let truncate = fired.of(Kind::Truncate).is_some();
    req.extensions_mut().insert(fired);
    let res = next.call(req).await?;
    if !truncate {
        return Ok(res.map_into_left_body());
    }
    let (http_req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
    let cut = bytes.slice(..bytes.len() / 2);
    let mut response = head.set_body(FaultBody::Truncated {
        head: Some(cut),
        declared: bytes.len() as u64,
        pause: None,
    });
    response.head_mut().set_connection_type(ConnectionType::Close);
    Ok(ServiceResponse::new(http_req, response).map_into_right_body())
}

/// What the first look at a request found.
enum Look {
    /// No rule applies: the request goes on untouched.
    Pass,
    /// Rules that match on the path alone fired.
    Fired(FiredSet, Surface, Needs),
    /// Some rule matches on the credential: the table is evaluated once it is read.
    ReadCredential(Surface, Needs),
}

/// The table judged on the path alone, when its rules allow, without reading the body and without
/// taking a share of anything other workers touch (the state's `Arc`, the request's `Rc`): most
/// tables match on the path, and this is all that every request they do not fire for costs.
fn first_look(req: &ServiceRequest) -> Look {
    let Some(state) = req.app_data::<Data<AppState>>().filter(|s| s.faults.active()) else {
        return Look::Pass;
    };
    let surface = request_info(req.request()).surface;
    let needs = state.faults.needs();
    if !needs.surface(surface) {
        return Look::Pass;
    }
    if needs.credential() {
        return Look::ReadCredential(surface, needs);
    }
    let world = needs.world().then(|| state.world());
    let facts = Facts::from_path(surface, req.method().as_str(), req.path(), world.as_deref());
    match state.faults.evaluate(&facts, &state.clock) {
        fired if fired.0.is_empty() => Look::Pass,
        fired => Look::Fired(fired, surface, needs),
    }
}

/// The answer of a fault that ends the request.
type End = actix_web::HttpResponse<FaultBody>;

/// Evaluates the table for the request (unless `fired` says what already fired), gathering only
/// what its rules look at. When rules fire: journals each, sleeps for their latency, and answers
/// the rules that fired with, for a fault that ends the request, its answer; none when no rule
/// fired.
async fn evaluate(
    state: &AppState,
    req: &mut ServiceRequest,
    http: &HttpRequest,
    surface: Surface,
    needs: Needs,
    fired: Option<FiredSet>,
) -> Result<Option<(FiredSet, Option<End>)>, actix_web::Error> {
    let world = state.world();
    let mut facts = Facts::from_path(surface, http.method().as_str(), http.path(), Some(&world));
    let credential_read = needs.credential() && fired.is_none();
    if credential_read {
        add_credential(req, &mut facts, &world).await;
    }
    let fired = fired.unwrap_or_else(|| state.faults.evaluate(&facts, &state.clock));
    if fired.0.is_empty() {
        return Ok(None);
    }
    if !credential_read {
        // The journal and the answer name the caller.
        add_credential(req, &mut facts, &world).await;
    }
    record(state, http, &fired, &facts);
    let latency: u64 = fired.0.iter().map(|f| f.latency_ms).sum();
    if latency > 0 {
        actix_web::rt::time::sleep(Duration::from_millis(latency)).await;
    }
    let end = match fired.0.iter().find(|f| !f.kind().proceeds()) {
        Some(end) if end.kind() == Kind::Reset => {
            let mut response = actix_web::HttpResponse::Ok().message_body(FaultBody::Reset)?;
            response.head_mut().set_connection_type(ConnectionType::Close);
            Some(response)
        }
        Some(end) => Some(render::respond(state, http, end, &facts).map_body(|_, b| FaultBody::Whole(b))),
        None => None,
    };
    Ok(Some((fired, end)))
}

/// Adds the request's credential to its facts: its token request form (token endpoints) or its
/// bearer credential (everything else).
async fn add_credential(req: &mut ServiceRequest, facts: &mut Facts<'_>, world: &World) {
    if facts.token_endpoint && req.method() == Method::POST {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (content_type, authorization) = (header("content-type"), header("authorization"));
        let body = req
            .extract::<Bytes>()
            .await
            .ok()
            .filter(|b| b.len() <= MAX_FORM)
            .unwrap_or_default();
        let form =
            crate::authority::grants::TokenRequest::parse(content_type.as_deref(), authorization.as_deref(), &body);
        facts.add_token_request(
            form.param("grant_type"),
            form.basic_credentials().map(|(id, _)| id),
            form.param("client_id"),
            form.param("username"),
            world,
        );
        req.set_payload(actix_web::dev::Payload::from(body));
    } else if let Some(credential) = req.headers().get(AUTHORIZATION).map(|v| v.as_bytes().to_vec()) {
        if let crate::decision::Credential::Bearer(token) = crate::decision::Credential::from_header(Some(&credential))
        {
            facts.add_bearer(token, world);
        }
    }
}

/// One journal entry per fault that fired, with its rule id.
fn record(state: &AppState, req: &HttpRequest, fired: &FiredSet, facts: &Facts) {
    let info = request_info(req);
    let token = facts.token.as_ref();
    for f in &fired.0 {
        state.journal.record(|entry| {
            let route = (req.method().as_str(), req.path());
            entry.begin(info, route, &state.clock, "fault", f.kind().proceeds());
            entry.set(Field::Reason, &render::describe(f, facts));
            entry.set(Field::Fault, &f.rule.id);
            entry.set_opt(Field::Principal, token.and_then(|t| t.oid.as_deref()));
            let client = token.and_then(|t| t.appid.as_deref().or(t.azp.as_deref()));
            let client = client.or_else(|| {
                facts
                    .identities
                    .last()
                    .filter(|_| facts.token_endpoint)
                    .map(String::as_str)
            });
            entry.set_opt(Field::AppId, client);
            entry.set_opt(Field::PrincipalName, facts.identities.first().map(String::as_str));
        });
    }
}
