//! One journal entry and its parts: text fields reused from entry to entry, times formatted
//! when read, a token shown as a short hash.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::Clock;
use crate::decision::CredentialKind;
use crate::http::surface::{RequestInfo, Surface};

/// What the journal shows of a token: the first 12 hex digits of its SHA-256, so a test can tell
/// which of its tokens an entry is about (`printf %s "$TOKEN" | sha256sum | cut -c1-12`) while the
/// journal never holds one.
pub fn token_hash(token: &[u8]) -> String {
    TokenHash(token).to_string()
}

/// A token shown as its [`token_hash`], written where it is displayed.
pub struct TokenHash<'a>(pub &'a [u8]);

impl std::fmt::Display for TokenHash<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.0);
        digest[..6].iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A text field of an entry. Once the journal is full, recording an entry reuses the oldest one's
/// fields in place (cleared, their buffers kept), so the hot path neither allocates nor frees
/// memory another worker thread allocated. Empty reads as absent: `null` in JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    /// Replaces the text with `s`.
    pub fn set(&mut self, s: &str) {
        self.0.clear();
        self.0.push_str(s);
    }

    /// Replaces the text with `s`, or empties it.
    pub fn set_opt(&mut self, s: Option<&str>) {
        self.0.clear();
        self.0.push_str(s.unwrap_or_default());
    }

    /// Replaces the text with a GUID, lower-case and hyphenated (without the formatting machinery).
    pub fn guid(&mut self, id: Uuid) {
        self.0.clear();
        self.0
            .push_str(id.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
    }

    /// Replaces the text with `parts` written one after another.
    pub fn join(&mut self, parts: &[&str]) {
        self.0.clear();
        parts.iter().for_each(|p| self.0.push_str(p));
    }

    /// Replaces the text with `v` formatted.
    pub fn show(&mut self, v: impl std::fmt::Display) {
        use std::fmt::Write;
        self.0.clear();
        let _ = write!(self.0, "{v}");
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text, or none when empty.
    pub fn get(&self) -> Option<&str> {
        (!self.0.is_empty()).then_some(self.0.as_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.push_str(s);
        Ok(())
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.get() {
            Some(t) => s.serialize_str(t),
            None => s.serialize_none(),
        }
    }
}

/// A reason is always a string, even an empty one.
fn as_string<S: serde::Serializer>(t: &Text, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

/// One request's decision.
#[derive(Clone, Debug, Serialize)]
pub struct JournalEntry {
    /// Increasing, unique within this emulator's run.
    pub id: u64,
    pub request_id: Uuid,
    /// Emulator-clock time (RFC 3339): what validators judged expiry by.
    pub time: Stamp,
    /// Wall-clock time (RFC 3339).
    pub wall_time: Stamp,
    pub surface: Surface,
    /// Method and path.
    pub route: Text,
    /// The caller's object id, when the credential named one.
    pub principal: Text,
    /// How ARM names the caller (a user's UPN, else the object id; "key holder" for keys).
    pub principal_name: Text,
    /// The user's or application's display name, when the world knows it.
    #[serde(skip_serializing_if = "Text::is_empty")]
    pub principal_display_name: Text,
    /// `user`, `service-principal` or `key-holder`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_kind: Option<&'static str>,
    /// The calling application's client id (`appid`/`azp`, or the token request's `client_id`).
    #[serde(skip_serializing_if = "Text::is_empty")]
    pub app_id: Text,
    pub credential: Option<CredentialKind>,
    /// The token's `uti` (Entra) or `jti` (Azure ML), never the token.
    pub token_id: Text,
    /// The presented or issued token's [`token_hash`] (Azure ML tokens carry no id claim).
    #[serde(skip_serializing_if = "Text::is_empty")]
    pub token_hash: Text,
    pub action: Text,
    pub scope: Text,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// False when `--rbac log-only` let a denial through.
    pub enforced: bool,
    /// `authentication`, `authorization`, `rbac-would-deny` (a denial log-only mode let through),
    /// `token` (the Entra ID surface issued or refused a token) or `fault` (a fault rule fired).
    pub kind: &'static str,
    #[serde(serialize_with = "as_string")]
    pub reason: Text,
    /// The fault rule that fired (kind `fault`).
    #[serde(skip_serializing_if = "Text::is_empty")]
    pub fault: Text,
}

impl JournalEntry {
    pub(super) fn blank() -> Self {
        let epoch = Stamp(0);
        JournalEntry {
            id: 0,
            request_id: Uuid::nil(),
            time: epoch,
            wall_time: epoch,
            surface: Surface::Control,
            route: Text::default(),
            principal: Text::default(),
            principal_name: Text::default(),
            principal_display_name: Text::default(),
            principal_kind: None,
            app_id: Text::default(),
            credential: None,
            token_id: Text::default(),
            token_hash: Text::default(),
            action: Text::default(),
            scope: Text::default(),
            decision: "deny",
            enforced: true,
            kind: "",
            reason: Text::default(),
            fault: Text::default(),
        }
    }

    /// Starts the entry for the request `info`, at the time `clock` tells: its surface, route
    /// (`METHOD path`), kind and verdict; every other field empty for the caller to fill in.
    pub fn begin(&mut self, info: RequestInfo, route: (&str, &str), clock: &Clock, kind: &'static str, allowed: bool) {
        let texts = [
            &mut self.principal,
            &mut self.principal_name,
            &mut self.principal_display_name,
            &mut self.app_id,
            &mut self.token_id,
            &mut self.token_hash,
            &mut self.action,
            &mut self.scope,
            &mut self.reason,
            &mut self.fault,
        ];
        texts.into_iter().for_each(Text::clear);
        self.request_id = info.id;
        let (now, wall) = clock.unix_nanos_and_system();
        self.time = Stamp(now);
        self.wall_time = Stamp(wall);
        self.surface = info.surface;
        self.route.join(&[route.0, " ", route.1]);
        self.principal_kind = None;
        self.credential = None;
        self.decision = if allowed { "allow" } else { "deny" };
        self.enforced = true;
        self.kind = kind;
    }
}

/// A time the journal shows in RFC 3339, kept as nanoseconds since the Unix epoch and put in
/// calendar terms only when the entry is read: recording an entry is on every request's path,
/// reading one is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp(pub i128);

impl From<OffsetDateTime> for Stamp {
    fn from(t: OffsetDateTime) -> Self {
        Stamp(t.unix_timestamp_nanos())
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = OffsetDateTime::from_unix_timestamp_nanos(self.0).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        f.write_str(&t.format(&Rfc3339).unwrap_or_default())
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
