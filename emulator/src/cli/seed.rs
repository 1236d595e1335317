//! `seed`: a new data dir written from fixtures, without serving; and `serve`'s use of it for a
//! big world, whose seeding then runs in a process of its own.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use clap::Args;

use super::{CliError, DEFAULT_DATA_DIR};
use crate::server::{Config, Storage};

#[derive(Args, Debug)]
pub(super) struct SeedArgs {
    /// The data dir to write (it must not hold a database yet).
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// World file (TOML). Default: the built-in copy of fixtures/default.toml.
    #[arg(long)]
    fixtures: Option<PathBuf>,
}

/// Writes the world, the signing key and the TLS certificate into a new data dir and exits;
/// `serve --data-dir` on it then starts as a restart (CI can build the data dir once and cache it).
pub(super) fn seed(args: SeedArgs) -> Result<(), CliError> {
    let config = Config {
        storage: Storage::Dir(args.data_dir.clone()),
        fixtures: args.fixtures,
        ..Config::default()
    };
    crate::server::seed(&config)?;
    println!("seeded {}", args.data_dir.display());
    Ok(())
}

/// Fixtures files from this size on (about 20,000 role assignments) are seeded by a child
/// process when `serve` finds no database in its data dir.
///
/// Why: seeding such a world takes far more heap than serving it (the parsed file, the seed,
/// SQLite's page cache for the inserts: 140 MiB after a first start of 100,000 assignments
/// against 53 MiB after a restart), and glibc keeps what was freed below memory still in use,
/// so an emulator that seeded in its own process stays that large. A child returns it all when
/// it exits. Smaller worlds seed in-process: the child's own start would cost more than it saves.
const SEED_APART_BYTES: u64 = 4 << 20;

/// Seeds `config`'s data dir in a child process (`seed`) when it is new and its fixtures file is
/// big ([`SEED_APART_BYTES`]). A child that fails, or cannot be started (the binary replaced on
/// disk), leaves the seeding to the start that follows, which reports any error itself (seeding
/// is one transaction: nothing half-written is kept).
pub(super) fn seed_apart_if_big(config: &Config) {
    let (Storage::Dir(dir), Some(fixtures)) = (&config.storage, &config.fixtures) else {
        return;
    };
    let big = std::fs::metadata(fixtures).is_ok_and(|m| m.len() >= SEED_APART_BYTES);
    if !big || crate::store::exists_in(dir) {
        return;
    }
    let status = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .arg("seed")
            .arg("--data-dir")
            .arg(dir)
            .arg("--fixtures")
            .arg(fixtures)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    });
    match status {
        Ok(s) if s.success() => {
            tracing::info!(data_dir = %dir.display(), "seeded by a child process (a big world: its seeding heap went with it)");
        }
        Ok(s) => tracing::warn!(status = %s, "seeding in a child process failed; seeding in this one"),
        Err(e) => tracing::warn!(error = %e, "no child process to seed in; seeding in this one"),
    }
}
