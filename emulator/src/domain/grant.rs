//! What the token authority remembers between requests of one sign-in: the kinds of grant state,
//! how an opaque value is named at rest, and whose state a revocation reaches.

use sha2::{Digest, Sha256};

use super::ids::{ClientId, ObjectId};

/// The kinds of opaque value a grant hands out and later accepts back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantKind {
    /// An authorization code: single use, minutes long.
    AuthorizationCode,
    /// A refresh token: reusable until it expires or is revoked.
    RefreshToken,
    /// A device code (and, as its alias, the user code typed on the verification page).
    DeviceCode,
}

impl GrantKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::AuthorizationCode => "authorization_code",
            GrantKind::RefreshToken => "refresh_token",
            GrantKind::DeviceCode => "device_code",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [
            GrantKind::AuthorizationCode,
            GrantKind::RefreshToken,
            GrantKind::DeviceCode,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// SHA-256 of an opaque value: how grant state is keyed at rest, so a database copy reveals no
/// usable code or refresh token. Unsalted on purpose (the value is looked up by it); the values
/// are random and long enough that a dictionary is useless. User codes are short, but live for
/// 15 minutes and open nothing without the device code.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrantHash(pub [u8; 32]);

impl GrantHash {
    pub fn of(value: &str) -> Self {
        GrantHash(Sha256::digest(value.as_bytes()).into())
    }
}

impl std::fmt::Debug for GrantHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A prefix is enough to tell entries apart in logs and panics.
        write!(
            f,
            "GrantHash({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// Whose grant state a revocation reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantSubject {
    /// Everything issued to a user (password reset, account disabled, revoke sessions).
    User(ObjectId),
    /// Everything issued to a client application (deleted or disabled application).
    Client(ClientId),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_hashes_are_sha256() {
        for kind in [
            GrantKind::AuthorizationCode,
            GrantKind::RefreshToken,
            GrantKind::DeviceCode,
        ] {
            assert_eq!(GrantKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(GrantKind::parse("password"), None);
        // SHA-256("abc"), FIPS 180-2 test vector.
        assert_eq!(GrantHash::of("abc").0[..4], [0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(format!("{:?}", GrantHash::of("abc")), "GrantHash(ba7816bf…)");
    }
}
