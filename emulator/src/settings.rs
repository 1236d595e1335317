//! Run-time behaviour a world may ask for, all off by default: role-assignment propagation delay,
//! Entra-like token-lifetime jitter, and the token call's latency from the distance between a
//! workspace's region and its cluster's. Set in the fixtures (`[settings]`), with `serve
//! --region-latency`, and at run time (`GET|POST /_emulator/settings`). In memory: a restart
//! goes back to the fixtures and flags.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The fixtures' `[settings]` table and the body of `POST /_emulator/settings` (fields left out
/// are unchanged there).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsSpec {
    /// Seconds a new or deleted role assignment takes to take effect, on the emulator clock
    /// (Azure: "please observe propagation time"). 0 = at once (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation_seconds: Option<u64>,
    /// Milliseconds the Azure ML token call takes per 1000 km between the workspace's region and
    /// the service's cluster region (see [`crate::domain::regions`]). 0 = none (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_latency_ms_per_1000km: Option<f64>,
    /// Entra-like access-token lifetimes: drawn uniformly from 60–90 minutes with this seed
    /// (Entra ID issues 60–90 min, 75 on average), unless an application sets its own lifetime.
    /// `null` turns jitter off at run time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime_jitter_seed: Option<u64>,
    /// With `POST /_emulator/settings`: `true` turns jitter off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub token_lifetime_jitter_off: bool,
}

/// What `GET /_emulator/settings` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsView {
    pub propagation_seconds: u64,
    pub region_latency_ms_per_1000km: f64,
    /// The jitter's seed, or null when lifetimes are fixed.
    pub token_lifetime_jitter_seed: Option<u64>,
}

/// Largest accepted values (a typo of a few orders of magnitude is refused, not obeyed).
pub const MAX_PROPAGATION_SECONDS: u64 = 7 * 24 * 3600;
pub const MAX_MS_PER_1000KM: f64 = 10_000.0;

/// The emulator's current settings.
pub struct Settings {
    propagation_seconds: AtomicU64,
    /// f64 bits.
    region_latency: AtomicU64,
    jitter: Mutex<Option<(u64, StdRng)>>,
}

impl Settings {
    pub fn new(spec: &SettingsSpec) -> Result<Self, String> {
        let s = Settings {
            propagation_seconds: AtomicU64::new(0),
            region_latency: AtomicU64::new(0f64.to_bits()),
            jitter: Mutex::new(None),
        };
        s.apply(spec)?;
        Ok(s)
    }

    /// Changes what `spec` names; checks everything before changing anything.
    pub fn apply(&self, spec: &SettingsSpec) -> Result<(), String> {
        if spec.propagation_seconds.is_some_and(|p| p > MAX_PROPAGATION_SECONDS) {
            return Err(format!("propagation_seconds is at most {MAX_PROPAGATION_SECONDS}"));
        }
        if spec
            .region_latency_ms_per_1000km
            .is_some_and(|m| !(0.0..=MAX_MS_PER_1000KM).contains(&m))
        {
            return Err(format!(
                "region_latency_ms_per_1000km is between 0 and {MAX_MS_PER_1000KM}"
            ));
        }
        if spec.token_lifetime_jitter_off && spec.token_lifetime_jitter_seed.is_some() {
            return Err("give token_lifetime_jitter_seed or token_lifetime_jitter_off, not both".into());
        }
        if let Some(p) = spec.propagation_seconds {
            self.propagation_seconds.store(p, Ordering::Relaxed);
        }
        if let Some(m) = spec.region_latency_ms_per_1000km {
            self.region_latency.store(m.to_bits(), Ordering::Relaxed);
        }
        let mut jitter = self.jitter.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(seed) = spec.token_lifetime_jitter_seed {
            *jitter = Some((seed, StdRng::seed_from_u64(seed)));
        }
        if spec.token_lifetime_jitter_off {
            *jitter = None;
        }
        Ok(())
    }

    /// Back to the defaults, then `spec` (the fixtures' settings): what `POST /_emulator/reset` does.
    pub fn reset(&self, spec: &SettingsSpec) -> Result<(), String> {
        self.apply(&SettingsSpec {
            propagation_seconds: Some(0),
            region_latency_ms_per_1000km: Some(0.0),
            token_lifetime_jitter_seed: None,
            token_lifetime_jitter_off: true,
        })?;
        self.apply(spec)
    }

    pub fn view(&self) -> SettingsView {
        SettingsView {
            propagation_seconds: self.propagation_seconds(),
            region_latency_ms_per_1000km: self.region_latency_ms_per_1000km(),
            token_lifetime_jitter_seed: self
                .jitter
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map(|(s, _)| *s),
        }
    }

    pub fn propagation_seconds(&self) -> u64 {
        self.propagation_seconds.load(Ordering::Relaxed)
    }

    pub fn region_latency_ms_per_1000km(&self) -> f64 {
        f64::from_bits(self.region_latency.load(Ordering::Relaxed))
    }

    /// The token call's latency between two regions: distance × the per-1000-km figure.
    /// Unknown regions (not in the table) add none.
    pub fn region_latency(&self, workspace_region: &str, cluster_region: Option<&str>) -> std::time::Duration {
        let per = self.region_latency_ms_per_1000km();
        let km = cluster_region
            .and_then(|c| crate::domain::regions::distance_km(workspace_region, c))
            .unwrap_or(0.0);
        std::time::Duration::from_micros((km / 1000.0 * per * 1000.0).round() as u64)
    }

    /// A jittered lifetime (60–90 min) when jitter is on; else none.
    pub fn jittered_lifetime(&self) -> Option<i64> {
        let mut jitter = self.jitter.lock().unwrap_or_else(|e| e.into_inner());
        jitter.as_mut().map(|(_, rng)| rng.gen_range(3600..=5400))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_apply_and_check() {
        let s = Settings::new(&SettingsSpec::default()).unwrap();
        assert_eq!(
            s.region_latency("eastus", Some("westeurope")),
            std::time::Duration::ZERO
        );
        s.apply(&SettingsSpec {
            region_latency_ms_per_1000km: Some(100.0),
            token_lifetime_jitter_seed: Some(7),
            ..SettingsSpec::default()
        })
        .unwrap();
        let far = s.region_latency("eastus", Some("westeurope"));
        assert!(far > std::time::Duration::from_millis(500), "{far:?}");
        assert_eq!(s.region_latency("eastus", Some("eastus")), std::time::Duration::ZERO);
        let a: Vec<i64> = (0..5).filter_map(|_| s.jittered_lifetime()).collect();
        assert!(a.iter().all(|l| (3600..=5400).contains(l)));
        s.apply(&SettingsSpec {
            token_lifetime_jitter_seed: Some(7),
            ..SettingsSpec::default()
        })
        .unwrap();
        let b: Vec<i64> = (0..5).filter_map(|_| s.jittered_lifetime()).collect();
        assert_eq!(a, b, "seeded: the same lifetimes again");
        assert!(s
            .apply(&SettingsSpec {
                propagation_seconds: Some(MAX_PROPAGATION_SECONDS + 1),
                ..SettingsSpec::default()
            })
            .is_err());
    }
}
