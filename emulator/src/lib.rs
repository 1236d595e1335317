//! # azureml-emulator
//!
//! An offline emulator of the Azure Machine Learning control plane's authentication: an Entra ID
//! (Azure AD) token authority, ARM with enforced RBAC, the model-management API of SDK v1 web
//! services, SDK v2 online endpoints, and scoring with key, Azure ML token and Entra token auth,
//! backed by SQLite.
//!
//! ## Layout
//!
//! Top to bottom: `http` (handlers: extract → authorize → call a service → render) → the surface
//! middleware and the decision substrate → `service` (every write) → `authority` and `store` →
//! `domain` (plain data, no actix, no SQL).
//!
//! - [`server`]: [`Emulator::start`] — storage, keys, TLS, world, and the HTTPS listener on its own
//!   thread; returns a [`Running`] handle. Used by `serve` and by the integration tests.
//! - [`http`]: the one route table ([`http::configure`]) and a module per surface: `aad`
//!   (`discovery`, `token`, `authorize` and `devicecode` with their HTML pages, `userrealm`), `metadata`, `discovery`, `arm`,
//!   `model_management`, `scoring`, `admin` (the control API). Surfaces never import each other:
//!   a wire shape two of them answer with is in [`http::shapes`], URLs in [`http::urls`].
//!   [`http::surface`] is the one
//!   middleware: it resolves the [`http::surface::Surface`] of every request, gives it its id and
//!   tracing span, and renders framework errors in the surface's shape — a new cross-cutting
//!   behaviour (faults, latency, proxy routing) attaches there. A new **surface** is a `Surface`
//!   variant, its error type in [`error`], and its routes.
//!   - A new **ARM resource type**: a `Target` variant and its `ACTIONS` rows in `http/arm/route.rs`,
//!     its api-versions in `http/arm/versions.rs`, a file of handlers in `http/arm/`, and its arms
//!     in `http/arm/mod.rs` `call()`.
//!   - A new **scoring auth mode**: an [`decision::Expectation`] (or a variant of it) in
//!     `decision/authn.rs`, chosen by `http/scoring.rs`.
//! - [`decision`]: who a credential names ([`decision::authenticate`], one function for ARM, model
//!   management and scoring — expiry, issuer, tenant, lifetime, whole-token cache), the per-request
//!   [`decision::Gate`] (RBAC checks through [`domain::rbac::Rbac::decide`] for the principal and
//!   every group it belongs to, nested ones too: `Gate::subjects`), and the [`decision::Journal`] (one entry per request, with its reason). A new
//!   **failure mode** of authentication is an [`decision::AuthnFailure`] variant, rendered by each
//!   surface's error type.
//! - [`service`]: every write — store (one transaction or single-row statement), then the changed
//!   part of the in-memory world, then caches — under one writer, run off the async workers with
//!   [`service::blocking`].
//! - [`authority`]: signing keys, JWKS, claims (app and user access tokens, id_token,
//!   client_info), grants (`grants/`: a dispatcher on `grant_type` and one file per grant — a new
//!   **grant** goes there — beside client authentication, tenant resolution and request parsing),
//!   grant state (codes, refresh tokens, device codes; SQLite, on the clock), the sign-in page's
//!   sessions (`sessions`, in memory), token verification
//!   and its cache, Azure ML tokens (per-workspace keys, minting). No HTTP types beyond the error
//!   it returns.
//! - [`domain`]: ids, ARM scopes, RBAC roles, assignments and decisions, services and endpoints,
//!   the in-memory [`domain::World`] (copy-on-write parts), token audiences, secret hashing, the
//!   [`domain::seed::Seed`] a world is stored from.
//! - [`store`]: SQLite (rusqlite, embedded migrations), SQL only here, domain types in and out. The
//!   source of truth; the world index is built from it at start.
//! - [`state`]: what every handler shares — no globals, so emulators run side by side.
//! - [`origins`]: the configured origins — every URL minted and every "this emulator" audience
//!   comes from there, never from the request's Host.
//! - [`fixtures`]: world files (TOML), validated and turned into a seed; `fixtures/default.toml` is
//!   compiled in and its ids are named in [`fixtures::defaults`].
//! - [`clock`]: the one clock every issuer and validator reads.
//! - [`tls`]: the local CA and localhost certificate.
//! - [`datadir`]: the data dir's absolute path, owner-only modes and lock; [`connections`]: the
//!   connection cap derived from the descriptor limit.
//! - [`error`]: each surface's error shape, rendered in one place.
//! - [`faults`]: fault rules with Azure's semantics (throttling, 5xx, refused credentials, unknown
//!   `kid`, claims challenges, latency, resets), evaluated once per request by a middleware inside
//!   the surface middleware; [`settings`]: propagation delay, lifetime jitter, region latency.
//! - [`info`]: the ready file and `env` exports; [`client`]: the control-API client of CLI verbs;
//!   [`cli`]: the command line.

pub mod authority;
pub mod cli;
pub mod client;
pub mod clock;
pub mod connections;
pub mod datadir;
pub mod decision;
pub mod domain;
pub mod error;
pub mod faults;
pub mod fixtures;
pub mod http;
pub mod info;
pub mod origins;
#[cfg(test)]
mod proptests;
pub mod server;
pub mod service;
pub mod settings;
pub mod state;
pub mod store;
pub mod tls;

pub use server::{Config, Emulator, Running, StartError, Storage};
