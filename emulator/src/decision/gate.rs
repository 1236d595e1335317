//! One request's way through authentication and authorization. A surface's dispatcher creates a
//! [`Gate`], authenticates through it, asks it for each RBAC check, and when the gate is dropped
//! the request's deciding outcome is written to the journal — once per request: the first denial
//! (enforced, or let through by log-only mode), else the first allowing decision, else the bare
//! authentication.

use std::borrow::Cow;
use std::cell::RefCell;

use super::authn::{authenticate, AuthnFailure, Credential, Expectation, Principal};
use crate::decision::journal::Field;
use crate::domain::rbac::Decision;
use crate::domain::scope::Scope;
use crate::domain::{ObjectId, TenantId, World};
use crate::http::surface::{request_info, RequestInfo};
use crate::state::{AppState, RbacMode};
use actix_web::HttpRequest;

/// An enforced RBAC denial: what each surface renders as its 403.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// How ARM names the caller (UPN or object id).
    pub label: String,
    pub object_id: String,
    pub action: String,
    pub scope: String,
}

struct Outcome {
    action: Option<String>,
    scope: Option<String>,
    allowed: bool,
    enforced: bool,
    kind: &'static str,
    reason: Why,
}

/// An outcome's reason, put in words only when the journal records it.
enum Why {
    Words(Cow<'static, str>),
    Rbac(Decision),
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Words(w) => f.write_str(w),
            Why::Rbac(d) => d.reason().fmt(f),
        }
    }
}

/// See the module documentation.
pub struct Gate<'a> {
    state: &'a AppState,
    info: RequestInfo,
    req: HttpRequest,
    principal: RefCell<Option<Principal>>,
    outcome: RefCell<Option<Outcome>>,
    /// The hash of a bearer token that was refused (a refusal has no principal to carry it).
    refused_token: RefCell<Option<String>>,
}

impl<'a> Gate<'a> {
    pub fn new(state: &'a AppState, req: &HttpRequest) -> Self {
        Gate {
            state,
            info: request_info(req),
            req: req.clone(),
            principal: RefCell::new(None),
            outcome: RefCell::new(None),
            refused_token: RefCell::new(None),
        }
    }

    /// Authenticates through [`authenticate`]; a refusal becomes the request's journal entry. The
    /// principal stays in the gate (for its checks and the journal); the caller gets its object
    /// id and tenant.
    pub fn authenticate(
        &self,
        world: &World,
        credential: Credential<'_>,
        expectation: &Expectation<'_>,
    ) -> Result<(Option<ObjectId>, Option<TenantId>), AuthnFailure> {
        self.admit(world, credential, expectation)?;
        let principal = self.principal.borrow();
        Ok(principal.as_ref().map_or((None, None), |p| (p.object_id, p.tenant)))
    }

    /// [`Gate::authenticate`] for a surface that needs only the verdict (scoring).
    pub fn admit(
        &self,
        world: &World,
        credential: Credential<'_>,
        expectation: &Expectation<'_>,
    ) -> Result<(), AuthnFailure> {
        match authenticate(self.state, world, credential, expectation) {
            Ok(p) => {
                *self.principal.borrow_mut() = Some(p);
                Ok(())
            }
            Err(failure) => {
                if let Credential::Bearer(token) = credential {
                    *self.refused_token.borrow_mut() = Some(crate::decision::journal::token_hash(token));
                }
                Err(self.refused(failure))
            }
        }
    }

    /// A refusal, kept as the request's journal entry.
    fn refused(&self, failure: AuthnFailure) -> AuthnFailure {
        self.set(Outcome {
            action: None,
            scope: None,
            allowed: false,
            enforced: true,
            kind: "authentication",
            reason: Why::Words(failure.to_string().into()),
        });
        failure
    }

    /// `action` at `scope` for the authenticated principal, or a denial — which log-only mode
    /// turns into an allow that is journaled as `rbac-would-deny`.
    pub fn require(&self, action: &str, scope: &Scope) -> Result<(), Denial> {
        let decision = self.decide(action, scope);
        self.judge(action, scope, decision)
    }

    /// A per-item check of a collection: the item is shown when allowed (or in log-only mode,
    /// where the would-be denial is journaled). Enforced per-item filtering is not a denial.
    pub fn may(&self, action: &str, scope: &Scope) -> bool {
        let decision = self.decide(action, scope);
        if decision.allowed || self.state.rbac_mode == RbacMode::LogOnly {
            return self.judge(action, scope, decision).is_ok();
        }
        false
    }

    /// Whether the principal holds any role in, above or below `scope`; without one, a denial of
    /// `action` at `scope` (nothing about the scope's contents is revealed).
    pub fn require_access_within(&self, action: &str, scope: &Scope) -> Result<(), Denial> {
        let Some(oid) = self.object_id() else {
            return Err(self.denial(action, scope));
        };
        if with_subjects(self.state, oid, |who| self.state.rbac().has_access_within(who, scope)) {
            return Ok(());
        }
        let decision = Decision::deny(format!("{oid} holds no role at, above or below {scope}"));
        self.judge(action, scope, decision)
    }

    /// Whether the principal holds any role in, above or below `scope`, without journaling.
    pub fn has_access_within(&self, scope: &Scope) -> bool {
        self.object_id()
            .is_some_and(|oid| with_subjects(self.state, oid, |who| self.state.rbac().has_access_within(who, scope)))
    }

    fn object_id(&self) -> Option<ObjectId> {
        self.principal.borrow().as_ref().and_then(|p| p.object_id)
    }

    fn decide(&self, action: &str, scope: &Scope) -> Decision {
        match self.object_id() {
            Some(oid) => with_subjects(self.state, oid, |who| decide(self.state, who, action, scope)),
            None => Decision::deny("the credential names no principal".into()),
        }
    }

    fn judge(&self, action: &str, scope: &Scope, decision: Decision) -> Result<(), Denial> {
        let log_only = !decision.allowed && self.state.rbac_mode == RbacMode::LogOnly;
        if log_only {
            tracing::warn!(action, scope = %scope, reason = %decision.reason(), "RBAC would deny (log-only)");
        }
        let allowed = decision.allowed;
        self.set(Outcome {
            action: Some(action.to_owned()),
            // The text as is: `to_string` would go through the formatter.
            scope: Some(scope.as_str().to_owned()),
            allowed,
            enforced: !log_only,
            kind: if log_only { "rbac-would-deny" } else { "authorization" },
            reason: Why::Rbac(decision),
        });
        if allowed || log_only {
            Ok(())
        } else {
            Err(self.denial(action, scope))
        }
    }

    fn denial(&self, action: &str, scope: &Scope) -> Denial {
        let principal = self.principal.borrow();
        let object_id = principal
            .as_ref()
            .and_then(|p| p.object_id)
            .map(|o| o.to_string())
            .unwrap_or_default();
        Denial {
            label: principal
                .as_ref()
                .map_or_else(|| object_id.clone(), |p| p.label.clone()),
            object_id,
            action: action.to_string(),
            scope: scope.to_string(),
        }
    }

    /// Keeps the request's deciding outcome: a denial wins over allows; the first of each wins.
    fn set(&self, outcome: Outcome) {
        let mut current = self.outcome.borrow_mut();
        let replace = match current.as_ref() {
            None => true,
            Some(c) => c.allowed && !outcome.allowed,
        };
        if replace {
            *current = Some(outcome);
        }
    }
}

/// The principals whose assignments count for `principal`: itself, then every group it belongs
/// to, directly or through nested groups (a member holds its groups' roles). The gate and
/// `POST /_emulator/explain` both ask here.
pub fn subjects(state: &AppState, principal: ObjectId) -> Vec<ObjectId> {
    with_subjects(state, principal, <[ObjectId]>::to_vec)
}

/// `f` of [`subjects`], with no list built for a principal in no group (most callers): every
/// RBAC check asks.
fn with_subjects<R>(state: &AppState, principal: ObjectId, f: impl FnOnce(&[ObjectId]) -> R) -> R {
    let groups = state.world().groups_of(principal);
    if groups.is_empty() {
        return f(&[principal]);
    }
    let mut all = Vec::with_capacity(1 + groups.len());
    all.push(principal);
    all.extend(groups);
    f(&all)
}

/// The RBAC decision for `subjects` — what the gate enforces and what explain answers — with a
/// denial's reason naming assignments not yet effective (propagation delay).
pub fn decide(state: &AppState, subjects: &[ObjectId], action: &str, scope: &Scope) -> Decision {
    let rbac = state.rbac();
    let mut decision = rbac.decide(subjects, action, scope);
    if !decision.allowed {
        if let Some(note) = rbac.pending_note(subjects, scope) {
            decision.note(&note);
        }
    }
    decision
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        let principal = self.principal.get_mut().take();
        let outcome = self.outcome.get_mut().take().or_else(|| {
            principal.as_ref().map(|_| Outcome {
                action: None,
                scope: None,
                allowed: true,
                enforced: true,
                kind: "authentication",
                reason: Why::Words(Cow::Borrowed("authenticated; the operation needs no role")),
            })
        });
        let Some(outcome) = outcome else { return };
        let refused_token = self.refused_token.get_mut().take();
        let (state, req, info) = (self.state, &self.req, self.info);
        state.journal.record(|entry| {
            let route = (req.method().as_str(), req.path());
            entry.begin(info, route, &state.clock, outcome.kind, outcome.allowed);
            match &outcome.reason {
                Why::Words(words) => entry.set(Field::Reason, words),
                Why::Rbac(decision) => entry.write(Field::Reason, |text| decision.push_reason(text)),
            }
            if let Some(p) = &principal {
                if let Some(oid) = p.object_id {
                    entry.guid(Field::Principal, oid.0);
                }
                entry.principal_kind = Some(p.kind);
                entry.set_opt(Field::PrincipalDisplayName, p.display_name.as_deref());
                entry.set_opt(Field::AppId, p.claims.as_ref().and_then(|c| c.client_id()));
                entry.set(Field::PrincipalName, &p.label);
                entry.credential = Some(p.credential);
                entry.set_opt(Field::TokenId, p.token_id());
                entry.set_opt(Field::TokenHash, p.token_hash());
            }
            if entry.get(Field::TokenHash).is_none() {
                entry.set_opt(Field::TokenHash, refused_token.as_deref());
            }
            entry.set_opt(Field::Action, outcome.action.as_deref());
            entry.set_opt(Field::Scope, outcome.scope.as_deref());
            entry.enforced = outcome.enforced;
        });
    }
}
