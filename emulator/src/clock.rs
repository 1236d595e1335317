//! The emulator's one clock. Every issuer (iat/nbf/exp, expires_on) and every validator reads it,
//! so moving it is how tests expire tokens at once.

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
    mode: Arc<Mutex<Mode>>,
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
            mode: Arc::new(Mutex::new(Mode::Running { offset: Duration::ZERO })),
        }
    }

    fn mode(&self) -> std::sync::MutexGuard<'_, Mode> {
        self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn now(&self) -> OffsetDateTime {
        match *self.mode() {
            // `set`/`advance` keep the clock within LIMITS, so this cannot overflow for centuries.
            Mode::Running { offset } => OffsetDateTime::now_utc() + offset,
            Mode::Frozen { at } => at,
        }
    }

    /// Unix seconds, as JWT claims carry them.
    pub fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// Moves the clock forward (or back, with a negative amount), frozen or not. Refuses to leave
    /// the years 1971–9000, so every later computation stays in range.
    pub fn advance(&self, by: Duration) -> Result<(), OutOfRange> {
        let target = self.now().checked_add(by).ok_or(OutOfRange)?;
        check_range(target)?;
        let mut mode = self.mode();
        *mode = match *mode {
            Mode::Running { offset } => Mode::Running { offset: offset + by },
            Mode::Frozen { at } => Mode::Frozen { at: at + by },
        };
        Ok(())
    }

    pub fn freeze(&self) {
        let now = self.now();
        *self.mode() = Mode::Frozen { at: now };
    }

    /// Sets the current time; a frozen clock stays frozen at the new instant.
    pub fn set(&self, at: OffsetDateTime) -> Result<(), OutOfRange> {
        check_range(at)?;
        let mut mode = self.mode();
        *mode = match *mode {
            Mode::Frozen { .. } => Mode::Frozen { at },
            Mode::Running { .. } => Mode::Running {
                offset: at - OffsetDateTime::now_utc(),
            },
        };
        Ok(())
    }

    /// Back to system time: no offset, not frozen.
    pub fn resume(&self) {
        *self.mode() = Mode::Running { offset: Duration::ZERO };
    }

    pub fn state(&self) -> ClockState {
        let mode = *self.mode();
        let system = OffsetDateTime::now_utc();
        let (now, frozen) = match mode {
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
