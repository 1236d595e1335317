//! Signing-key rotation with overlap: a new key signs while the one it replaced stays published
//! until it is retired — for the authority's key (Entra tokens, the JWKS) and for a workspace's
//! Azure ML token key. Each is a database write first, then the in-memory key set swapped whole,
//! then the caches: retiring drops every cached verified token, so a token the retired key signed
//! is verified again, and fails, on its next request.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use std::sync::Arc;

use super::{ServiceError, ServiceResult};
use crate::authority::aml::{self, AmlToken, MintRequest};
use crate::authority::forge::SignWith;
use crate::authority::{KeySet, SigningKey};
use crate::domain::services::WorkspaceRef;
use crate::domain::World;
use crate::state::AppState;
use crate::store::{PastKey, StoreResult};

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

/// Mints an Azure ML token for a web service or online endpoint of `world` (blocking: the
/// workspace's key is made and stored on first use). Errors: the workspace or service is gone
/// ([`crate::authority::aml::MintError`]), or the store failed.
pub fn mint_aml_token(state: &AppState, world: &World, request: MintRequest) -> ServiceResult<AmlToken> {
    Ok(aml::mint(world, &state.aml_keys, &state.store, request)?)
}

/// The RS256 key a forged token is signed with (blocking: it may read the store or make the
/// unpublished key): the active key of the authority or of `ws`'s workspace, a retired one, or the
/// unpublished key. The error says what to do first (a retired key needs a rotation and a retirement).
pub fn forge_key(state: &AppState, o: SignWith, ws: Option<&WorkspaceRef>) -> Result<Arc<SigningKey>, String> {
    let workspace_id = ws.and_then(|w| {
        state
            .world()
            .workspace(w.subscription_id, &w.resource_group, &w.workspace)
            .map(|w| w.workspace_id)
    });
    match (o, workspace_id) {
        (SignWith::Unpublished, _) => state.unpublished_key().map_err(|e| e.to_string()),
        (SignWith::Retired, None) => retired(state.store.past_signing_keys()),
        (SignWith::Retired, Some(id)) => retired(
            state
                .store
                .past_workspace_keys()
                .map(|k| k.into_iter().filter(|p| p.workspace_id == Some(id)).collect()),
        ),
        (_, None) => Ok(state.keys().active.clone()),
        (_, Some(id)) => state
            .aml_keys
            .get_or_create(id, &state.store)
            .map_err(|e| e.to_string()),
    }
}

fn retired(keys: StoreResult<Vec<PastKey>>) -> Result<Arc<SigningKey>, String> {
    let past = keys.map_err(|e| e.to_string())?;
    let stored = past.into_iter().find(|p| p.retired.is_some()).ok_or(
        "no retired key: rotate (POST /_emulator/keys/rotate) and retire (POST /_emulator/keys/{kid}/retire) first",
    )?;
    SigningKey::from_stored(&stored.key)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}
