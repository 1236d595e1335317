//! What an emulator is started with: [`Config`] (`serve`'s flags, or a test's choices) and where
//! its state lives ([`Storage`]).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::clock::Clock;
use crate::fixtures::WorldSpec;
use crate::state::RbacMode;

/// Where state lives.
#[derive(Clone, Debug)]
pub enum Storage {
    /// SQLite in memory; TLS files in a temporary dir removed at stop.
    InMemory,
    /// SQLite file, signing keys and certificates in this directory (created if missing).
    Dir(PathBuf),
}

/// Everything `Emulator::start` needs. `Config::default()` is a throwaway emulator on a free port.
#[derive(Clone, Debug)]
pub struct Config {
    pub host: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub storage: Storage,
    /// The world file; `None` is the compiled-in default world.
    pub fixtures: Option<PathBuf>,
    /// A world given as a value (tests build them): wins over `fixtures`.
    pub world: Option<WorldSpec>,
    /// The user's own certificate chain and key (PEM) instead of the generated ones.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Lets non-loopback clients use `/_emulator` when they present it. Must not be empty.
    pub admin_key: Option<String>,
    pub workers: usize,
    /// A client must send its request head within this, and no part of its body may stall for
    /// longer (the whole body gets twelve times this); otherwise 408 and the connection is closed.
    pub request_timeout: Duration,
    /// Client connections held at once; `None` derives the cap from the descriptor limit
    /// ([`crate::connections`]).
    pub max_connections: Option<usize>,
    /// The clock to use; tests may share one with the emulator.
    pub clock: Clock,
    pub rbac_mode: RbacMode,
    /// Other origins (`https://host[:port]`) clients reach this emulator by, besides the listening
    /// URL and the loopback names its certificate covers: URLs are minted for them and they are
    /// accepted as audiences. A request with any other Host is answered with the listening URL.
    pub origins: Vec<String>,
    /// The managed-identity endpoints' plain-HTTP port, always on loopback; 0 picks a free one.
    pub msi_port: u16,
    /// Also serve on 127.0.0.1:443 when it may be bound (msal's ROPC asks user-realm discovery
    /// there, whatever the authority's port); a refusal is logged, not fatal.
    pub listen_443: bool,
    /// Auto sign-in from the start: the UPN (or object id) interactive sign-ins complete as.
    pub auto_sign_in: Option<String>,
    /// The decision journal records (true) or not (`serve --journal off`).
    pub journal: bool,
    /// Entries the journal shows (the oldest go first; memory holds up to 4 × this, one part per
    /// recording thread).
    pub journal_size: usize,
    /// Overrides the fixtures' `settings.region_latency_ms_per_1000km`.
    pub region_latency_ms_per_1000km: Option<f64>,
    /// How long long-running operations take on the emulator clock (`serve --lro-seconds`).
    pub lro: time::Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            storage: Storage::InMemory,
            fixtures: None,
            world: None,
            tls: None,
            admin_key: None,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()).min(4),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_connections: None,
            clock: Clock::system(),
            rbac_mode: RbacMode::Enforce,
            origins: Vec::new(),
            msi_port: 0,
            listen_443: false,
            auto_sign_in: None,
            journal: true,
            journal_size: crate::decision::journal::DEFAULT_CAPACITY,
            region_latency_ms_per_1000km: None,
            lro: time::Duration::seconds(1),
        }
    }
}

/// The default of [`Config::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
