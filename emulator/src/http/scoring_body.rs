//! Scoring request bodies within one memory budget per emulator.
//!
//! A scoring body may be up to [`MAX_SCORING_BODY`] (16 MiB), and echo scoring sends it back. Read
//! naively, every concurrent request holds its body, a growing buffer and a copy for the answer, so
//! 24 parallel 16 MiB requests took the server past 500 MB. Here:
//!
//! - a request reserves its declared `Content-Length` (the maximum when chunked) from a budget of
//!   [`BUDGET`] bytes before reading anything; when the budget is spent it waits, and after
//!   [`WAIT`] it is refused with 503 and `Retry-After` in the scoring error shape ([`ScoringError`]).
//!   Bodies not yet read stay in the client's socket, not in our memory;
//! - the body is read into one buffer of its declared size (no regrowth);
//! - echo answers with that same buffer, written out in slices (no copy, and no second 16 MiB in
//!   actix's write buffer), and the reservation is released only once the answer is sent.
//!
//! So scoring bodies occupy at most [`BUDGET`] bytes at any moment, however many clients send them.

use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, RETRY_AFTER, TRANSFER_ENCODING};
use actix_web::http::StatusCode;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_core::future::LocalBoxFuture;
use futures_core::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ScoringError;

/// The largest scoring body accepted; larger is 413.
pub const MAX_SCORING_BODY: usize = 16 * 1024 * 1024;
/// Scoring body bytes held at once, per emulator: four bodies of the maximum size.
pub const BUDGET: usize = 4 * MAX_SCORING_BODY;
/// How long a request waits for room in the budget before 503. Longer than the default body
/// timeout, so clients that stall their bodies cannot make others fail: they are cut first.
pub const WAIT: Duration = Duration::from_secs(10);
/// Echo answers are handed to actix this much at a time.
const SLICE: usize = 64 * 1024;

/// The budget, shared by the workers of one emulator (app data).
#[derive(Clone, Debug)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    wait: Duration,
}

impl BodyBudget {
    /// `bytes` held at once; a request waits up to `wait` for room.
    pub fn new(bytes: usize, wait: Duration) -> Self {
        BodyBudget {
            bytes: Arc::new(Semaphore::new(bytes)),
            wait,
        }
    }

    /// Bytes not reserved right now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

impl Default for BodyBudget {
    fn default() -> Self {
        Self::new(BUDGET, WAIT)
    }
}

/// A scoring request's body, read within the budget. Derefs to the bytes.
pub struct ScoringBody(Arc<Held>);

struct Held {
    bytes: Bytes,
    _reserved: Option<OwnedSemaphorePermit>,
}

impl Deref for ScoringBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0.bytes
    }
}

impl ScoringBody {
    /// The body as a response body: the same bytes, no copy; the reservation lasts until it is sent.
    pub fn echo(&self) -> Echo {
        Echo {
            held: self.0.clone(),
            sent: 0,
        }
    }
}

/// Why a scoring body was not read. Rendered in the scoring error shape.
#[derive(Debug, thiserror::Error)]
pub enum BodyRefused {
    #[error("The request body is larger than the 16 MiB scoring limit.")]
    TooLarge,
    #[error("The emulator is holding its limit of scoring request bodies in memory; retry shortly.")]
    Busy,
    #[error("The request body could not be read: {0}")]
    Unreadable(String),
}

impl ResponseError for BodyRefused {
    fn status_code(&self) -> StatusCode {
        match self {
            BodyRefused::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyRefused::Busy => StatusCode::SERVICE_UNAVAILABLE,
            BodyRefused::Unreadable(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = ScoringError::new(self.status_code().as_u16(), self.to_string()).error_response();
        if matches!(self, BodyRefused::Busy) {
            response
                .headers_mut()
                .insert(RETRY_AFTER, actix_web::http::header::HeaderValue::from_static("1"));
        }
        response
    }
}

/// `bytes` of the memory budget, waiting at most the budget's wait for room (then `Busy`).
async fn reserve(budget: &BodyBudget, bytes: usize) -> Result<tokio::sync::OwnedSemaphorePermit, BodyRefused> {
    let permits = u32::try_from(bytes).map_err(|_| BodyRefused::TooLarge)?;
    // Room at once is the usual case: no timer for it.
    if let Ok(permit) = budget.bytes.clone().try_acquire_many_owned(permits) {
        return Ok(permit);
    }
    let acquire = budget.bytes.clone().acquire_many_owned(permits);
    match tokio::time::timeout(budget.wait, acquire).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(BodyRefused::Busy),
    }
}

impl FromRequest for ScoringBody {
    type Error = BodyRefused;
    type Future = LocalBoxFuture<'static, Result<Self, BodyRefused>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared = declared_length(req);
        let budget = req.app_data::<BodyBudget>().cloned().unwrap_or_default();
        let mut payload = payload.take();
        Box::pin(async move {
            let expected = match declared {
                Declared::None => 0,
                Declared::Length(n) if n > MAX_SCORING_BODY => return Err(BodyRefused::TooLarge),
                Declared::Length(n) => n,
                Declared::Chunked => MAX_SCORING_BODY,
            };
            let mut reserved = if expected == 0 {
                None
            } else {
                Some(reserve(&budget, expected).await?)
            };
            let mut buf = BytesMut::with_capacity(expected);
            while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
                let chunk = chunk.map_err(|e| BodyRefused::Unreadable(e.to_string()))?;
                if buf.len() + chunk.len() > expected {
                    return Err(BodyRefused::TooLarge);
                }
                buf.extend_from_slice(&chunk);
            }
            // A chunked body reserved the maximum: give back what it did not use.
            if let Some(permit) = reserved.as_mut() {
                drop(permit.split(permit.num_permits().saturating_sub(buf.len())));
            }
            Ok(ScoringBody(Arc::new(Held {
                bytes: buf.freeze(),
                _reserved: reserved,
            })))
        })
    }
}

enum Declared {
    None,
    Length(usize),
    Chunked,
}

fn declared_length(req: &HttpRequest) -> Declared {
    let headers = req.headers();
    if headers
        .get(TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        return Declared::Chunked;
    }
    match headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()) {
        // actix has already refused a malformed length; a huge one is simply too large.
        Some(v) => Declared::Length(v.trim().parse().unwrap_or(usize::MAX)),
        None => Declared::None,
    }
}

/// An echo response body: the request's bytes, handed out a slice at a time.
pub struct Echo {
    held: Arc<Held>,
    sent: usize,
}

impl MessageBody for Echo {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.held.bytes.len() as u64)
    }

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        let len = this.held.bytes.len();
        if this.sent >= len {
            return Poll::Ready(None);
        }
        let end = (this.sent + SLICE).min(len);
        let slice = this.held.bytes.slice(this.sent..end);
        this.sent = end;
        Poll::Ready(Some(Ok(slice)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn body(req: TestRequest, bytes: &'static [u8], budget: &BodyBudget) -> Result<ScoringBody, BodyRefused> {
        let req = req.app_data(budget.clone());
        // An empty payload would also set `Content-Length: 0`.
        let req = if bytes.is_empty() { req } else { req.set_payload(bytes) };
        let (req, mut payload) = req.to_http_parts();
        actix_web::rt::System::new().block_on(ScoringBody::from_request(&req, &mut payload))
    }

    #[test]
    fn the_reservation_lasts_until_the_echo_is_dropped() {
        let budget = BodyBudget::new(100, WAIT);
        let b = body(TestRequest::post(), b"{\"a\": 1}", &budget).unwrap();
        assert_eq!(&*b, b"{\"a\": 1}");
        assert_eq!(budget.available(), 92);
        let echo = b.echo();
        drop(b);
        assert_eq!(budget.available(), 92, "still held by the answer");
        assert_eq!(echo.size(), BodySize::Sized(8));
        drop(echo);
        assert_eq!(budget.available(), 100);
    }

    #[test]
    fn a_request_that_finds_no_room_waits_then_gets_503_in_the_scoring_shape() {
        let budget = BodyBudget::new(100, Duration::from_millis(50));
        let first = body(TestRequest::post(), &[b'1'; 100], &budget).unwrap();
        assert_eq!(budget.available(), 0);
        let err = body(TestRequest::post(), b"2", &budget).err().unwrap();
        assert_eq!(err.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let response = err.error_response();
        assert_eq!(response.headers().get(RETRY_AFTER).unwrap(), "1");
        drop(first);
        assert_eq!(&*body(TestRequest::post(), b"2", &budget).unwrap(), b"2", "room again");
    }

    #[test]
    fn a_body_larger_than_the_limit_is_413_before_reading() {
        let budget = BodyBudget::new(100, WAIT);
        let req = TestRequest::post().insert_header((CONTENT_LENGTH, (MAX_SCORING_BODY + 1).to_string()));
        let err = body(req, b"", &budget).err().unwrap();
        assert_eq!(err.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(budget.available(), 100);
    }

    #[test]
    fn echo_hands_out_slices_of_the_same_bytes() {
        static BIG: [u8; 150_000] = [b'x'; 150_000];
        let budget = BodyBudget::default();
        let b = body(TestRequest::post(), &BIG, &budget).unwrap();
        let mut echo = b.echo();
        let mut total = 0;
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        while let Poll::Ready(Some(Ok(chunk))) = Pin::new(&mut echo).poll_next(&mut cx) {
            assert!(chunk.len() <= SLICE);
            assert_eq!(chunk.as_ptr(), b[total..].as_ptr(), "a view, not a copy");
            total += chunk.len();
        }
        assert_eq!(total, BIG.len());
    }
}
