//! Azure ML tokens: what `POST …/services/{name}/token` (SDK v1) and `POST …/onlineEndpoints/{name}/token`
//! (SDK v2, AMLToken mode) hand out, and what scoring accepts in their place of a key.
//!
//! Their format follows the one real token on record (Azure/azure-powershell
//! `src/MachineLearningServices/test/Get-AzMLWorkspaceOnlineEndpointToken.Recording.json`, 2022-05-01):
//! header `{"alg":"RS256","kid":<40 hex>,"typ":"JWT"}`; claims `canRefresh` ("False"),
//! `workspaceId`, `tid`, `oid`, `actions` (a JSON array as a string), `endpointName`, `serviceId`,
//! `exp`, `iss` and `aud` both `"azureml"`, and no `iat`/`nbf`. The emulator signs them with a key of
//! the workspace (generated on first use, persisted); scoring accepts a token only for the
//! workspace, name, instance (`serviceId`) and score action it names, so a token for service A does
//! not open service B, nor a re-created A.
//!
//! Lifetime: 24 h, refresh after 12 h, exactly (the same recording: `expiryTimeUtc` = Date +
//! 86,400 s, `refreshAfterTimeUtc` = Date + 43,200 s). SDK v1 service tokens (`POST
//! …/services/{name}/token`): no public answer shows their lifetime or claims. The emulator gives
//! them the same shape and lifetime, by choice: the recorded token's `serviceId` claim names the
//! same kind of id v1 services have, which suggests one token service for both (see README).

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

    /// The `kid` of the workspace's key, if it has one yet.
    pub fn kid_of(&self, workspace_id: Uuid) -> Option<String> {
        let keys = self.by_workspace.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(&workspace_id).map(|k| k.kid.clone())
    }

    /// Whether `kid` is a key of the workspace: its active key, or one a rotation replaced and
    /// that is not retired yet (the overlap).
    pub fn belongs_to(&self, kid: &str, workspace_id: Uuid) -> bool {
        self.kid_of(workspace_id).as_deref() == Some(kid)
            || self.past.read().unwrap_or_else(|e| e.into_inner()).get(kid) == Some(&workspace_id)
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

/// What an Azure ML token opens: an SDK v1 web service or an SDK v2 online endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scorable {
    Service,
    Endpoint,
}

impl Scorable {
    /// A bit of its own, for [`Actions`].
    fn bit(self) -> u8 {
        match self {
            Scorable::Service => 1,
            Scorable::Endpoint => 2,
        }
    }

    /// The action the token's `actions` claim grants: the recorded endpoint token's, and for
    /// services the AKS score action of Azure's operation list (an inference: no v1 token is on record).
    pub fn score_action(self) -> &'static str {
        match self {
            Scorable::Service => "Microsoft.MachineLearningServices/workspaces/services/aks/score/action",
            Scorable::Endpoint => "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action",
        }
    }
}

/// What to mint an Azure ML token for.
pub struct MintRequest {
    pub workspace: WorkspaceRef,
    pub kind: Scorable,
    /// The service or endpoint name (`endpointName`).
    pub name: String,
    /// The service or endpoint instance (`serviceId`).
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
            workspace_id: ws.workspace_id,
            kind: req.kind,
            name: req.name,
            instance: req.instance,
            caller: req.caller,
            tenant,
            now: req.now,
            lifetime: req.lifetime.map_or(DEFAULT_LIFETIME_SECONDS, i64::from),
        },
    ))
}

/// Lifetime when neither the service nor the endpoint sets one: Azure's 24 h (module docs).
/// Clients are told to refresh half-way, after 12 h.
pub const DEFAULT_LIFETIME_SECONDS: i64 = 86_400;

/// Both `iss` and `aud` of every Azure ML token, as recorded.
pub const ISSUER_AND_AUDIENCE: &str = "azureml";

/// The claims, in the recorded token's order. `iat` and `nbf` are never minted (the recorded token
/// has neither) but honoured when present.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AmlClaims {
    /// `"False"`, as recorded.
    #[serde(rename = "canRefresh")]
    pub can_refresh: String,
    #[serde(rename = "workspaceId")]
    pub workspace_id: Uuid,
    pub tid: String,
    /// The caller; tokens the control API mints name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// A JSON array of actions, as a string: `["…/onlineEndpoints/score/action"]`.
    pub actions: Actions,
    /// The service or endpoint name.
    #[serde(rename = "endpointName")]
    pub endpoint_name: String,
    /// The service or endpoint instance: a deleted and re-created one of the same name does not
    /// accept tokens of its predecessor.
    #[serde(rename = "serviceId")]
    pub service_id: Uuid,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// [`crate::decision::journal::token_hash`] of a verified token (not a claim; never minted).
    #[serde(skip)]
    pub token_hash: String,
}

impl AmlClaims {
    /// Whether the token grants `kind`'s score action.
    pub fn grants(&self, kind: Scorable) -> bool {
        self.actions.grants & kind.bit() != 0
    }
}

/// The `actions` claim: a JSON array carried as a string, as recorded. The score actions it
/// grants are read once, with the claims, rather than parsed again on every request the
/// (cached) token comes with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actions {
    text: String,
    /// [`Scorable::bit`] of each score action listed.
    grants: u8,
}

impl Actions {
    /// The claim granting `kind`'s score action alone.
    pub fn of(kind: Scorable) -> Self {
        Self::read(serde_json::json!([kind.score_action()]).to_string())
    }

    /// A text that is not a JSON array of strings grants nothing.
    fn read(text: String) -> Self {
        let listed = serde_json::from_str::<Vec<String>>(&text).unwrap_or_default();
        let grants = [Scorable::Service, Scorable::Endpoint]
            .into_iter()
            .filter(|k| listed.iter().any(|a| a == k.score_action()))
            .fold(0, |bits, k| bits | k.bit());
        Actions { text, grants }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Serialize for Actions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Actions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Actions::read)
    }
}

/// A minted token with the times the service APIs report.
#[derive(Debug)]
pub struct AmlToken {
    pub token: String,
    pub expires_on: i64,
    /// When a client should fetch a new one: half-way through the lifetime.
    pub refresh_after: i64,
}

pub struct Issue {
    pub workspace_id: Uuid,
    pub kind: Scorable,
    pub name: String,
    pub instance: Uuid,
    pub caller: Option<String>,
    /// The workspace's tenant.
    pub tenant: String,
    pub now: i64,
    pub lifetime: i64,
}

pub fn issue(key: &SigningKey, i: Issue) -> AmlToken {
    let claims = AmlClaims {
        can_refresh: "False".into(),
        workspace_id: i.workspace_id,
        tid: i.tenant,
        oid: i.caller,
        actions: Actions::of(i.kind),
        endpoint_name: i.name,
        service_id: i.instance,
        exp: i.now + i.lifetime,
        iss: ISSUER_AND_AUDIENCE.into(),
        aud: ISSUER_AND_AUDIENCE.into(),
        iat: None,
        nbf: None,
        token_hash: String::new(),
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
    fn claims_follow_the_recorded_token() {
        let key = SigningKey::from_stored(&SigningKey::generate().unwrap()).unwrap();
        let t = issue(
            &key,
            Issue {
                workspace_id: Uuid::nil(),
                kind: Scorable::Endpoint,
                name: "ep".into(),
                instance: Uuid::max(),
                caller: Some("oid".into()),
                tenant: "tid".into(),
                now: 1_654_422_078,
                lifetime: DEFAULT_LIFETIME_SECONDS,
            },
        );
        // Recorded: expiryTimeUtc 1654508478 and refreshAfterTimeUtc 1654465278 for Date 1654422078.
        assert_eq!((t.expires_on, t.refresh_after), (1_654_508_478, 1_654_465_278));
        use base64::Engine;
        let payload = t.token.split('.').nth(1).unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        let text = String::from_utf8(raw.clone()).unwrap();
        let order: Vec<usize> = [
            "canRefresh",
            "workspaceId",
            "tid",
            "oid",
            "actions",
            "endpointName",
            "serviceId",
            "exp",
            "iss",
            "aud",
        ]
        .iter()
        .map(|k| text.find(&format!("\"{k}\":")).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(!text.contains("\"iat\"") && !text.contains("\"nbf\""));
        let claims: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(
            (claims["iss"].as_str(), claims["aud"].as_str()),
            (Some("azureml"), Some("azureml"))
        );
        assert_eq!(
            claims["actions"],
            "[\"Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action\"]"
        );
        let parsed: AmlClaims = serde_json::from_value(claims.clone()).unwrap();
        assert!(parsed.grants(Scorable::Endpoint) && !parsed.grants(Scorable::Service));
        // The claim keeps its text; one that is not an array of strings grants nothing.
        assert_eq!(serde_json::to_value(&parsed.actions).unwrap(), claims["actions"]);
        for text in ["not json", "{}", "[1]", "[]"] {
            let actions: Actions = serde_json::from_value(serde_json::json!(text)).unwrap();
            assert_eq!((actions.grants, actions.as_str()), (0, text));
        }
        let both = format!(
            "[\"{}\", \"{}\"]",
            Scorable::Service.score_action(),
            Scorable::Endpoint.score_action()
        );
        let actions: Actions = serde_json::from_value(serde_json::json!(both)).unwrap();
        assert_eq!(actions.grants, 3);
    }
}
