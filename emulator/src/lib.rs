//! # azureml-emulator
//!
//! An offline emulator of the Azure Machine Learning control plane's authentication: an Entra ID
//! (Azure AD) token authority, ARM with enforced RBAC, the model-management API of SDK v1 web
//! services, SDK v2 online endpoints, and scoring with key, Azure ML token and Entra token auth,
//! backed by SQLite.
//!
//! ## Layout
//!
//! - [`server`]: [`Emulator::start`] — storage, keys, TLS, world, and the HTTPS listener on its own
//!   thread; returns a [`Running`] handle. Used by `serve` and by the integration tests.
//! - [`http`]: the one route table ([`http::configure`]) and a module per surface: `aad`
//!   (`discovery`, `token`; sign-in pages go beside them), `metadata`, `discovery`, `arm` (its
//!   permission table in `arm::route`), `mms`, `scoring`, `admin`. Handlers extract, authorize,
//!   call, render.
//! - [`authority`]: signing keys, JWKS, claims (app and user access tokens, id_token,
//!   client_info), grants (`grants/`: a dispatcher on `grant_type` and one file per grant — a new
//!   grant goes there — beside client authentication, tenant resolution and request parsing),
//!   grant state (codes, refresh tokens, device codes; SQLite, on the clock), token verification
//!   and its cache, Azure ML tokens. No HTTP types beyond the error it returns.
//! - [`domain`]: ids, ARM scopes, RBAC roles and decisions, services and endpoints, the in-memory
//!   [`domain::World`] index, token audiences, secret hashing.
//! - [`store`]: SQLite (rusqlite, embedded migrations). The source of truth; the world index is
//!   rebuilt from it (and the RBAC index updated) after every committed change.
//! - [`state`]: what every handler shares — no globals, so emulators run side by side.
//! - [`fixtures`]: world files (TOML); `fixtures/default.toml` is compiled in.
//! - [`clock`]: the one clock every issuer and validator reads.
//! - [`tls`]: the local CA and localhost certificate.
//! - [`datadir`]: the data dir's absolute path, owner-only modes and lock; [`connections`]: the
//!   connection cap derived from the descriptor limit.
//! - [`error`]: each surface's error shape, rendered in one place.
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
pub mod fixtures;
pub mod http;
pub mod info;
pub mod origins;
pub mod server;
pub mod service;
pub mod state;
pub mod store;
pub mod tls;

pub use server::{Config, Emulator, Running, StartError, Storage};
