//! Newtypes for the GUIDs Azure uses, so a client id can never be passed where an object id is meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
    fn guids_parse_case_insensitively_and_print_lower_case() {
        let id: TenantId = "8F3C2A1E-5B4D-4C6E-9A7B-0D1E2F3A4B5C".parse().unwrap();
        assert_eq!(id.to_string(), "8f3c2a1e-5b4d-4c6e-9a7b-0d1e2f3a4b5c");
        assert!("not-a-guid".parse::<ClientId>().is_err());
        assert!(is_canonical_guid("8F3C2A1E-5b4d-4c6e-9a7b-0d1e2f3a4b5c"));
        assert!(!is_canonical_guid("{8f3c2a1e-5b4d-4c6e-9a7b-0d1e2f3a4b5c}"));
        assert!(!is_canonical_guid("8f3c2a1e5b4d4c6e9a7b0d1e2f3a4b5c"));
        assert!(!is_canonical_guid("8f3c2a1e-5b4d-4c6e-9a7b-0d1e2f3a4b5g"));
    }
}
