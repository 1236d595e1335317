//! Azure ML tokens: what `POST …/services/{name}/token` (SDK v1) and `POST …/onlineEndpoints/{name}/token`
//! (SDK v2, AMLToken mode) hand out, and what scoring accepts in their place of a key.
//!
//! Their real format is not documented; the emulator mints RS256 JWTs signed with a key of the
//! workspace (generated on first use, persisted), issued by the workspace's region and addressed to
//! one service or endpoint, so a token for service A does not open service B.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::jwt;
use super::keys::{KeyError, SigningKey};
use crate::domain::services::WorkspaceRef;
use crate::domain::world::Workspace;
use crate::domain::World;
use crate::store::{Store, StoreError};

/// The workspaces' Azure ML token keys: loaded at start, generated and persisted on a workspace's
/// first token (RSA generation is slow: callers run [`WorkspaceKeys::get_or_create`] off the
/// async workers), looked up by `kid` when scoring verifies a token.
pub struct WorkspaceKeys {
    by_workspace: Mutex<HashMap<Uuid, Arc<SigningKey>>>,
    by_kid: RwLock<HashMap<String, Arc<SigningKey>>>,
    /// Keys a rotation replaced that still verify: kid → workspace.
    past: RwLock<HashMap<String, Uuid>>,
    /// Retired keys: kid → when (RFC 3339), for the journal's reason.
    retired: RwLock<HashMap<String, String>>,
}

/// One workspace's Azure ML token keys, as `GET /_emulator/keys` lists them.
#[derive(Clone, Debug, Serialize)]
pub struct WorkspaceKeyView {
    pub workspace_id: Uuid,
    /// The key that signs.
    pub active: String,
    /// Keys a rotation replaced that still verify, newest first.
    pub published: Vec<String>,
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the workspace or its subscription no longer exists")]
    Gone,
}

impl WorkspaceKeys {
    pub fn load(store: &Store) -> Result<Self, MintError> {
        let mut by_workspace = HashMap::new();
        let mut by_kid = HashMap::new();
        for (workspace, stored) in store.workspace_keys()? {
            let key = Arc::new(SigningKey::from_stored(&stored)?);
            by_kid.insert(key.kid.clone(), key.clone());
            by_workspace.insert(workspace, key);
        }
        let (mut past, mut retired) = (HashMap::new(), HashMap::new());
        for p in store.past_workspace_keys()? {
            match p.retired {
                Some(at) => {
                    retired.insert(p.key.kid, at);
                }
                None => {
                    let key = Arc::new(SigningKey::from_stored(&p.key)?);
                    past.insert(key.kid.clone(), p.workspace_id.unwrap_or_default());
                    by_kid.insert(key.kid.clone(), key);
                }
            }
        }
        Ok(WorkspaceKeys {
            by_workspace: Mutex::new(by_workspace),
            by_kid: RwLock::new(by_kid),
            past: RwLock::new(past),
            retired: RwLock::new(retired),
        })
    }

    /// The key that verifies tokens with this `kid`.
    pub fn by_kid(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.by_kid.read().unwrap_or_else(|e| e.into_inner()).get(kid).cloned()
    }

    /// The workspace's key, generated and persisted on first use. Blocking.
    pub fn get_or_create(&self, workspace_id: Uuid, store: &Store) -> Result<Arc<SigningKey>, MintError> {
        let mut keys = self.by_workspace.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = keys.get(&workspace_id) {
            return Ok(k.clone());
        }
        let generated = SigningKey::generate()?;
        store.insert_workspace_key(workspace_id, &generated)?;
        // Another emulator on the same data dir may have won the race: use what is stored.
        let stored = store.workspace_key(workspace_id)?.unwrap_or(generated);
        let key = Arc::new(SigningKey::from_stored(&stored)?);
        self.by_kid
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.kid.clone(), key.clone());
        keys.insert(workspace_id, key.clone());
        Ok(key)
    }
}

impl WorkspaceKeys {
    /// A new key signs the workspace's tokens; the one it replaces keeps verifying until retired.
    /// Answers (new kid, replaced kid). Blocking (key generation, SQLite); callers hold the
    /// service layer's writer.
    pub fn rotate(&self, workspace_id: Uuid, store: &Store, at: &str) -> Result<(String, Option<String>), MintError> {
        let mut keys = self.by_workspace.lock().unwrap_or_else(|e| e.into_inner());
        let Some(old) = keys.get(&workspace_id).cloned() else {
            drop(keys);
            let key = self.get_or_create(workspace_id, store)?;
            return Ok((key.kid.clone(), None));
        };
        let generated = SigningKey::generate()?;
        store.rotate_workspace_key(workspace_id, &generated, at)?;
        let key = Arc::new(SigningKey::from_stored(&generated)?);
        self.by_kid
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.kid.clone(), key.clone());
        self.past
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(old.kid.clone(), workspace_id);
        keys.insert(workspace_id, key.clone());
        Ok((key.kid.clone(), Some(old.kid.clone())))
    }

    /// Retires a key a rotation replaced: tokens it signed no longer verify. Answers its
    /// workspace; none when `kid` is no such key (an active key cannot be retired).
    pub fn retire(&self, kid: &str, store: &Store, at: &str) -> Result<Option<Uuid>, MintError> {
        let Some(workspace) = self.past.read().unwrap_or_else(|e| e.into_inner()).get(kid).copied() else {
            return Ok(None);
        };
        store.retire_workspace_key(kid, at)?;
        self.past.write().unwrap_or_else(|e| e.into_inner()).remove(kid);
        self.by_kid.write().unwrap_or_else(|e| e.into_inner()).remove(kid);
        self.retired
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kid.to_string(), at.to_string());
        Ok(Some(workspace))
    }

    /// When `kid` was retired, if it was a workspace key that was.
    pub fn retired_at(&self, kid: &str) -> Option<String> {
        self.retired.read().unwrap_or_else(|e| e.into_inner()).get(kid).cloned()
    }

    /// Whether `kid` is the active key of some workspace.
    pub fn is_active(&self, kid: &str) -> bool {
        self.by_workspace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .any(|k| k.kid == kid)
    }

    /// The active key of a workspace, if it has one yet.
    pub fn active(&self, workspace_id: Uuid) -> Option<Arc<SigningKey>> {
        self.by_workspace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&workspace_id)
            .cloned()
    }

    /// Every workspace's keys.
    pub fn list(&self) -> Vec<WorkspaceKeyView> {
        let past = self.past.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<WorkspaceKeyView> = self
            .by_workspace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(ws, k)| WorkspaceKeyView {
                workspace_id: *ws,
                active: k.kid.clone(),
                published: past
                    .iter()
                    .filter(|(_, w)| *w == ws)
                    .map(|(kid, _)| kid.clone())
                    .collect(),
            })
            .collect();
        out.sort_by_key(|v| v.workspace_id);
        out
    }
}

/// What to mint an Azure ML token for.
pub struct MintRequest {
    pub workspace: WorkspaceRef,
    /// See [`service_audience`] and [`endpoint_audience`].
    pub audience: String,
    /// The service or endpoint instance.
    pub instance: Uuid,
    /// Its own lifetime setting, if any.
    pub lifetime: Option<u32>,
    /// The caller's object id (none when the control API asks).
    pub caller: Option<String>,
    pub now: i64,
}

/// Mints a token with the workspace's key (generated on first use: blocking), issued by the
/// workspace's region for its tenant.
pub fn mint(world: &World, keys: &WorkspaceKeys, store: &Store, req: MintRequest) -> Result<AmlToken, MintError> {
    let ws: &Workspace = world
        .workspace(
            req.workspace.subscription_id,
            &req.workspace.resource_group,
            &req.workspace.workspace,
        )
        .ok_or(MintError::Gone)?;
    let tenant = world
        .subscription(ws.subscription_id)
        .map(|s| s.tenant_id.to_string())
        .ok_or(MintError::Gone)?;
    let key = keys.get_or_create(ws.workspace_id, store)?;
    Ok(issue(
        &key,
        Issue {
            region: &ws.location,
            audience: req.audience,
            instance: req.instance,
            caller: req.caller,
            tenant,
            now: req.now,
            lifetime: req.lifetime.map_or(DEFAULT_LIFETIME_SECONDS, i64::from),
        },
    ))
}

/// Lifetime when neither the service nor the endpoint sets one (about an hour, like Azure's).
pub const DEFAULT_LIFETIME_SECONDS: i64 = 3600;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AmlClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The id of the service or endpoint instance: a deleted and re-created one of the same name
    /// does not accept tokens of its predecessor.
    pub sid: uuid::Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
}

/// A minted token with the times the service APIs report.
#[derive(Debug)]
pub struct AmlToken {
    pub token: String,
    pub expires_on: i64,
    /// When a client should fetch a new one: half-way through the lifetime.
    pub refresh_after: i64,
}

/// The audience of a v1 service's tokens.
pub fn service_audience(ws: &WorkspaceRef, name: &str) -> String {
    format!("{}/services/{}", ws.arm_id(), name).to_ascii_lowercase()
}

/// The audience of an online endpoint's tokens.
pub fn endpoint_audience(ws: &WorkspaceRef, name: &str) -> String {
    format!("{}/onlineEndpoints/{}", ws.arm_id(), name).to_ascii_lowercase()
}

/// Whether `aud` is the audience of the service (`kind` "services") or endpoint ("onlineEndpoints")
/// `name` in `ws`: the same comparison as against [`service_audience`] / [`endpoint_audience`],
/// without building the string on every scoring request.
pub fn audience_is(aud: &str, ws: &WorkspaceRef, kind: &str, name: &str) -> bool {
    let mut parts = aud.split('/');
    next_eq(&mut parts, "")
        && next_eq(&mut parts, "subscriptions")
        && parts_next_is_guid(&mut parts, ws.subscription_id.0)
        && next_eq(&mut parts, "resourcegroups")
        && next_eq(&mut parts, &ws.resource_group)
        && next_eq(&mut parts, "providers")
        && next_eq(&mut parts, "microsoft.machinelearningservices")
        && next_eq(&mut parts, "workspaces")
        && next_eq(&mut parts, &ws.workspace)
        && next_eq(&mut parts, kind)
        && next_eq(&mut parts, name)
        && parts.next().is_none()
}

fn next_eq<'a>(parts: &mut impl Iterator<Item = &'a str>, expected: &str) -> bool {
    parts.next().is_some_and(|p| p.eq_ignore_ascii_case(expected))
}

fn parts_next_is_guid<'a>(parts: &mut impl Iterator<Item = &'a str>, expected: uuid::Uuid) -> bool {
    parts.next().and_then(|p| uuid::Uuid::parse_str(p).ok()) == Some(expected)
}

pub fn issuer(region: &str) -> String {
    format!("https://{}.api.azureml.ms", region.to_ascii_lowercase())
}

pub struct Issue<'a> {
    pub region: &'a str,
    pub audience: String,
    pub instance: uuid::Uuid,
    pub caller: Option<String>,
    /// The workspace's tenant.
    pub tenant: String,
    pub now: i64,
    pub lifetime: i64,
}

pub fn issue(key: &SigningKey, i: Issue<'_>) -> AmlToken {
    let claims = AmlClaims {
        iss: issuer(i.region),
        aud: i.audience,
        iat: i.now,
        nbf: i.now,
        exp: i.now + i.lifetime,
        jti: uuid::Uuid::new_v4().to_string(),
        sid: i.instance,
        oid: i.caller,
        tid: Some(i.tenant),
    };
    AmlToken {
        token: jwt::encode(key, false, &claims),
        expires_on: claims.exp,
        refresh_after: i.now + i.lifetime / 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_comparison_matches_the_built_string() {
        let ws = WorkspaceRef {
            subscription_id: "0b1f6471-1bf0-4dda-aec3-cb9272f09590".parse().unwrap(),
            resource_group: "ml-example-rg".into(),
            workspace: "ml-example".into(),
        };
        let aud = service_audience(&ws, "aks-service-1");
        assert!(audience_is(&aud, &ws, "services", "aks-service-1"));
        assert!(audience_is(&aud.to_uppercase(), &ws, "services", "AKS-service-1"));
        assert!(!audience_is(&aud, &ws, "services", "aks-service-2"));
        assert!(!audience_is(&aud, &ws, "onlineEndpoints", "aks-service-1"));
        assert!(!audience_is(&format!("{aud}/x"), &ws, "services", "aks-service-1"));
        assert!(audience_is(&endpoint_audience(&ws, "ep"), &ws, "onlineEndpoints", "ep"));
    }
}
