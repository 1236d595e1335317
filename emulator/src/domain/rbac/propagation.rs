//! Role-assignment propagation delay (off unless a world asks for it). In Azure a new or deleted
//! role assignment can take minutes to take effect ("please observe propagation time"); with a
//! delay set, a new assignment is listed at once but counts in decisions only from its effective
//! time on the emulator clock, and a deleted one is gone from listings at once but keeps counting
//! until then. [`Rbac::settle`] applies the changes that are due; the decision's reason names the
//! assignments not yet effective.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Rbac, RoleAssignment};
use crate::domain::scope::Scope;
use crate::domain::ObjectId;

/// A change waiting for its effective time.
#[derive(Clone, Debug)]
pub struct Pending {
    pub assignment: RoleAssignment,
    /// True for a new assignment, false for a deleted one.
    pub added: bool,
    pub effective: OffsetDateTime,
}

impl Rbac {
    /// A new assignment, listed now, deciding from `effective` on.
    pub fn insert_assignment_at(&mut self, a: RoleAssignment, effective: OffsetDateTime) {
        self.assignments.insert(&(&a).into(), false, true);
        self.pending.push(Pending {
            assignment: a,
            added: true,
            effective,
        });
    }

    /// Removes an assignment from listings now; it keeps deciding until `effective`.
    pub fn remove_assignment_at(&mut self, name: Uuid, effective: OffsetDateTime) -> Option<RoleAssignment> {
        let a = self.assignments.unlist(name, true)?;
        // Not yet effective itself: it simply never takes effect.
        let before = self.pending.len();
        self.pending.retain(|p| !(p.added && p.assignment.name == name));
        if self.pending.len() == before {
            self.pending.push(Pending {
                assignment: a.clone(),
                added: false,
                effective,
            });
        }
        Some(a)
    }

    /// Applies the changes due at `now`; true when some are still waiting.
    pub fn settle(&mut self, now: OffsetDateTime) -> bool {
        let (due, waiting): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.effective <= now);
        for p in due {
            let a = &p.assignment;
            if p.added {
                self.assignments.index_listed(a.name);
            } else {
                self.assignments.unindex(a.principal_id, a.name, a.scope.as_str());
            }
        }
        self.pending = waiting;
        !self.pending.is_empty()
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The changes still waiting.
    pub fn pending(&self) -> &[Pending] {
        &self.pending
    }

    /// The words a decision adds about the subjects' assignments that are not effective yet at
    /// or above `scope`: "assignment … of Reader at … not effective until …".
    pub fn pending_note(&self, who: &[ObjectId], scope: &Scope) -> Option<String> {
        let notes: Vec<String> = self
            .pending
            .iter()
            .filter(|p| who.contains(&p.assignment.principal_id) && scope.is_within(&p.assignment.scope))
            .map(|p| {
                let role = self
                    .role(p.assignment.role_definition)
                    .map(|r| r.name.as_str())
                    .unwrap_or("a role");
                let at = p.effective.format(&Rfc3339).unwrap_or_default();
                if p.added {
                    format!(
                        "assignment {} of {role} at {} not effective until {at}",
                        p.assignment.name, p.assignment.scope
                    )
                } else {
                    format!(
                        "assignment {} of {role} at {} deleted, still effective until {at}",
                        p.assignment.name, p.assignment.scope
                    )
                }
            })
            .collect();
        (!notes.is_empty()).then(|| notes.join("; "))
    }
}
