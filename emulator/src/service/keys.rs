//! Signing-key rotation with overlap: a new key signs while the one it replaced stays published
//! until it is retired — for the authority's key (Entra tokens, the JWKS) and for a workspace's
//! Azure ML token key. Each is a database write first, then the in-memory key set swapped whole,
//! then the caches: retiring drops every cached verified token, so a token the retired key signed
//! is verified again, and fails, on its next request.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::{ServiceError, ServiceResult};
use crate::authority::{KeySet, SigningKey};
use crate::state::AppState;

/// What a rotation did.
#[derive(Clone, Debug, Serialize)]
pub struct Rotated {
    /// The key that signs from now on.
    pub kid: String,
    /// The key it replaced (still published until retired).
    pub previous: Option<String>,
    /// `authority`, or the workspace's name.
    pub target: String,
}

/// What a retirement did.
#[derive(Clone, Debug, Serialize)]
pub struct Retired {
    pub kid: String,
    /// `authority`, or the workspace's id.
    pub target: String,
    pub retired: String,
}

/// Why a key could not be retired.
#[derive(Debug, thiserror::Error)]
pub enum RetireError {
    #[error("no published key has kid '{0}'")]
    Unknown(String),
    #[error("key '{0}' signs tokens now: rotate to a new key before retiring it")]
    Active(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

fn now(state: &AppState) -> String {
    state.clock.now().format(&Rfc3339).unwrap_or_default()
}

/// A new authority key signs; the current one stays published. Blocking (key generation).
pub fn rotate_authority(state: &AppState) -> ServiceResult<Rotated> {
    let generated = SigningKey::generate().map_err(|e| ServiceError::Canceled(e.to_string()))?;
    let key = SigningKey::from_stored(&generated).map_err(|e| ServiceError::Canceled(e.to_string()))?;
    let w = state.writer();
    w.store().rotate_signing_key(&generated, &now(state))?;
    let current = state.keys();
    let mut published = vec![current.active.clone()];
    published.extend(current.published.iter().cloned());
    state.publish_keys(KeySet {
        active: std::sync::Arc::new(key),
        published,
        retired: current.retired.clone(),
    });
    Ok(Rotated {
        kid: generated.kid,
        previous: Some(current.active.kid.clone()),
        target: "authority".into(),
    })
}

/// A new key signs the workspace's Azure ML tokens; the current one keeps verifying. Blocking.
pub fn rotate_workspace(state: &AppState, workspace: &crate::domain::world::Workspace) -> ServiceResult<Rotated> {
    let _w = state.writer();
    let (kid, previous) = state
        .aml_keys
        .rotate(workspace.workspace_id, &state.store, &now(state))?;
    Ok(Rotated {
        kid,
        previous,
        target: workspace.name.clone(),
    })
}

/// Retires a key a rotation replaced — the authority's or a workspace's: it leaves the JWKS (or
/// the workspace's verifying keys), and the token caches are dropped.
pub fn retire(state: &AppState, kid: &str) -> Result<Retired, RetireError> {
    let w = state.writer();
    let at = now(state);
    let current = state.keys();
    if current.active.kid == kid || state.aml_keys.is_active(kid) {
        return Err(RetireError::Active(kid.to_string()));
    }
    if current.published.iter().any(|k| k.kid == kid) {
        if !w.store().retire_signing_key(kid, &at).map_err(ServiceError::from)? {
            return Err(RetireError::Unknown(kid.to_string()));
        }
        let mut retired = current.retired.clone();
        retired.push((kid.to_string(), at.clone()));
        state.publish_keys(KeySet {
            active: current.active.clone(),
            published: current.published.iter().filter(|k| k.kid != kid).cloned().collect(),
            retired,
        });
        state.tokens.clear();
        return Ok(Retired {
            kid: kid.to_string(),
            target: "authority".into(),
            retired: at,
        });
    }
    match state
        .aml_keys
        .retire(kid, &state.store, &at)
        .map_err(ServiceError::from)?
    {
        Some(workspace) => {
            state.aml_tokens.clear();
            Ok(Retired {
                kid: kid.to_string(),
                target: workspace.to_string(),
                retired: at,
            })
        }
        None => Err(RetireError::Unknown(kid.to_string())),
    }
}
