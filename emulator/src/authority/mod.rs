//! The token authority: signing keys, JWKS, access-token claims and the grants that issue them.
//! Pure functions plus keys; the HTTP layer (`http::aad`) calls in here.

pub mod aml;
pub mod claims;
pub mod grants;
pub mod jwt;
pub mod keys;
pub mod verify;

pub use keys::{KeyError, KeySet, SigningKey};
