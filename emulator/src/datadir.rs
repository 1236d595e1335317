//! The data dir: its absolute path, owner-only modes, and the lock that keeps a second emulator out.
//!
//! The database holds the token-signing key and every service key, so the directory is 0700 and
//! every file the emulator writes in it is 0600. Modes are also fixed at start, so data dirs from
//! older versions (0755 / 0644) are tightened. A shared directory (sticky, like `/tmp` itself) or
//! one owned by another user is refused instead: tightening it would break it for its users, and
//! using it as it is would let them replace our files.
//!
//! While an emulator runs, it holds an exclusive advisory lock on `emulator.lock` in the dir, which
//! also records its pid. A second emulator on the same dir fails to start, naming the first's pid
//! and URL, before it touches anything (the first's ready file included). The kernel drops the
//! lock when the process dies, even by `kill -9`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The files the emulator writes in a data dir; each is kept owner-only.
pub const FILES: &[&str] = &[
    "emulator.sqlite3",
    "emulator.sqlite3-wal",
    "emulator.sqlite3-shm",
    "emulator.sqlite3-journal",
    "ca.pem",
    "ca-key.pem",
    "server.pem",
    "server-key.pem",
    "ca-bundle.pem",
    "ready.json",
    LOCK_FILE,
];

/// Holds the lock; its content is the pid of the emulator holding it.
pub const LOCK_FILE: &str = "emulator.lock";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("data dir {path} exists and is not a directory; pass --data-dir with a directory path")]
    NotADirectory { path: String },
    #[error(
        "data dir {path} is a shared directory ({why}); the emulator keeps keys there: choose a directory of your own"
    )]
    Shared { path: String, why: String },
    #[error("cannot use data dir {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("data dir {path} is in use by another emulator ({holder}); stop it, or pass another --data-dir")]
    InUse { path: String, holder: String },
}

/// A data dir this process has locked. Dropping it releases the lock.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates (0700) or checks `path`, tightens the modes of what is in it, and locks it.
    pub fn open(path: &Path) -> Result<Self, DataDirError> {
        let shown = path.display().to_string();
        let io_err = |source| DataDirError::Io {
            path: shown.clone(),
            source,
        };
        match fs::metadata(path) {
            Ok(m) if !m.is_dir() => return Err(DataDirError::NotADirectory { path: shown }),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_private_dir(path).map_err(io_err)?,
            Err(e) => return Err(io_err(e)),
        }
        let path = fs::canonicalize(path).map_err(io_err)?;
        secure_dir(&path)?;
        let lock = lock(&path)?;
        for name in FILES {
            tighten(&path.join(name)).map_err(|source| DataDirError::Io {
                path: path.join(name).display().to_string(),
                source,
            })?;
        }
        Ok(DataDir { path, _lock: lock })
    }

    /// Absolute and canonical.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

#[cfg(unix)]
fn secure_dir(path: &Path) -> Result<(), DataDirError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let io_err = |source| DataDirError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = fs::metadata(path).map_err(io_err)?;
    let mode = meta.permissions().mode() & 0o7777;
    let shared = |why: String| DataDirError::Shared {
        path: path.display().to_string(),
        why,
    };
    if mode & 0o1000 != 0 {
        return Err(shared(format!("sticky, mode {mode:o}")));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(shared(format!("owned by uid {}, not {me}", meta.uid())));
    }
    if mode & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(io_err)?;
        tracing::info!(dir = %path.display(), from = format!("{mode:o}"), "data dir made owner-only (0700)");
    }
    Ok(())
}

#[cfg(not(unix))]
fn secure_dir(_: &Path) -> Result<(), DataDirError> {
    Ok(())
}

/// Makes an existing file owner-only (0600); absent files are fine.
pub fn tighten(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match fs::symlink_metadata(path) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o077 != 0 => {
                fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Opens a file for writing, created owner-only (0600) if missing.
fn open_private(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    let file = options.open(path)?;
    tighten(path)?;
    Ok(file)
}

/// Creates `path` empty and owner-only if it does not exist (e.g. before SQLite creates a database
/// there, whose `-wal` and `-shm` files then get the same mode).
pub fn create_private(path: &Path) -> io::Result<()> {
    open_private(path, OpenOptions::new().append(true).create(true)).map(drop)
}

/// Writes `contents` to `path` owner-only and atomically (a temporary file renamed over it), so a
/// reader never sees half of it.
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = open_private(&tmp, OpenOptions::new().write(true).create(true).truncate(true))?;
    file.write_all(contents)?;
    drop(file);
    fs::rename(tmp, path)
}

fn lock(dir: &Path) -> Result<File, DataDirError> {
    let path = dir.join(LOCK_FILE);
    let io_err = |source| DataDirError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = open_private(&path, OpenOptions::new().read(true).write(true).create(true)).map_err(io_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            return Err(DataDirError::InUse {
                path: dir.display().to_string(),
                holder: holder(dir, &mut file),
            })
        }
        Err(fs::TryLockError::Error(e)) => return Err(io_err(e)),
    }
    file.set_len(0).map_err(io_err)?;
    file.rewind().map_err(io_err)?;
    writeln!(file, "{}", std::process::id()).map_err(io_err)?;
    Ok(file)
}

/// "pid N, https://…" of the emulator holding the lock, as far as its files tell.
fn holder(dir: &Path, lock: &mut File) -> String {
    let mut text = String::new();
    let pid: Option<u32> = lock
        .read_to_string(&mut text)
        .ok()
        .and_then(|_| text.trim().parse().ok());
    let ready = fs::read(dir.join("ready.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let url = ready
        .filter(|r| pid.is_some_and(|p| r["pid"] == p))
        .and_then(|r| r["url"].as_str().map(str::to_string));
    match (pid, url) {
        (Some(pid), Some(url)) => format!("pid {pid}, listening on {url}"),
        (Some(pid), None) => format!("pid {pid}"),
        (None, _) => "pid unknown".to_string(),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn write_private_is_atomic_and_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.json");
        fs::write(&f, "old").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&f, b"new").unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "new");
        assert_eq!(mode(&f), 0o600);
        assert!(!dir.path().join("x.json.tmp").exists());
    }

    #[test]
    fn a_sticky_dir_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        let err = DataDir::open(dir.path()).unwrap_err();
        assert!(matches!(err, DataDirError::Shared { .. }), "{err}");
        assert_eq!(mode(dir.path()), 0o777, "left as it was");
    }

    #[test]
    fn an_own_world_writable_dir_is_tightened() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let opened = DataDir::open(dir.path()).unwrap();
        assert_eq!(mode(opened.path()), 0o700);
    }
}
