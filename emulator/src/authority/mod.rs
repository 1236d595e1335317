//! The token authority: signing keys, JWKS, token claims, the grants that issue tokens and the
//! grant state (codes, refresh tokens, device codes) they keep between requests.
//! Pure functions plus keys, and grant state over the store; the HTTP layer (`http::aad`) calls in
//! here.

pub mod aml;
pub mod assertion;
pub mod cae;
pub mod claims;
pub mod forge;
pub mod grant_state;
pub mod grants;
pub mod issuers;
pub mod jwt;
pub mod keys;
pub mod managed_identity;
pub mod sessions;
pub mod verify;

pub use keys::{KeyError, KeySet, SigningKey};
