//! Azure RBAC: role definitions (built-in, with their real GUIDs and permission lists, plus custom
//! ones), role assignments, and the decision with its reason.
//!
//! A request is allowed when some assignment of the caller (or of a group it belongs to) at the
//! request scope or an ancestor has a role with a permission whose `actions` match the operation
//! and whose `notActions` do not. `notActions` subtract within one permission only; another role
//! can grant the action back.

mod assignments;
mod propagation;
mod roles;

use serde::Serialize;
use uuid::Uuid;

pub use assignments::{AssignmentRow, Held, PrincipalType, RoleAssignment};
pub use propagation::Pending;
#[cfg(test)]
pub(crate) use roles::tests::plain_match;
pub use roles::{builtin_roles, wildcard_match, Permission, RoleDefinition, RoleType};

use assignments::{Assignments, Stored};

use super::ids::IdMap;
use super::scope::Scope;
use super::ObjectId;

/// An RBAC decision: allowed or not, the assignment that allowed it, and the reason in words
/// ([`Decision::reason`]). An allow's reason is written only when something reads it: every
/// authorized request decides, few are explained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The assignment that allowed it (none for a denial).
    pub matched: Option<Matched>,
    /// Why it was denied (empty for an allow).
    denial: String,
}

impl Decision {
    /// A denial, for `reason`.
    pub fn deny(reason: String) -> Self {
        Decision {
            allowed: false,
            matched: None,
            denial: reason,
        }
    }

    /// Adds `note` to a denial's reason.
    pub fn note(&mut self, note: &str) {
        if !self.allowed {
            self.denial.push_str("; ");
            self.denial.push_str(note);
        }
    }

    /// The reason in words: the assignment that allowed it, or why nothing did.
    pub fn reason(&self) -> impl std::fmt::Display + '_ {
        Reason(self)
    }

    /// Appends [`Decision::reason`] to `out` without the formatting machinery: the journal writes
    /// one for every authorized request.
    pub fn push_reason(&self, out: &mut String) {
        match (&self.matched, self.allowed) {
            (Some(m), true) => {
                let mut id = Uuid::encode_buffer();
                for part in [
                    "allowed by role assignment ",
                    m.assignment.hyphenated().encode_lower(&mut id),
                    " of ",
                    &m.role_name,
                    " at ",
                    &m.scope,
                ] {
                    out.push_str(part);
                }
            }
            _ => out.push_str(&self.denial),
        }
    }
}

struct Reason<'a>(&'a Decision);

impl std::fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut reason = String::new();
        self.0.push_reason(&mut reason);
        f.write_str(&reason)
    }
}

/// The role assignment a decision rests on.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Matched {
    /// The assignment's name (GUID).
    pub assignment: Uuid,
    /// Who holds it: the caller, or a group the caller belongs to.
    pub principal: ObjectId,
    pub role: Uuid,
    pub role_name: String,
    /// The assignment's scope, as written.
    pub scope: String,
}

/// Role definitions and assignments with the decision index, kept in step with the database.
/// Changed in place after each committed write, so a change takes effect on the next request and a
/// write costs O(log n) however many assignments exist.
#[derive(Debug, Default)]
pub struct Rbac {
    roles: IdMap<Uuid, RoleDefinition>,
    assignments: Assignments,
    /// Changes waiting for their effective time (propagation delay).
    pending: Vec<Pending>,
}

/// Builds an [`Rbac`] from many assignments at once (loading the database): each row goes
/// straight into the index, which is sorted once at the end.
pub struct RbacLoader {
    rbac: Rbac,
}

impl RbacLoader {
    /// Adds one assignment (its scope already validated).
    pub fn push(&mut self, row: &AssignmentRow<'_>) {
        self.rbac.assignments.insert(row, true, false);
    }

    pub fn finish(mut self) -> Rbac {
        self.rbac.assignments.sort();
        self.rbac
    }
}

impl Rbac {
    pub fn new(custom_roles: Vec<RoleDefinition>, assignments: Vec<RoleAssignment>) -> Self {
        let mut loader = Self::loader(custom_roles, assignments.len());
        for a in &assignments {
            loader.push(&a.into());
        }
        loader.finish()
    }

    /// A loader for about `capacity` assignments.
    pub fn loader(custom_roles: Vec<RoleDefinition>, capacity: usize) -> RbacLoader {
        let roles = builtin_roles()
            .into_iter()
            .chain(custom_roles)
            .map(|r| (r.id, r))
            .collect();
        RbacLoader {
            rbac: Rbac {
                roles,
                assignments: Assignments::with_capacity(capacity),
                pending: Vec::new(),
            },
        }
    }

    /// The allow decision alone: some role held at `scope` or above allows `action`.
    pub fn allows(&self, principal: ObjectId, action: &str, scope: &Scope) -> bool {
        self.granting(&[principal], action, scope).is_some()
    }

    /// The first assignment (innermost scope first) of any of `who` — a principal and the groups it
    /// belongs to — whose role allows `action` at `scope` or above.
    fn granting<'a>(&'a self, who: &[ObjectId], action: &str, scope: &'a Scope) -> Option<(ObjectId, &'a Stored)> {
        who.iter().find_map(|p| {
            self.assignments
                .held_at(*p, scope.key())
                .find(|h| self.roles.get(&h.role).is_some_and(|r| r.allows(action)))
                .map(|h| (*p, h))
        })
    }

    /// The decision with its reason: which assignment allowed `action` at `scope` for `who` (a
    /// principal first, then the groups it belongs to), or why nothing did — no assignment at all,
    /// assignments only outside the scope, or roles that do not grant the action (naming the
    /// `notActions` entry that takes it away).
    pub fn decide(&self, who: &[ObjectId], action: &str, scope: &Scope) -> Decision {
        if let Some((holder, held)) = self.granting(who, action, scope) {
            return Decision {
                allowed: true,
                matched: Some(self.matched(holder, held)),
                denial: String::new(),
            };
        }
        let held: Vec<(ObjectId, &Stored)> = who
            .iter()
            .flat_map(|p| self.assignments.held_at(*p, scope.key()).map(move |h| (*p, h)))
            .collect();
        let reason = if !held.is_empty() {
            let why: Vec<String> = held
                .iter()
                .map(|(p, h)| {
                    let m = self.matched(*p, h);
                    let role = self.roles.get(&h.role);
                    match role.and_then(|r| r.excluded_by(action)) {
                        Some(pattern) => format!("{} at {} excludes it (notActions '{pattern}')", m.role_name, m.scope),
                        None => format!("{} at {} does not grant it", m.role_name, m.scope),
                    }
                })
                .collect();
            format!("no role held at or above {scope} grants {action}: {}", why.join("; "))
        } else if who
            .iter()
            .flat_map(|p| self.assignments.scopes_of(*p))
            .any(|s| is_below(s, scope.key()))
        {
            format!("{} holds roles only below {scope}, none at or above it", who[0])
        } else if who.iter().any(|p| self.assignments.scopes_of(*p).next().is_some()) {
            format!("{} holds roles only outside {scope}", who[0])
        } else {
            format!(
                "{} has no role assignment",
                who.first().map(ToString::to_string).unwrap_or_default()
            )
        };
        Decision::deny(reason)
    }

    fn matched(&self, holder: ObjectId, held: &Stored) -> Matched {
        let role_name = self.roles.get(&held.role).map(|r| r.name.clone()).unwrap_or_default();
        Matched {
            assignment: held.name,
            principal: holder,
            role: held.role,
            role_name,
            scope: held.scope.to_string(),
        }
    }

    /// True when any of `who` holds an assignment at, below or above `scope`.
    pub fn has_access_within(&self, who: &[ObjectId], scope: &Scope) -> bool {
        let key = scope.key();
        who.iter()
            .flat_map(|p| self.assignments.scopes_of(*p))
            .any(|s| s == "/" || s.eq_ignore_ascii_case(key) || extends(s, key) || extends(key, s))
    }

    pub fn role(&self, id: Uuid) -> Option<&RoleDefinition> {
        self.roles.get(&id)
    }

    pub fn roles(&self) -> impl Iterator<Item = &RoleDefinition> {
        self.roles.values()
    }

    pub fn role_by_name(&self, name: &str) -> Option<&RoleDefinition> {
        self.roles.values().find(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// A listed assignment by name (built from its compact form).
    pub fn assignment(&self, name: Uuid) -> Option<RoleAssignment> {
        self.assignments.get(name).map(Stored::to_assignment)
    }

    /// Every listed assignment, in no particular order (each built from its compact form).
    pub fn assignments(&self) -> impl Iterator<Item = RoleAssignment> + '_ {
        self.assignments.listed().map(Stored::to_assignment)
    }

    /// How many assignments are listed.
    pub fn assignment_count(&self) -> usize {
        self.assignments.listed().count()
    }

    /// Whether some listed assignment gives role `id`.
    pub fn role_in_use(&self, id: Uuid) -> bool {
        self.assignments.listed().any(|a| a.role == id)
    }

    /// The assignment giving `principal` the role at exactly `scope`, if any.
    pub fn find_assignment(&self, scope: &Scope, role: Uuid, principal: ObjectId) -> Option<RoleAssignment> {
        let indexed = self
            .assignments
            .at(principal, scope.key())
            .find(|a| a.role == role && self.assignments.is_listed(a.name));
        // Assignments still waiting for their effective time are listed but not indexed.
        let waiting = || {
            self.pending
                .iter()
                .map(|p| &p.assignment)
                .find(|a| a.principal_id == principal && a.role_definition == role && a.scope == *scope)
                .and_then(|a| self.assignments.get(a.name))
        };
        indexed.or_else(waiting).map(Stored::to_assignment)
    }

    pub fn put_role(&mut self, role: RoleDefinition) {
        self.roles.insert(role.id, role);
    }

    pub fn remove_role(&mut self, id: Uuid) -> Option<RoleDefinition> {
        self.roles.remove(&id)
    }

    pub fn insert_assignment(&mut self, a: RoleAssignment) {
        self.assignments.insert(&(&a).into(), true, true);
    }

    pub fn remove_assignment(&mut self, name: Uuid) -> Option<RoleAssignment> {
        self.assignments.unlist(name, false)
    }
}

/// Whether `long` is `short` followed by `/…` (ASCII case ignored).
fn extends(long: &str, short: &str) -> bool {
    long.len() > short.len()
        && long.as_bytes()[..short.len()].eq_ignore_ascii_case(short.as_bytes())
        && long.as_bytes()[short.len()] == b'/'
}

/// Whether scope `inner` lies strictly below `outer` (compared as keys: ASCII case ignored).
fn is_below(inner: &str, outer: &str) -> bool {
    let outer = outer.trim_end_matches('/');
    inner.len() > outer.len()
        && inner.as_bytes()[..outer.len()].eq_ignore_ascii_case(outer.as_bytes())
        && inner.as_bytes().get(outer.len()) == Some(&b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    const WS: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w";
    const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    const DATA_SCIENTIST: &str = "f6c7c914-8db3-469d-8ca1-694a8f32e121";

    fn oid(n: u8) -> ObjectId {
        ObjectId(Uuid::from_bytes([n; 16]))
    }

    fn assignment(name: u8, principal: ObjectId, role: &str, scope: &str) -> RoleAssignment {
        RoleAssignment {
            name: Uuid::from_bytes([name; 16]),
            scope: Scope::parse(scope).unwrap(),
            role_definition: role.parse().unwrap(),
            principal_id: principal,
            principal_type: PrincipalType::ServicePrincipal,
            description: None,
            created_on: String::new(),
            updated_on: String::new(),
            created_by: None,
        }
    }

    #[test]
    fn decisions_name_the_assignment_or_the_reason() {
        let group = oid(9);
        let rbac = Rbac::new(
            vec![],
            vec![
                assignment(1, oid(1), READER, "/subscriptions/s"),
                assignment(2, oid(2), DATA_SCIENTIST, WS),
                assignment(3, oid(3), READER, "/subscriptions/other"),
                assignment(4, group, DATA_SCIENTIST, WS),
            ],
        );
        let ws = Scope::parse(WS).unwrap();
        let read = "Microsoft.MachineLearningServices/workspaces/read";
        let allowed = rbac.decide(&[oid(1)], read, &ws);
        assert!(allowed.allowed);
        let m = allowed.matched.as_ref().unwrap();
        assert_eq!(
            (m.assignment, m.role_name.as_str(), m.scope.as_str()),
            (Uuid::from_bytes([1; 16]), "Reader", "/subscriptions/s")
        );
        assert!(
            allowed.reason().to_string().contains("Reader at /subscriptions/s"),
            "{}",
            allowed.reason().to_string()
        );

        // notActions: AzureML Data Scientist's `workspaces/*/action` is taken away for listKeys.
        let list_keys = "Microsoft.MachineLearningServices/workspaces/listKeys/action";
        let denied = rbac.decide(&[oid(2)], list_keys, &ws);
        assert!(!denied.allowed && denied.matched.is_none());
        assert!(
            denied
                .reason()
                .to_string()
                .contains("excludes it (notActions 'Microsoft.MachineLearningServices/workspaces/listKeys/action')"),
            "{}",
            denied.reason().to_string()
        );
        let write = "Microsoft.MachineLearningServices/workspaces/write";

        // A role that does not grant the action at all.
        let denied = rbac.decide(&[oid(1)], write, &ws);
        assert!(
            denied
                .reason()
                .to_string()
                .contains("Reader at /subscriptions/s does not grant it"),
            "{}",
            denied.reason().to_string()
        );

        // Roles below only, elsewhere only, and none at all.
        let rg = Scope::parse("/subscriptions/s/resourceGroups/rg").unwrap();
        assert!(rbac
            .decide(&[oid(2)], "Microsoft.Resources/subscriptions/resourceGroups/read", &rg)
            .reason()
            .to_string()
            .contains("only below"));
        assert!(rbac
            .decide(&[oid(3)], read, &ws)
            .reason()
            .to_string()
            .contains("only outside"));
        assert!(rbac
            .decide(&[oid(7)], read, &ws)
            .reason()
            .to_string()
            .contains("has no role assignment"));

        // Through a group: the group's assignment is named, held by the group.
        let score = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/score/action";
        let via_group = rbac.decide(&[oid(7), group], score, &ws);
        assert!(via_group.allowed);
        assert_eq!(via_group.matched.unwrap().principal, group);
        assert!(rbac.allows(oid(2), score, &ws) && !rbac.allows(oid(1), score, &ws));
    }
}
