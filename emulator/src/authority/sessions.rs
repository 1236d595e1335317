//! Sign-in sessions of the sign-in page: what lets a second `/authorize` skip the password, as
//! Entra ID's session cookie does. A session is named by a random cookie value; only its SHA-256
//! is kept, in memory (a restart signs everyone out of the page; issued tokens stay valid).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::domain::grant::GrantHash;
use crate::domain::{ObjectId, TenantId};

/// The session cookie's name.
pub const COOKIE: &str = "emulator_session";
/// How long a sign-in session lasts, seconds on the emulator clock (one day).
pub const SESSION_SECONDS: i64 = 24 * 3600;

/// A signed-in browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    pub user: ObjectId,
    pub tenant: TenantId,
    /// `amr` included MFA.
    pub mfa: bool,
    /// Unix seconds on the emulator clock.
    pub expires: i64,
}

#[derive(Debug, Default)]
pub struct Sessions(Mutex<HashMap<GrantHash, Session>>);

impl Sessions {
    /// Starts a session; returns the cookie value (the only copy).
    pub fn start(&self, user: ObjectId, tenant: TenantId, mfa: bool, now: i64) -> String {
        let value = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|_, s| s.expires > now);
        all.insert(
            GrantHash::of(&value),
            Session {
                user,
                tenant,
                mfa,
                expires: now + SESSION_SECONDS,
            },
        );
        value
    }

    /// The live session a cookie value names.
    pub fn get(&self, cookie: &str, now: i64) -> Option<Session> {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.get(&GrantHash::of(cookie)).copied().filter(|s| s.expires > now)
    }

    /// Ends the session a cookie value names (sign-out).
    pub fn end(&self, cookie: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&GrantHash::of(cookie));
    }

    /// Ends every session of a user (revoke sessions, password reset, account disabled).
    pub fn end_user(&self, user: ObjectId) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, s| s.user != user);
    }

    /// Ends every session (the world was reset).
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn sessions_expire_and_end() {
        let s = Sessions::default();
        let (u, t) = (ObjectId(Uuid::new_v4()), TenantId(Uuid::new_v4()));
        let cookie = s.start(u, t, false, 1000);
        assert_eq!(s.get(&cookie, 1001).map(|x| x.user), Some(u));
        assert!(s.get(&cookie, 1000 + SESSION_SECONDS).is_none());
        assert!(s.get("forged", 1001).is_none());
        s.end_user(u);
        assert!(s.get(&cookie, 1001).is_none());
    }
}
