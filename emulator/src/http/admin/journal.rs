//! `GET|DELETE /_emulator/journal` and `GET /_emulator/journal/stream` (server-sent events): the
//! decision journal, filtered by `decision`, `principal`, `surface`, `kind`, `since` (an entry
//! id) and `limit`.

use std::time::Duration;

use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::{authorize, bad};
use crate::decision::journal::Filter;
use crate::error::AdminError;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/journal", web::get().to(list))
        .route("/journal", web::delete().to(clear))
        .route("/journal/stream", web::get().to(stream));
}

/// A live reader is sent a comment this often, so proxies and clients keep the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

fn filter(req: &HttpRequest) -> Result<Filter, AdminError> {
    let f: Filter = serde_urlencoded::from_str(req.query_string()).map_err(|e| bad(format!("invalid query: {e}")))?;
    if f.decision.as_deref().is_some_and(|d| d != "allow" && d != "deny") {
        return Err(bad("decision is allow or deny"));
    }
    Ok(f)
}

/// Every entry the filter matches, oldest first (see [`crate::decision::journal`]).
async fn list(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let f = filter(&req)?;
    Ok(HttpResponse::Ok().json(json!({
        "rbac_mode": state.rbac_mode,
        "enabled": state.journal.enabled(),
        "capacity": state.journal.capacity(),
        "entries": state.journal.select(&f),
    })))
}

async fn clear(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    state.journal.clear();
    Ok(HttpResponse::Ok().json(json!({"status": "cleared"})))
}

/// One server-sent event: `id: N` and `data: {entry}`.
fn event(entry: &crate::decision::JournalEntry) -> Bytes {
    let data = serde_json::to_string(entry).unwrap_or_default();
    Bytes::from(format!("id: {}\nevent: entry\ndata: {data}\n\n", entry.id))
}

/// The entries the filter matches as server-sent events: those already recorded (after `since`,
/// the newest `limit`), then each new one as it is recorded, with a keep-alive comment every 15 s.
async fn stream(state: Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    authorize(&state, &req)?;
    let f = filter(&req)?;
    // Subscribe before reading the backlog: nothing recorded in between is lost.
    let live = state.journal.subscribe();
    let backlog = state.journal.select(&f);
    let last = backlog.last().map_or(f.since.unwrap_or(0), |e| e.id);
    let head: Vec<Result<Bytes, actix_web::Error>> =
        std::iter::once(Ok(Bytes::from_static(b": azureml-emulator journal\n\n")))
            .chain(backlog.iter().map(|e| Ok(event(e))))
            .collect();
    let live_filter = Filter { limit: None, ..f };
    let tail = futures_util::stream::unfold((live, last), move |(mut rx, last)| {
        let f = live_filter.clone();
        async move {
            loop {
                match tokio::time::timeout(KEEP_ALIVE, rx.recv()).await {
                    Err(_) => return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), (rx, last))),
                    Ok(Ok(e)) if e.id > last && f.matches(&e) => {
                        let id = e.id;
                        return Some((Ok(event(&e)), (rx, id)));
                    }
                    Ok(Ok(_)) => continue,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return None,
                }
            }
        }
    });
    let body = futures_util::stream::StreamExt::chain(futures_util::stream::iter(head), tail);
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", "text/event-stream"))
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(body))
}
