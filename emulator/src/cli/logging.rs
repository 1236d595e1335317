//! Log setup for the binary: `RUST_LOG` when set, else warnings plus the emulator's own info lines,
//! on stderr, in colour only when stderr is a terminal (and `NO_COLOR` is unset).
//!
//! Clients cannot fill the log: a malformed request, a reset connection or a client that sends an
//! IP address as TLS SNI is the client's fault, not the emulator's, so those lines are hidden unless
//! asked for (`RUST_LOG=actix_http=debug`, `RUST_LOG=rustls=warn`).

use std::fmt;
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Metadata};
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The filter when `RUST_LOG` is unset. rustls warns once per client that sends an IP address as
/// SNI (Python's ssl does, for `https://127.0.0.1`): not worth a line per connection.
pub const DEFAULT_FILTER: &str = "warn,rustls=error,azureml_emulator=info";

/// Installs the subscriber; a second call (tests) is a no-op.
pub fn init() {
    let from_env = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty());
    let filter = from_env
        .as_deref()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let show_client_faults = filter.max_level_hint().is_some_and(|l| l >= LevelFilter::DEBUG);
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_filter(ClientFaults {
            show: show_client_faults,
        });
    let _ = tracing_subscriber::registry().with(filter).with(layer).try_init();
}

/// Hides actix-http's per-connection `stream error: …` lines, which it logs at ERROR for every
/// malformed request, oversized head, or connection the client dropped — all client faults.
struct ClientFaults {
    /// With debug logging asked for, they are shown after all.
    show: bool,
}

const DISPATCHER: &str = "actix_http::h1::dispatcher";

impl<S> Filter<S> for ClientFaults {
    fn enabled(&self, _: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        let meta = event.metadata();
        if self.show || *meta.level() != Level::ERROR || meta.target() != DISPATCHER {
            return true;
        }
        let mut message = MessageStart::default();
        event.record(&mut message);
        !message.0.starts_with("stream error")
    }
}

/// The start of an event's `message` field.
#[derive(Default)]
struct MessageStart(String);

impl Visit for MessageStart {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        }
    }
}
