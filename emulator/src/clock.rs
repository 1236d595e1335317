//! The emulator's one clock. Every issuer (iat/nbf/exp, expires_on) and every validator reads it,
//! so moving it is how tests expire tokens at once.

use std::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// System time plus an offset.
    Running { offset: Duration },
    /// Stopped at an instant; `offset` is kept to report how far it is from system time.
    Frozen { at: OffsetDateTime },
}

/// A cheap, cloneable handle; clones share the same time.
#[derive(Clone, Debug)]
pub struct Clock {
    mode: Arc<Cell>,
}

/// The mode, read without a lock: every request reads the clock, on every worker thread, and a
/// lock's word would bounce between their cores. A sequence lock: a writer (serialised by
/// `write`) makes `seq` odd, stores the mode and makes it even again; a reader retries until it
/// saw the same even `seq` before and after reading.
#[derive(Debug)]
struct Cell {
    seq: AtomicU64,
    frozen: AtomicBool,
    /// The offset (running) or the instant since the Unix epoch (frozen), in nanoseconds, as
    /// the high and low halves of an `i128`.
    high: AtomicI64,
    low: AtomicU64,
    write: Mutex<()>,
}

impl Cell {
    fn new(mode: Mode) -> Self {
        let cell = Cell {
            seq: AtomicU64::new(0),
            frozen: AtomicBool::new(false),
            high: AtomicI64::new(0),
            low: AtomicU64::new(0),
            write: Mutex::new(()),
        };
        cell.store(mode);
        cell
    }

    fn load(&self) -> Mode {
        let (frozen, nanos) = self.load_raw();
        Self::mode_of(frozen, nanos)
    }

    /// The mode [`Cell::load_raw`]'s reading stands for.
    fn mode_of(frozen: bool, nanos: i128) -> Mode {
        if frozen {
            Mode::Frozen {
                at: OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            }
        } else {
            Mode::Running {
                offset: Duration::nanoseconds_i128(nanos),
            }
        }
    }

    /// Whether the clock is frozen, and its offset or frozen instant in nanoseconds.
    fn load_raw(&self) -> (bool, i128) {
        loop {
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let frozen = self.frozen.load(Ordering::Relaxed);
            let nanos =
                (i128::from(self.high.load(Ordering::Relaxed)) << 64) | i128::from(self.low.load(Ordering::Relaxed));
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == before {
                return (frozen, nanos);
            }
        }
    }

    /// Stores `mode`; the caller holds `write`.
    fn store(&self, mode: Mode) {
        let (frozen, nanos) = match mode {
            Mode::Running { offset } => (false, offset.whole_nanoseconds()),
            Mode::Frozen { at } => (true, at.unix_timestamp_nanos()),
        };
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        self.frozen.store(frozen, Ordering::Relaxed);
        self.high.store((nanos >> 64) as i64, Ordering::Relaxed);
        self.low.store(nanos as u64, Ordering::Relaxed);
        self.seq.store(seq + 2, Ordering::Release);
    }

    /// Changes the mode with `change`, one writer at a time.
    fn update(&self, change: impl FnOnce(Mode) -> Mode) {
        let _writer = self.write.lock().unwrap_or_else(|e| e.into_inner());
        self.store(change(self.load()));
    }
}

/// What `GET /_emulator/clock` reports.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClockState {
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    pub frozen: bool,
    pub offset_seconds: i64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    pub fn system() -> Self {
        Clock {
            mode: Arc::new(Cell::new(Mode::Running { offset: Duration::ZERO })),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.now_and_system().0
    }

    /// The emulator's time and the system's, from one reading of the system clock.
    pub fn now_and_system(&self) -> (OffsetDateTime, OffsetDateTime) {
        let system = OffsetDateTime::now_utc();
        match self.mode.load_raw() {
            // A clock never moved is the system's: no 128-bit division, no date arithmetic.
            (false, 0) => (system, system),
            (frozen, nanos) => match Cell::mode_of(frozen, nanos) {
                // `set`/`advance` keep the clock within 1971–9000, so this cannot overflow.
                Mode::Running { offset } => (system + offset, system),
                Mode::Frozen { at } => (at, system),
            },
        }
    }

    /// Unix seconds, as JWT claims carry them.
    pub fn unix(&self) -> i64 {
        (self.unix_nanos_and_system().0.div_euclid(1_000_000_000)) as i64
    }

    /// The emulator's time and the system's in nanoseconds since the Unix epoch, without the
    /// calendar arithmetic of [`Clock::now_and_system`]: what the hot paths keep.
    pub fn unix_nanos_and_system(&self) -> (i128, i128) {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        match self.mode.load_raw() {
            (true, at) => (at, system),
            (false, offset) => (system + offset, system),
        }
    }

    /// Moves the clock forward (or back, with a negative amount), frozen or not. Refuses to leave
    /// the years 1971–9000, so every later computation stays in range.
    pub fn advance(&self, by: Duration) -> Result<(), OutOfRange> {
        let target = self.now().checked_add(by).ok_or(OutOfRange)?;
        check_range(target)?;
        self.mode.update(|mode| match mode {
            Mode::Running { offset } => Mode::Running { offset: offset + by },
            Mode::Frozen { at } => Mode::Frozen { at: at + by },
        });
        Ok(())
    }

    pub fn freeze(&self) {
        self.mode.update(|mode| match mode {
            Mode::Running { offset } => Mode::Frozen {
                at: OffsetDateTime::now_utc() + offset,
            },
            frozen => frozen,
        });
    }

    /// Sets the current time; a frozen clock stays frozen at the new instant.
    pub fn set(&self, at: OffsetDateTime) -> Result<(), OutOfRange> {
        check_range(at)?;
        self.mode.update(|mode| match mode {
            Mode::Frozen { .. } => Mode::Frozen { at },
            Mode::Running { .. } => Mode::Running {
                offset: at - OffsetDateTime::now_utc(),
            },
        });
        Ok(())
    }

    /// Back to system time: no offset, not frozen.
    pub fn resume(&self) {
        self.mode.update(|_| Mode::Running { offset: Duration::ZERO });
    }

    pub fn state(&self) -> ClockState {
        let system = OffsetDateTime::now_utc();
        let (now, frozen) = match self.mode.load() {
            Mode::Running { offset } => (system + offset, false),
            Mode::Frozen { at } => (at, true),
        };
        ClockState {
            now,
            frozen,
            offset_seconds: (now - system).whole_seconds(),
        }
    }
}

/// A clock move that would leave the supported years.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the clock must stay between 1971 and 9000")]
pub struct OutOfRange;

fn check_range(at: OffsetDateTime) -> Result<(), OutOfRange> {
    if (1971..=9000).contains(&at.year()) {
        Ok(())
    } else {
        Err(OutOfRange)
    }
}

/// Parses `90`, `90s`, `15m`, `1h`, `2d` (optionally negative) into a duration: the CLI's `clock advance` argument.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let split = body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len());
    let (digits, unit) = body.split_at(split);
    let n: i64 = digits.parse().ok()?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::seconds(if negative { -seconds } else { seconds }))
}

/// ARM's timestamp format: .NET's round-trip form, 7 fractional digits and `Z`
/// (`2024-01-01T00:00:00.0000000Z`), as recorded ARM answers write `createdOn` and `systemData`.
pub fn arm_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_freeze_set_resume() {
        let clock = Clock::system();
        let before = clock.unix();
        clock.advance(Duration::hours(1)).unwrap();
        assert!((clock.unix() - before - 3600).abs() <= 1);
        clock.freeze();
        let frozen = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(clock.now(), frozen);
        assert!(clock.state().frozen);
        let target = time::macros::datetime!(2030-01-01 00:00 UTC);
        clock.set(target).unwrap();
        assert_eq!(clock.now(), target);
        assert_eq!(
            clock.set(time::macros::datetime!(9999-12-31 23:00 UTC)),
            Err(OutOfRange)
        );
        assert_eq!(clock.advance(Duration::days(365 * 8000)), Err(OutOfRange));
        assert_eq!(clock.now(), target, "a refused move changes nothing");
        clock.resume();
        let state = clock.state();
        assert!(!state.frozen);
        assert_eq!(state.offset_seconds, 0);
    }

    #[test]
    fn readers_never_see_a_half_written_time() {
        // Instants whose high and low halves both differ, so a torn read would be neither.
        let a = time::macros::datetime!(1980-01-01 00:00:00.000000001 UTC);
        let b = time::macros::datetime!(8000-12-31 23:59:59.999999999 UTC);
        let clock = Clock::system();
        clock.freeze();
        clock.set(a).unwrap();
        std::thread::scope(|s| {
            let writer = clock.clone();
            s.spawn(move || {
                for i in 0..20_000 {
                    writer.set(if i % 2 == 0 { b } else { a }).unwrap();
                }
            });
            for _ in 0..2 {
                let reader = clock.clone();
                s.spawn(move || {
                    for _ in 0..20_000 {
                        let now = reader.now();
                        assert!(now == a || now == b, "torn read: {now}");
                    }
                });
            }
        });
    }

    #[test]
    fn clones_share_time() {
        let a = Clock::system();
        let b = a.clone();
        a.advance(Duration::days(1)).unwrap();
        assert!(b.state().offset_seconds >= 86_399);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("1h"), Some(Duration::hours(1)));
        assert_eq!(parse_duration("90"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("-5m"), Some(Duration::minutes(-5)));
        assert_eq!(parse_duration("2d"), Some(Duration::days(2)));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("1y"), None);
    }
}
