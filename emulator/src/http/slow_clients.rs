//! Slow and stalled clients. actix-web bounds the time to receive a request head
//! (`client_request_timeout`) but not its body: a client that sends `Content-Length: 1000` and then
//! nothing would hold its connection, and the handler reading the body, forever. This middleware
//! bounds the body: when no byte arrives for [`BodyTimeouts::idle`], or the whole body takes longer
//! than [`BodyTimeouts::total`], the request is answered 408 and the connection closed.
//!
//! The idle clock runs only while a handler is waiting for the client, so time spent waiting for
//! the server (the scoring body budget, say) never counts against the client.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_core::Stream;
use tokio::time::{sleep_until, Instant, Sleep};

/// How long a request body may stall, and take in all. Registered as app data by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyTimeouts {
    /// No byte of the body for this long: 408.
    pub idle: Duration,
    /// The whole body, from the first read, within this: 408 (a client trickling a byte at a time).
    pub total: Duration,
}

impl BodyTimeouts {
    /// `total` is twelve times `idle`: 60 s for the default 5 s, ample for 16 MiB on any real link.
    pub fn from_idle(idle: Duration) -> Self {
        BodyTimeouts {
            idle,
            total: idle.saturating_mul(12),
        }
    }
}

/// The answer to a client too slow to send its request, when the request it belongs to is no
/// longer at hand (an error from an inner middleware): 408 in the generic JSON shape.
#[derive(Debug, thiserror::Error)]
#[error("The request body was not received in time.")]
pub struct RequestTimedOut;

impl ResponseError for RequestTimedOut {
    fn status_code(&self) -> StatusCode {
        StatusCode::REQUEST_TIMEOUT
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::RequestTimeout()
            .json(serde_json::json!({"error": {"code": "RequestTimeout", "message": self.to_string()}}));
        response.head_mut().set_connection_type(ConnectionType::Close);
        response
    }
}

/// The one place a 408 is rendered: in the error shape of the request's surface, and the
/// connection is closed after it.
pub fn request_timeout_response(req: &HttpRequest) -> HttpResponse {
    let surface = crate::http::surface::request_info(req).surface;
    let mut response = crate::error::render(surface, req, &crate::error::Generic::timeout());
    response.head_mut().set_connection_type(ConnectionType::Close);
    response
}

/// Wraps the request body in the timeouts; a request that tripped them is answered 408 whatever
/// its handler made of the truncated body.
pub async fn bound_body_time(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, Holding>>, actix_web::Error> {
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    }
    let timeouts = req.app_data::<BodyTimeouts>().copied().unwrap_or(DEFAULT);
    let chunked = req.chunked().unwrap_or(false);
    let state = Rc::new(Shared {
        payload: RefCell::new(payload),
        tripped: Cell::new(false),
        finished: Cell::new(false),
    });
    req.set_payload(Payload::Stream {
        payload: Box::pin(Deadline {
            shared: state.clone(),
            timeouts,
            started: None,
            timer: None,
        }),
    });
    let response = match next.call(req).await {
        Ok(response) => response,
        Err(_) if state.tripped.get() => return Err(RequestTimedOut.into()),
        Err(e) => return Err(e),
    };
    if state.tripped.get() {
        let timed_out = request_timeout_response(response.request());
        let response = response.into_response(timed_out);
        return Ok(response.map_body(|_, body| EitherBody::right(Holding::new(body, state))));
    }
    if chunked && !state.finished.get() {
        return Ok(response.map_body(|_, body| EitherBody::right(Holding::new(body.boxed(), state))));
    }
    Ok(response.map_into_left_body())
}

const DEFAULT: BodyTimeouts = BodyTimeouts {
    idle: Duration::from_secs(5),
    total: Duration::from_secs(60),
};

/// What the middleware and the body stream it hands to the handler share.
struct Shared {
    /// actix's request body.
    payload: RefCell<Payload>,
    tripped: Cell<bool>,
    /// The whole body was received.
    finished: Cell<bool>,
}

/// A response body that keeps an unfinished request body alive until the answer is written.
///
/// actix-http (3.20) drains a *dropped*, unfinished chunked request body before it flushes the
/// answer, which never happens when the client has stalled: no answer, and the connection held
/// forever. Kept alive, the unread body makes actix close the connection after the answer instead,
/// as it already does for an unfinished `Content-Length` body.
pub struct Holding {
    body: BoxBody,
    _request_body: Rc<Shared>,
}

impl Holding {
    fn new(body: BoxBody, request_body: Rc<Shared>) -> Self {
        Holding {
            body,
            _request_body: request_body,
        }
    }
}

impl MessageBody for Holding {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

/// The request body with the timeouts applied.
struct Deadline {
    shared: Rc<Shared>,
    timeouts: BodyTimeouts,
    /// When the handler first asked for the body.
    started: Option<Instant>,
    /// Armed while waiting for the client; cleared whenever something arrives.
    timer: Option<Pin<Box<Sleep>>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.shared.tripped.get() {
            return Poll::Ready(Some(Err(timed_out())));
        }
        let started = *this.started.get_or_insert_with(Instant::now);
        let polled = Pin::new(&mut *this.shared.payload.borrow_mut()).poll_next(cx);
        if let Poll::Ready(item) = polled {
            this.timer = None;
            if item.is_none() {
                this.shared.finished.set(true);
            }
            return Poll::Ready(item);
        }
        let timeouts = this.timeouts;
        let timer = this.timer.get_or_insert_with(|| {
            let deadline = (Instant::now() + timeouts.idle).min(started + timeouts.total);
            Box::pin(sleep_until(deadline))
        });
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.shared.tripped.set(true);
                Poll::Ready(Some(Err(timed_out())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

fn timed_out() -> PayloadError {
    PayloadError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the client stopped sending the request body",
    ))
}
