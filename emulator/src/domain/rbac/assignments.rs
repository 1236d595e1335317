//! Role assignments, kept compactly, and the index decisions walk: by principal, then by scope.
//!
//! A world may hold 100,000 assignments, so each is kept once, in a slot: ids as 128-bit values,
//! the scope as written (its matching key is its ASCII lower case, compared without a copy), and
//! timestamps shared between assignments that have the same one. The indexes hold slot numbers
//! only: by name, and by principal, sorted by scope key so a decision finds the principal's
//! assignments at each ancestor of the request scope by binary search.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use super::super::ids::IdMap;
use super::super::scope::{key_ancestors, Scope};
use super::super::ObjectId;

/// The type of principal an assignment names.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub enum PrincipalType {
    User,
    Group,
    ServicePrincipal,
    ForeignGroup,
}

impl PrincipalType {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "user" => Some(Self::User),
            "group" => Some(Self::Group),
            "serviceprincipal" => Some(Self::ServicePrincipal),
            "foreigngroup" => Some(Self::ForeignGroup),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RoleAssignment {
    /// The assignment's name (a GUID).
    pub name: Uuid,
    pub scope: Scope,
    pub role_definition: Uuid,
    pub principal_id: ObjectId,
    pub principal_type: PrincipalType,
    pub description: Option<String>,
    pub created_on: String,
    pub updated_on: String,
    pub created_by: Option<String>,
}

/// One held role: the role definition and the assignment that grants it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub role: Uuid,
    pub assignment: Uuid,
}

/// An assignment as kept in memory (see the module documentation).
#[derive(Clone, Debug)]
pub(super) struct Stored {
    pub name: Uuid,
    pub principal: ObjectId,
    pub role: Uuid,
    /// As written, without a trailing slash: a valid scope (parsed on the way in).
    pub scope: Box<str>,
    pub description: Option<Box<str>>,
    pub created_by: Option<Box<str>>,
    pub created_on: Arc<str>,
    pub updated_on: Arc<str>,
    pub principal_type: PrincipalType,
}

impl Stored {
    pub fn to_assignment(&self) -> RoleAssignment {
        RoleAssignment {
            name: self.name,
            // Stored scopes are the text of a parsed scope, so they parse again.
            scope: Scope::parse(&self.scope).unwrap_or_else(|_| Scope::root()),
            role_definition: self.role,
            principal_id: self.principal,
            principal_type: self.principal_type,
            description: self.description.as_deref().map(str::to_string),
            created_on: self.created_on.to_string(),
            updated_on: self.updated_on.to_string(),
            created_by: self.created_by.as_deref().map(str::to_string),
        }
    }
}

/// The plain fields of an assignment, borrowed (from a database row or a [`RoleAssignment`]).
pub struct AssignmentRow<'a> {
    pub name: Uuid,
    /// A valid scope as written, without a trailing slash ([`Scope::as_str`]).
    pub scope: &'a str,
    pub role_definition: Uuid,
    pub principal_id: ObjectId,
    pub principal_type: PrincipalType,
    pub description: Option<&'a str>,
    pub created_on: &'a str,
    pub updated_on: &'a str,
    pub created_by: Option<&'a str>,
}

impl<'a> From<&'a RoleAssignment> for AssignmentRow<'a> {
    fn from(a: &'a RoleAssignment) -> Self {
        AssignmentRow {
            name: a.name,
            scope: a.scope.as_str(),
            role_definition: a.role_definition,
            principal_id: a.principal_id,
            principal_type: a.principal_type,
            description: a.description.as_deref(),
            created_on: &a.created_on,
            updated_on: &a.updated_on,
            created_by: a.created_by.as_deref(),
        }
    }
}

#[derive(Debug)]
struct Slot {
    stored: Stored,
    /// Shown in listings (false once deleted, while a propagation delay keeps it deciding).
    listed: bool,
    /// Counts in decisions (false while a new one waits for its effective time).
    indexed: bool,
}

/// The assignments and their indexes.
#[derive(Debug, Default)]
pub(super) struct Assignments {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    by_name: IdMap<Uuid, u32>,
    /// Slots of each principal's indexed assignments, by scope key, then in order of indexing.
    by_principal: IdMap<ObjectId, Vec<u32>>,
    stamps: HashSet<Arc<str>>,
    /// Bulk loading appends unsorted; [`Assignments::sort`] restores the order.
    unsorted: bool,
}

/// ASCII-case-insensitive order of scope texts: the order of their keys. Scopes share long
/// prefixes, mostly in the same case, so equal bytes are skipped before any case is folded,
/// eight at a time where they can be.
fn cmp_key(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len().min(b.len());
    let mut i = 0;
    while i < n {
        let chunk = |s: &[u8]| s.get(i..i + 8).and_then(|c| <[u8; 8]>::try_from(c).ok());
        if let (Some(x), Some(y)) = (chunk(a), chunk(b)) {
            if x == y {
                i += 8;
                continue;
            }
        }
        if a[i] != b[i] {
            let (x, y) = (a[i].to_ascii_lowercase(), b[i].to_ascii_lowercase());
            if x != y {
                return x.cmp(&y);
            }
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

impl Assignments {
    pub fn with_capacity(n: usize) -> Self {
        Assignments {
            slots: Vec::with_capacity(n),
            by_name: IdMap::with_capacity_and_hasher(n, Default::default()),
            ..Default::default()
        }
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.stamps.get(s) {
            return found.clone();
        }
        let shared: Arc<str> = Arc::from(s);
        self.stamps.insert(shared.clone());
        shared
    }

    fn stored(&mut self, row: &AssignmentRow<'_>) -> Stored {
        Stored {
            name: row.name,
            principal: row.principal_id,
            role: row.role_definition,
            scope: row.scope.into(),
            description: row.description.map(Into::into),
            created_by: row.created_by.map(Into::into),
            created_on: self.intern(row.created_on),
            updated_on: self.intern(row.updated_on),
            principal_type: row.principal_type,
        }
    }

    /// Adds an assignment: listed, and indexed unless it waits for its effective time. Bulk
    /// loads pass `sorted: false` and call [`Assignments::sort`] at the end.
    pub fn insert(&mut self, row: &AssignmentRow<'_>, indexed: bool, sorted: bool) {
        let stored = self.stored(row);
        let (name, principal) = (stored.name, stored.principal);
        let slot = Slot {
            stored,
            listed: true,
            indexed: false,
        };
        let n = match self.free.pop() {
            Some(n) => {
                self.slots[n as usize] = Some(slot);
                n
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        if let Some(old) = self.by_name.insert(name, n) {
            // A name listed twice is a caller's bug; the newer one wins, as a map insert would.
            self.unlist_slot(old);
        }
        if indexed {
            self.index_slot(n, principal, sorted);
        }
    }

    pub fn sort(&mut self) {
        if !std::mem::take(&mut self.unsorted) {
            return;
        }
        let slots = &self.slots;
        for list in self.by_principal.values_mut() {
            // Stable: equal keys keep the order they were indexed in.
            list.sort_by(|a, b| cmp_key(&scope_of(slots, *a).scope, &scope_of(slots, *b).scope));
        }
    }

    fn index_slot(&mut self, n: u32, principal: ObjectId, sorted: bool) {
        match self.slots[n as usize].as_mut() {
            Some(slot) => slot.indexed = true,
            None => return,
        }
        let slots = &self.slots;
        let list = self.by_principal.entry(principal).or_default();
        if sorted {
            let key = &scope_of(slots, n).scope;
            let at = list.partition_point(|s| cmp_key(&scope_of(slots, *s).scope, key) != Ordering::Greater);
            list.insert(at, n);
        } else {
            list.push(n);
            self.unsorted = true;
        }
    }

    /// Makes a listed assignment count in decisions (its propagation delay has passed).
    pub fn index_listed(&mut self, name: Uuid) {
        if let Some(&n) = self.by_name.get(&name) {
            let s = self.slot(n);
            if !s.indexed {
                let principal = s.stored.principal;
                self.index_slot(n, principal, true);
            }
        }
    }

    /// Stops `name` (held by `principal` at `scope`) counting in decisions.
    pub fn unindex(&mut self, principal: ObjectId, name: Uuid, scope: &str) {
        let Some(list) = self.by_principal.get_mut(&principal) else {
            return;
        };
        let slots = &self.slots;
        let mut dropped = Vec::new();
        list.retain(|&n| {
            let s = &scope_of(slots, n);
            let gone = s.name == name && s.scope.eq_ignore_ascii_case(scope);
            if gone {
                dropped.push(n);
            }
            !gone
        });
        if list.is_empty() {
            self.by_principal.remove(&principal);
        }
        for n in dropped {
            if let Some(slot) = self.slots[n as usize].as_mut() {
                slot.indexed = false;
                if !slot.listed {
                    self.release(n);
                }
            }
        }
    }

    /// Removes `name` from listings; it keeps deciding when `keep_deciding`. Returns it.
    pub fn unlist(&mut self, name: Uuid, keep_deciding: bool) -> Option<RoleAssignment> {
        let n = self.by_name.remove(&name)?;
        let a = self.slot(n).stored.to_assignment();
        if !keep_deciding && self.slot(n).indexed {
            let s = &self.slot(n).stored;
            let (principal, scope) = (s.principal, s.scope.clone());
            self.unindex(principal, name, &scope);
        }
        self.unlist_slot(n);
        Some(a)
    }

    fn unlist_slot(&mut self, n: u32) {
        if let Some(slot) = self.slots[n as usize].as_mut() {
            slot.listed = false;
            if !slot.indexed {
                self.release(n);
            }
        }
    }

    fn release(&mut self, n: u32) {
        self.slots[n as usize] = None;
        self.free.push(n);
    }

    fn slot(&self, n: u32) -> &Slot {
        self.slots[n as usize].as_ref().expect("indexes name live slots")
    }

    /// A listed assignment.
    pub fn get(&self, name: Uuid) -> Option<&Stored> {
        self.by_name.get(&name).map(|&n| &self.slot(n).stored)
    }

    pub fn is_listed(&self, name: Uuid) -> bool {
        self.by_name.contains_key(&name)
    }

    /// Every listed assignment, in no particular order.
    pub fn listed(&self) -> impl Iterator<Item = &Stored> {
        self.slots.iter().flatten().filter(|s| s.listed).map(|s| &s.stored)
    }

    /// The principal's indexed assignments whose scope key is `key` (lower case), in order.
    pub fn at<'s>(&'s self, principal: ObjectId, key: &'s str) -> impl Iterator<Item = &'s Stored> + 's {
        self.at_in(self.of(principal), key)
    }

    /// The principal's indexed assignments, sorted by scope key.
    fn of(&self, principal: ObjectId) -> &[u32] {
        self.by_principal.get(&principal).map_or(&[], Vec::as_slice)
    }

    /// The assignments of `list` (one principal's) whose scope key is `key`, in order.
    fn at_in<'s>(&'s self, list: &'s [u32], key: &'s str) -> impl Iterator<Item = &'s Stored> + 's {
        let slots = &self.slots;
        let from = list.partition_point(|n| cmp_key(&scope_of(slots, *n).scope, key) == Ordering::Less);
        list[from..]
            .iter()
            .map(move |n| scope_of(slots, *n))
            .take_while(move |s| s.scope.eq_ignore_ascii_case(key))
    }

    /// Roles the principal holds at `key` (a scope key) or above, innermost scope first. The
    /// principal's list is looked up once for all the ancestors.
    pub fn held_at<'s>(&'s self, principal: ObjectId, key: &'s str) -> impl Iterator<Item = &'s Stored> + 's {
        let list = self.of(principal);
        key_ancestors(key).flat_map(move |k| self.at_in(list, k))
    }

    /// The scopes (as written) at which the principal holds an indexed assignment.
    pub fn scopes_of(&self, principal: ObjectId) -> impl Iterator<Item = &str> {
        self.of(principal).iter().map(|n| &*scope_of(&self.slots, *n).scope)
    }
}

fn scope_of(slots: &[Option<Slot>], n: u32) -> &Stored {
    &slots[n as usize].as_ref().expect("indexes name live slots").stored
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The order is that of the lower-cased texts, with long common prefixes in either case.
        #[test]
        fn keys_order_as_lower_cased_texts(p in "[a-cA-C/]{0,30}", x in "[a-cA-C/]{0,12}", y in "[a-cA-C/]{0,12}") {
            let (a, b) = (format!("{p}{x}"), format!("{}{y}", p.to_ascii_uppercase()));
            let lower = |s: &str| s.to_ascii_lowercase();
            proptest::prop_assert_eq!(cmp_key(&a, &b), lower(&a).cmp(&lower(&b)));
            proptest::prop_assert_eq!(cmp_key(&x, &y), lower(&x).cmp(&lower(&y)));
        }
    }
}
