//! Faults with Azure's semantics: rules that make a surface throttle, fail, slow down, refuse a
//! valid credential, sign with an unpublished key, cut a connection — on demand, in the exact shape
//! of the surface they fire on.
//!
//! - [`rule`]: what a rule is ([`RuleSpec`]: match, kind, when) and where each kind may be used.
//! - [`facts`]: what a request is, as far as rules match on it (surface, route, grant, tenant,
//!   principal, workspace, service, region), gathered once per request — only when a rule is
//!   active (an empty table costs one atomic load), and only what the table's rules look at
//!   ([`Needs`]): a table matching on the path never reads the body, the credential or the world.
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

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use facts::{Facts, Needs};
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
    /// Read on every request through `arc-swap`, which takes no share of anything other workers
    /// read; replaced whole under `edit`.
    rules: ArcSwap<Vec<Arc<Rule>>>,
    edit: Mutex<()>,
    /// What the rules look at ([`Needs`], in its bits): none when the table is empty, and the
    /// request path then skips everything.
    needs: AtomicU32,
    next_id: AtomicU64,
}

impl Faults {
    /// A table holding `specs` (the fixtures' rules), added at emulator time `now`.
    pub fn new(specs: &[RuleSpec], now: OffsetDateTime) -> Result<Self, String> {
        let faults = Faults {
            rules: ArcSwap::from_pointee(Vec::new()),
            edit: Mutex::new(()),
            needs: AtomicU32::new(0),
            next_id: AtomicU64::new(1),
        };
        faults.reset(specs, now)?;
        Ok(faults)
    }

    /// True when some rule is in the table.
    pub fn active(&self) -> bool {
        self.needs.load(Ordering::Relaxed) != 0
    }

    /// What the table's rules look at: the surfaces they apply to, and whether a request's
    /// credential must be read before evaluation (otherwise only once a rule has fired, for the
    /// journal and the answer) and the world consulted.
    pub fn needs(&self) -> Needs {
        Needs::from_bits(self.needs.load(Ordering::Relaxed))
    }

    /// Installs `next` as the table, with its summary flags; the caller holds `edit`.
    fn install(&self, next: Vec<Arc<Rule>>) {
        let needs = next.iter().fold(Needs::default(), |n, r| n.union(Needs::of(&r.spec)));
        self.needs.store(needs.bits(), Ordering::Relaxed);
        self.rules.store(Arc::new(next));
    }

    fn edit(&self) -> std::sync::MutexGuard<'_, ()> {
        self.edit.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The rules, in the order they are evaluated.
    pub fn rules(&self) -> Arc<Vec<Arc<Rule>>> {
        self.rules.load_full()
    }

    /// Adds a rule (checked first); answers it.
    pub fn add(&self, spec: RuleSpec, now: OffsetDateTime) -> Result<Arc<Rule>, String> {
        spec.check()?;
        let _edit = self.edit();
        let rules = self.rules.load();
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
        self.install(next);
        Ok(rule)
    }

    /// Removes one rule; false when there was none of that id.
    pub fn remove(&self, id: &str) -> bool {
        let _edit = self.edit();
        let rules = self.rules.load();
        let next: Vec<Arc<Rule>> = rules.iter().filter(|r| r.id != id).cloned().collect();
        let removed = next.len() != rules.len();
        self.install(next);
        removed
    }

    /// Removes every rule; answers how many there were.
    pub fn clear(&self) -> usize {
        let _edit = self.edit();
        let n = self.rules.load().len();
        self.install(Vec::new());
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
    /// The emulator clock is read only once a rule matches.
    pub fn evaluate(&self, facts: &Facts, clock: &crate::clock::Clock) -> FiredSet {
        let mut fired = Vec::new();
        let mut now = None;
        // Without cloning the table's `Arc` or taking a read lock: no shared counter to bounce
        // between worker threads on every request.
        let rules = self.rules.load();
        for rule in rules.iter() {
            if !facts.matches(rule) || !rule.admits(*now.get_or_insert_with(|| clock.now())) {
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
