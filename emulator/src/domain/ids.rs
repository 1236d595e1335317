//! Newtypes for the GUIDs Azure uses, so a client id can never be passed where an object id is meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A hash map keyed by GUIDs (object, client, tenant ids, role and assignment names), hashed with
/// foldhash rather than SipHash: an ARM request looks up about ten of them. The keys are random
/// GUIDs the world or a verified token names, and each map's seed is random, so no caller can
/// pick keys that collide.
pub type IdMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

macro_rules! guid_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Azure prints GUIDs lower-case and hyphenated.
                self.0.hyphenated().fmt(f)
            }
        }

        impl $name {
            /// The GUID as Azure prints it (lower-case, hyphenated), written without the
            /// formatting machinery: request paths label principals with it.
            pub fn text(&self) -> String {
                let mut buf = Uuid::encode_buffer();
                String::from(&*self.0.hyphenated().encode_lower(&mut buf))
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_guid(s).map($name)
            }
        }
    };
}

/// Parses a GUID in Azure's usual hyphenated form (braces and simple form are accepted too, as .NET does).
pub fn parse_guid(s: &str) -> Result<Uuid, uuid::Error> {
    Uuid::parse_str(s.trim_matches(|c| c == '{' || c == '}'))
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits of any case: the only form ARM takes in
/// resource ids.
pub fn is_canonical_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A name-based GUID, version 5 (RFC 9562 §5.5: SHA-1 of the namespace's 16 bytes then the
/// name, its first 16 bytes with the version and variant bits set), equal to
/// `Uuid::new_v5(namespace, name)`. Hashed with the `sha1` crate, which takes the CPU's SHA
/// instructions where it has them: `uuid`'s portable SHA-1 was 5 % of the first start of a world
/// of 100,000 role assignments (a name each), and an ARM workspace body makes two per request.
pub fn name_based(namespace: &Uuid, name: &[u8]) -> Uuid {
    use sha1::{Digest, Sha1};
    let digest = Sha1::new()
        .chain_update(namespace.as_bytes())
        .chain_update(name)
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

guid_newtype!(
    /// A directory (tenant) id: the `tid` claim.
    TenantId
);
guid_newtype!(
    /// An application (client) id: the `appid` / `azp` claim.
    ClientId
);
guid_newtype!(
    /// A directory object id of a user or service principal: the `oid` claim.
    ObjectId
);
guid_newtype!(
    /// An Azure subscription id.
    SubscriptionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_based_guids_are_uuid_version_5() {
        let workspace = Uuid::parse_str("8d2f1a5c-0b7e-4c3d-9f61-2a4b6c8d0e1f").unwrap();
        for (namespace, name) in [
            (Uuid::NAMESPACE_OID, b"/subscriptions/x|acdd72a7|cccccccc".as_slice()),
            (Uuid::NAMESPACE_URL, b"".as_slice()),
            (workspace, b"telemetry".as_slice()),
            (workspace, "a name longer than one SHA-1 block, ".repeat(4).as_bytes()),
        ] {
            let ours = name_based(&namespace, name);
            assert_eq!(ours, Uuid::new_v5(&namespace, name));
            assert_eq!(ours.get_version_num(), 5);
        }
    }

    #[test]
    fn guids_parse_case_insensitively_and_print_lower_case() {
        let id: TenantId = "8F3C2A1E-5B4D-4C6E-9A7B-0D1E2F3A4B5C".parse().unwrap();
        assert_eq!(id.to_string(), "8f3c2a1e-5b4d-4c6e-9a7b-0d1e2f3a4b5c");
        assert_eq!(id.text(), id.to_string());
        assert!("not-a-guid".parse::<ClientId>().is_err());
        assert!(is_canonical_guid("8F3C2A1E-5b4d-4c6e-9a7b-0d1e2f3a4b5c"));
        assert!(!is_canonical_guid("{8f3c2a1e-5b4d-4c6e-9a7b-0d1e2f3a4b5c}"));
        assert!(!is_canonical_guid("8f3c2a1e5b4d4c6e9a7b0d1e2f3a4b5c"));
        assert!(!is_canonical_guid("8f3c2a1e-5b4d-4c6e-9a7b-0d1e2f3a4b5g"));
    }
}
