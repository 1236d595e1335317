//! Faults with Azure's semantics: rules that make a surface throttle, fail, slow down, refuse a
//! valid credential, sign with an unpublished key, cut a connection — on demand, in the exact shape
//! of the surface they fire on.
//!
//! - [`rule`]: what a rule is ([`RuleSpec`]: match, kind, when) and where each kind may be used.
//! - [`facts`]: what a request is, as far as rules match on it (surface, route, grant, tenant,
//!   principal, workspace, service, region), gathered once per request — and only when a rule is
//!   active, so an empty table costs one atomic load.
//! - [`render`]: each kind's answer in each surface's shape.
//! - [`layer`]: the middleware (inside the surface middleware, which resolved the surface and the
//!   request id) that evaluates the table **once per request**, journals every fault that fires
//!   with its rule id, sleeps for latency, answers for the fault, or leaves a [`Fired`] in the
//!   request's extensions for the two handler hooks (`unknown-kid` at the token endpoint,
//!   `missing-key` at the JWKS).
//!
//! Rules live in memory: the fixtures' `[[faults]]` are loaded at start and again on
//! `POST /_emulator/reset` (which drops rules added at run time); a restart forgets run-time rules.

pub mod facts;
pub mod layer;
pub mod render;
pub mod rule;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use facts::Facts;
pub use rule::{FaultSurface, Kind, Match, RuleSpec, When};

/// A rule in the table, with its counters.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub spec: RuleSpec,
    /// Emulator time the rule was added: the claims challenge refuses tokens older than this.
    pub added: OffsetDateTime,
    from: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    /// Fires left (`when.count`), or none for unlimited.
    remaining: Option<AtomicU64>,
    fired: AtomicU64,
    rng: Mutex<StdRng>,
}

/// How a rule looks in `GET /_emulator/faults`.
#[derive(Debug, Serialize)]
pub struct RuleView {
    /// The spec, with its `id` and its window made absolute (`from`/`until`).
    #[serde(flatten)]
    pub spec: RuleSpec,
    pub added: String,
    /// How many times it fired.
    pub fired: u64,
    /// Fires left, when `when.count` was given.
    pub remaining: Option<u64>,
}

/// A rule that fired for a request, with what the request needs to carry it out.
#[derive(Clone, Debug)]
pub struct Fired {
    pub rule: Arc<Rule>,
    /// For `latency`: the drawn delay.
    pub latency_ms: u64,
}

impl Fired {
    pub fn kind(&self) -> Kind {
        self.rule.spec.kind
    }
}

/// The faults of one request: the rules that fired (latency rules first, then at most one other).
#[derive(Clone, Debug, Default)]
pub struct FiredSet(pub Vec<Fired>);

impl FiredSet {
    /// The fired rule of `kind`, if any.
    pub fn of(&self, kind: Kind) -> Option<&Fired> {
        self.0.iter().find(|f| f.kind() == kind)
    }
}

/// The fault table of one emulator.
pub struct Faults {
    rules: RwLock<Arc<Vec<Arc<Rule>>>>,
    /// False when no rule is in the table: the request path then skips everything.
    any: AtomicBool,
    /// True when some rule matches on the credential ([`RuleSpec::reads_credential`]).
    credentials: AtomicBool,
    next_id: AtomicU64,
}

impl Faults {
    /// A table holding `specs` (the fixtures' rules), added at emulator time `now`.
    pub fn new(specs: &[RuleSpec], now: OffsetDateTime) -> Result<Self, String> {
        let faults = Faults {
            rules: RwLock::new(Arc::new(Vec::new())),
            any: AtomicBool::new(false),
            credentials: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
        };
        faults.reset(specs, now)?;
        Ok(faults)
    }

    /// True when some rule is in the table.
    pub fn active(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    /// True when some rule matches on the request's credential, so its facts must be gathered
    /// before evaluation (otherwise only once a rule has fired, for the journal and the answer).
    pub fn read_credentials(&self) -> bool {
        self.credentials.load(Ordering::Relaxed)
    }

    /// Installs `next` as the table, with its summary flags; the caller holds the write lock.
    fn install(&self, table: &mut Arc<Vec<Arc<Rule>>>, next: Vec<Arc<Rule>>) {
        self.any.store(!next.is_empty(), Ordering::Relaxed);
        let credentials = next.iter().any(|r| r.spec.reads_credential());
        self.credentials.store(credentials, Ordering::Relaxed);
        *table = Arc::new(next);
    }

    /// The rules, in the order they are evaluated.
    pub fn rules(&self) -> Arc<Vec<Arc<Rule>>> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Adds a rule (checked first); answers it.
    pub fn add(&self, spec: RuleSpec, now: OffsetDateTime) -> Result<Arc<Rule>, String> {
        spec.check()?;
        let mut rules = self.rules.write().unwrap_or_else(|e| e.into_inner());
        let id = match &spec.id {
            Some(id) => id.clone(),
            None => loop {
                let id = format!("f{}", self.next_id.fetch_add(1, Ordering::Relaxed));
                if !rules.iter().any(|r| r.id == id) {
                    break id;
                }
            },
        };
        if rules.iter().any(|r| r.id == id) {
            return Err(format!("a fault rule with id '{id}' exists"));
        }
        let rule = Arc::new(Rule::new(id, spec, now)?);
        let mut next: Vec<Arc<Rule>> = rules.as_ref().clone();
        next.push(rule.clone());
        self.install(&mut rules, next);
        Ok(rule)
    }

    /// Removes one rule; false when there was none of that id.
    pub fn remove(&self, id: &str) -> bool {
        let mut rules = self.rules.write().unwrap_or_else(|e| e.into_inner());
        let next: Vec<Arc<Rule>> = rules.iter().filter(|r| r.id != id).cloned().collect();
        let removed = next.len() != rules.len();
        self.install(&mut rules, next);
        removed
    }

    /// Removes every rule; answers how many there were.
    pub fn clear(&self) -> usize {
        let mut rules = self.rules.write().unwrap_or_else(|e| e.into_inner());
        let n = rules.len();
        self.install(&mut rules, Vec::new());
        n
    }

    /// Back to `specs` (the fixtures' rules), counters fresh.
    pub fn reset(&self, specs: &[RuleSpec], now: OffsetDateTime) -> Result<(), String> {
        self.clear();
        for spec in specs {
            self.add(spec.clone(), now)
                .map_err(|e| format!("fault {:?}: {e}", spec.id))?;
        }
        Ok(())
    }

    /// Evaluates every rule against the request, in order: each latency rule that admits it fires
    /// and evaluation goes on; the first other rule that admits it fires and ends it.
    pub fn evaluate(&self, facts: &Facts, now: OffsetDateTime) -> FiredSet {
        let mut fired = Vec::new();
        // Under the read lock, without cloning the table's `Arc`: one shared counter fewer to
        // bounce between worker threads on every request.
        let rules = self.rules.read().unwrap_or_else(|e| e.into_inner());
        for rule in rules.iter() {
            if !facts.matches(rule) || !rule.admits(now) {
                continue;
            }
            let latency_ms = rule.latency();
            fired.push(Fired {
                rule: rule.clone(),
                latency_ms,
            });
            if rule.spec.kind != Kind::Latency {
                break;
            }
        }
        FiredSet(fired)
    }
}

impl Rule {
    fn new(id: String, mut spec: RuleSpec, now: OffsetDateTime) -> Result<Self, String> {
        let parse = |v: &Option<String>| -> Result<Option<OffsetDateTime>, String> {
            v.as_deref()
                .map(|s| OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("'{s}': {e}")))
                .transpose()
        };
        let mut from = parse(&spec.when.from)?;
        let mut until = parse(&spec.when.until)?;
        if let Some(after) = spec.when.after_seconds {
            from = Some(now + time::Duration::seconds(after));
        }
        if let Some(length) = spec.when.for_seconds {
            until = Some(from.unwrap_or(now) + time::Duration::seconds(length));
        }
        let rfc = |t: Option<OffsetDateTime>| t.and_then(|t| t.format(&Rfc3339).ok());
        spec.when.from = rfc(from);
        spec.when.until = rfc(until);
        spec.when.after_seconds = None;
        spec.when.for_seconds = None;
        spec.id = Some(id.clone());
        Ok(Rule {
            remaining: spec.when.count.map(AtomicU64::new),
            rng: Mutex::new(StdRng::seed_from_u64(spec.when.seed.unwrap_or(0))),
            fired: AtomicU64::new(0),
            id,
            spec,
            added: now,
            from,
            until,
        })
    }

    /// The window, then the probability draw, then the count (taken atomically, so N concurrent
    /// requests cannot fire a rule of count N more than N times).
    fn admits(&self, now: OffsetDateTime) -> bool {
        if self.from.is_some_and(|f| now < f) || self.until.is_some_and(|u| now >= u) {
            return false;
        }
        if let Some(remaining) = &self.remaining {
            if remaining.load(Ordering::Relaxed) == 0 {
                return false;
            }
        }
        if let Some(p) = self.spec.when.probability {
            let draw: f64 = self.rng.lock().unwrap_or_else(|e| e.into_inner()).gen();
            if draw >= p {
                return false;
            }
        }
        if let Some(remaining) = &self.remaining {
            let took = remaining.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
            if took.is_err() {
                return false;
            }
        }
        self.fired.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The delay of a latency rule: fixed, or drawn from its range with its seeded generator.
    fn latency(&self) -> u64 {
        match (self.spec.latency_ms, self.spec.latency_max_ms) {
            (Some(lo), Some(hi)) if hi > lo => self.rng.lock().unwrap_or_else(|e| e.into_inner()).gen_range(lo..=hi),
            (Some(lo), _) => lo,
            _ => 0,
        }
    }

    pub fn view(&self) -> RuleView {
        RuleView {
            spec: self.spec.clone(),
            added: self.added.format(&Rfc3339).unwrap_or_default(),
            fired: self.fired.load(Ordering::Relaxed),
            remaining: self.remaining.as_ref().map(|r| r.load(Ordering::Relaxed)),
        }
    }
}
