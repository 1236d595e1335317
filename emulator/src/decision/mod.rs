//! The decision substrate: who a request's credential names ([`authn::authenticate`]), whether
//! RBAC allows what it asks ([`crate::domain::rbac::Rbac::decide`]), and the journal that records
//! one entry per request with the reason in words ([`journal::Journal`]). [`gate::Gate`] ties them
//! together for one request; every surface's dispatcher holds one.

pub mod authn;
pub mod gate;
pub mod journal;

pub use authn::{authenticate, AmlTarget, AuthnFailure, Credential, CredentialKind, Expectation, Principal};
pub use gate::{Denial, Gate};
pub use journal::{Journal, JournalEntry};
