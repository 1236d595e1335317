//! # azureml-emulator
//!
//! An offline emulator of the Azure Machine Learning control plane's authentication: an Entra ID
//! (Azure AD) token authority, and the surfaces that will enforce its tokens, backed by SQLite.
//!
//! ## Layout
//!
//! - [`server`]: [`Emulator::start`] — storage, keys, TLS, world, and the HTTPS listener on its own
//!   thread; returns a [`Running`] handle. Used by `serve` and by the integration tests.
//! - [`http`]: the one route table ([`http::configure`]) and a module per surface (`aad`,
//!   `metadata`, `admin`). Handlers extract, call, render.
//! - [`authority`]: signing keys, JWKS, claims, grants. No HTTP types beyond the error it returns.
//! - [`domain`]: ids, the in-memory [`domain::World`] index, token audiences, secret hashing.
//! - [`store`]: SQLite (rusqlite, embedded migrations). The source of truth; the world index is
//!   rebuilt from it after every committed change.
//! - [`fixtures`]: world files (TOML); `fixtures/default.toml` is compiled in.
//! - [`clock`]: the one clock every issuer and validator reads.
//! - [`tls`]: the local CA and localhost certificate.
//! - [`error`]: each surface's error shape, rendered in one place.
//! - [`info`]: the ready file and `env` exports; [`cli`]: the command line.

pub mod authority;
pub mod cli;
pub mod client;
pub mod clock;
pub mod domain;
pub mod error;
pub mod fixtures;
pub mod http;
pub mod info;
pub mod server;
pub mod state;
pub mod store;
pub mod tls;

pub use server::{Config, Emulator, Running, StartError, Storage};
