//! ARM scopes: `/`, `/subscriptions/{s}`, `…/resourceGroups/{rg}`, and resource ids below them.
//! Comparison is case-insensitive, as in ARM; the text as written is kept for display.

use std::fmt;

/// A parsed ARM scope. `key()` is the lower-cased form used for matching.
#[derive(Clone, Debug)]
pub struct Scope {
    text: String,
    key: String,
}

impl PartialEq for Scope {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Scope {}

impl std::hash::Hash for Scope {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state)
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a valid ARM scope")]
pub struct ScopeError(pub String);

impl Scope {
    /// The root scope `/`.
    pub fn root() -> Self {
        Scope {
            text: "/".into(),
            key: "/".into(),
        }
    }

    /// Parses `/subscriptions/{s}[/resourceGroups/{rg}[/providers/{ns}/{type}/{name}[/{type}/{name}]…]]`
    /// or `/`. Trailing slashes are ignored; empty segments are not allowed.
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        let bad = || ScopeError(text.to_string());
        let trimmed = text.trim_end_matches('/');
        if trimmed.is_empty() {
            return if text.starts_with('/') {
                Ok(Scope::root())
            } else {
                Err(bad())
            };
        }
        let rest = trimmed.strip_prefix('/').ok_or_else(bad)?;
        let segments: Vec<&str> = rest.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(bad());
        }
        let shape_ok = match segments.as_slice() {
            [sub, _] => sub.eq_ignore_ascii_case("subscriptions"),
            [sub, _, rg, _] => sub.eq_ignore_ascii_case("subscriptions") && rg.eq_ignore_ascii_case("resourcegroups"),
            [sub, _, rg, _, providers, _namespace, rest @ ..] => {
                sub.eq_ignore_ascii_case("subscriptions")
                    && rg.eq_ignore_ascii_case("resourcegroups")
                    && providers.eq_ignore_ascii_case("providers")
                    && !rest.is_empty()
                    && rest.len() % 2 == 0
            }
            _ => false,
        };
        if !shape_ok {
            return Err(bad());
        }
        Ok(Scope {
            key: trimmed.to_ascii_lowercase(),
            text: trimmed.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn is_root(&self) -> bool {
        self.key == "/"
    }

    /// The subscription id segment, if any.
    pub fn subscription(&self) -> Option<&str> {
        self.text.split('/').nth(2)
    }

    /// The resource group segment, if any.
    pub fn resource_group(&self) -> Option<&str> {
        self.text.split('/').nth(4)
    }

    /// This scope and each ancestor, from itself up to `/`, as lower-cased keys. Resource ids step up
    /// by one type/name pair at a time; `…/providers/{ns}/{type}/{name}` steps to the resource group.
    pub fn ancestor_keys(&self) -> Vec<&str> {
        let mut out = vec![self.key.as_str()];
        let mut current = self.key.as_str();
        while current != "/" {
            current = parent_key(current);
            out.push(current);
        }
        out
    }

    /// True when `self` is `other` or lies below it.
    pub fn is_within(&self, other: &Scope) -> bool {
        other.is_root()
            || self.key == other.key
            || (self.key.starts_with(&other.key) && self.key.as_bytes().get(other.key.len()) == Some(&b'/'))
    }
}

fn parent_key(key: &str) -> &str {
    let segments = key[1..].split('/').count();
    let cut = match segments {
        2 => return "/",
        4 => 2,
        // …/resourcegroups/{rg}/providers/{ns}/{type}/{name} → the resource group.
        8 => 4,
        n => n - 2,
    };
    let mut idx = 0;
    for (seen, (i, _)) in key.match_indices('/').enumerate() {
        if seen == cut {
            idx = i;
            break;
        }
    }
    &key[..idx]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_walks_ancestors() {
        let s = Scope::parse("/subscriptions/S/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/W/onlineEndpoints/E").unwrap();
        assert_eq!(
            s.ancestor_keys(),
            vec![
                "/subscriptions/s/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/w/onlineendpoints/e",
                "/subscriptions/s/resourcegroups/rg/providers/microsoft.machinelearningservices/workspaces/w",
                "/subscriptions/s/resourcegroups/rg",
                "/subscriptions/s",
                "/",
            ]
        );
        assert_eq!(s.subscription(), Some("S"));
        assert_eq!(s.resource_group(), Some("RG"));
        assert_eq!(Scope::parse("/").unwrap().ancestor_keys(), vec!["/"]);
    }

    #[test]
    fn within_is_case_insensitive_and_segment_aware() {
        let ws = Scope::parse("/subscriptions/s/resourcegroups/rg/providers/P/workspaces/w").unwrap();
        let rg = Scope::parse("/SUBSCRIPTIONS/S/resourceGroups/RG").unwrap();
        let rg2 = Scope::parse("/subscriptions/s/resourceGroups/rg2").unwrap();
        assert!(ws.is_within(&rg));
        assert!(!rg2.is_within(&rg), "rg2 is a sibling, not a child of rg");
        assert!(rg.is_within(&Scope::root()));
        assert_eq!(rg, Scope::parse("/subscriptions/s/resourcegroups/rg/").unwrap());
    }

    #[test]
    fn rejects_malformed_scopes() {
        for bad in [
            "",
            "subscriptions/s",
            "/subscriptions",
            "/subscriptions//resourceGroups/x",
            "/foo/bar",
            "/subscriptions/s/resourceGroups/rg/providers/ns",
            "/subscriptions/s/resourceGroups/rg/providers/ns/type",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
    }
}
