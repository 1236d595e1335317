//! One journal entry and its parts: its text in one buffer reused from entry to entry, times
//! formatted when read, a token shown as a short hash.

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

/// The text fields of an entry ([`JournalEntry::set`], [`JournalEntry::get`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Method and path.
    Route,
    /// The caller's object id, when the credential named one.
    Principal,
    /// How ARM names the caller (a user's UPN, else the object id; "key holder" for keys).
    PrincipalName,
    /// The user's or application's display name, when the world knows it.
    PrincipalDisplayName,
    /// The calling application's client id (`appid`/`azp`, or the token request's `client_id`).
    AppId,
    /// The token's `uti` (Entra) or `jti` (Azure ML), never the token.
    TokenId,
    /// The presented or issued token's [`token_hash`] (Azure ML tokens carry no id claim).
    TokenHash,
    Action,
    Scope,
    Reason,
    /// The fault rule that fired (kind `fault`).
    Fault,
}

const FIELDS: usize = Field::Fault as usize + 1;

/// An entry's text, every field in one buffer: recording writes a few adjacent cache lines
/// rather than one allocation per field, and starting an entry empties them all at once. Once
/// the journal is full, recording reuses the oldest entry's buffer in place, so the hot path
/// neither allocates nor frees memory another worker thread allocated. A field is a span of the
/// buffer; an empty one reads as absent (`null` in JSON).
#[derive(Clone, Debug, Default)]
struct Texts {
    buf: String,
    spans: [(u32, u32); FIELDS],
}

impl Texts {
    fn clear(&mut self) {
        self.buf.clear();
        self.spans = [(0, 0); FIELDS];
    }

    fn get(&self, field: Field) -> &str {
        let (start, end) = self.spans[field as usize];
        self.buf.get(start as usize..end as usize).unwrap_or_default()
    }

    /// Writes `field` with `write`, which appends to the buffer (a field written twice shows
    /// the last).
    fn write(&mut self, field: Field, write: impl FnOnce(&mut String)) {
        let start = self.buf.len();
        write(&mut self.buf);
        self.spans[field as usize] = match (u32::try_from(start), u32::try_from(self.buf.len())) {
            (Ok(start), Ok(end)) => (start, end),
            _ => (0, 0), // Beyond 4 GiB of text in one entry: not kept.
        };
    }
}

/// One request's decision. Readers see it as an [`EntryView`] (its JSON).
#[derive(Clone, Debug)]
pub struct JournalEntry {
    /// Increasing, unique within this emulator's run.
    pub id: u64,
    pub request_id: Uuid,
    /// Emulator-clock time: what validators judged expiry by.
    pub time: Stamp,
    /// Wall-clock time.
    pub wall_time: Stamp,
    pub surface: Surface,
    /// `user`, `service-principal` or `key-holder`.
    pub principal_kind: Option<&'static str>,
    pub credential: Option<CredentialKind>,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// False when `--rbac log-only` let a denial through.
    pub enforced: bool,
    /// `authentication`, `authorization`, `rbac-would-deny` (a denial log-only mode let through),
    /// `token` (the Entra ID surface issued or refused a token) or `fault` (a fault rule fired).
    pub kind: &'static str,
    texts: Texts,
}

impl JournalEntry {
    pub(super) fn blank() -> Self {
        JournalEntry {
            id: 0,
            request_id: Uuid::nil(),
            time: Stamp(0),
            wall_time: Stamp(0),
            surface: Surface::Control,
            principal_kind: None,
            credential: None,
            decision: "deny",
            enforced: true,
            kind: "",
            // Room for a typical entry (route, reason, principal, token, action and scope come
            // to 500–900 bytes): the first fill of a new entry does not grow the buffer step
            // by step, which was a third of the cost of recording it.
            texts: Texts {
                buf: String::with_capacity(1024),
                ..Texts::default()
            },
        }
    }

    /// Starts the entry for the request `info`, at the time `clock` tells: its surface, route
    /// (`METHOD path`), kind and verdict; every other field empty for the caller to fill in.
    pub fn begin(&mut self, info: RequestInfo, route: (&str, &str), clock: &Clock, kind: &'static str, allowed: bool) {
        self.texts.clear();
        self.request_id = info.id;
        let (now, wall) = clock.unix_nanos_and_system();
        self.time = Stamp(now);
        self.wall_time = Stamp(wall);
        self.surface = info.surface;
        self.join(Field::Route, &[route.0, " ", route.1]);
        self.principal_kind = None;
        self.credential = None;
        self.decision = if allowed { "allow" } else { "deny" };
        self.enforced = true;
        self.kind = kind;
    }

    /// The text of `field`, or none when empty.
    pub fn get(&self, field: Field) -> Option<&str> {
        Some(self.text(field)).filter(|t| !t.is_empty())
    }

    /// The text of `field` (empty when absent).
    pub fn text(&self, field: Field) -> &str {
        self.texts.get(field)
    }

    /// Sets `field` to `s`.
    pub fn set(&mut self, field: Field, s: &str) {
        self.texts.write(field, |buf| buf.push_str(s));
    }

    /// Sets `field` to `s`; none leaves it as it is.
    pub fn set_opt(&mut self, field: Field, s: Option<&str>) {
        if let Some(s) = s {
            self.set(field, s);
        }
    }

    /// Sets `field` to a GUID, lower-case and hyphenated (without the formatting machinery).
    pub fn guid(&mut self, field: Field, id: Uuid) {
        self.set(field, id.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
    }

    /// Sets `field` to `parts` written one after another.
    pub fn join(&mut self, field: Field, parts: &[&str]) {
        self.texts
            .write(field, |buf| parts.iter().for_each(|p| buf.push_str(p)));
    }

    /// Sets `field` to what `write` appends to an empty text.
    pub fn write(&mut self, field: Field, write: impl FnOnce(&mut String)) {
        self.texts.write(field, write);
    }

    /// Sets `field` to `v` formatted.
    pub fn show(&mut self, field: Field, v: impl std::fmt::Display) {
        use std::fmt::Write;
        self.texts.write(field, |buf| {
            let _ = write!(buf, "{v}");
        });
    }

    /// What a reader sees of the entry (and its JSON).
    pub fn view(&self) -> EntryView<'_> {
        let get = |f| self.get(f);
        EntryView {
            id: self.id,
            request_id: self.request_id,
            time: self.time,
            wall_time: self.wall_time,
            surface: self.surface,
            route: get(Field::Route),
            principal: get(Field::Principal),
            principal_name: get(Field::PrincipalName),
            principal_display_name: get(Field::PrincipalDisplayName),
            principal_kind: self.principal_kind,
            app_id: get(Field::AppId),
            credential: self.credential,
            token_id: get(Field::TokenId),
            token_hash: get(Field::TokenHash),
            action: get(Field::Action),
            scope: get(Field::Scope),
            decision: self.decision,
            enforced: self.enforced,
            kind: self.kind,
            reason: self.text(Field::Reason),
            fault: get(Field::Fault),
        }
    }
}

impl Serialize for JournalEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(s)
    }
}

/// A journal entry as readers see it ([`JournalEntry::view`]), field for field its JSON in
/// `GET /_emulator/journal`: absent text is `null`, or left out where marked. The text fields
/// are described on [`Field`].
#[derive(Debug, Serialize)]
pub struct EntryView<'a> {
    pub id: u64,
    pub request_id: Uuid,
    /// RFC 3339.
    pub time: Stamp,
    /// RFC 3339.
    pub wall_time: Stamp,
    pub surface: Surface,
    pub route: Option<&'a str>,
    pub principal: Option<&'a str>,
    pub principal_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<&'a str>,
    pub credential: Option<CredentialKind>,
    pub token_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<&'a str>,
    pub action: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub decision: &'static str,
    pub enforced: bool,
    pub kind: &'static str,
    /// Always a string, even an empty one.
    pub reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<&'a str>,
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
