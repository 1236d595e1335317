//! ARM scopes: `/`, `/subscriptions/{s}`, `…/resourceGroups/{rg}`, and resource ids below them.
//! Comparison is case-insensitive, as in ARM; the text as written is kept for display.

use std::fmt;

/// A parsed ARM scope. `key()` is the lower-cased form used for matching.
///
/// The text as written and its key share one buffer (`{text}{key}`, split at `split`): every ARM
/// request builds the scope its permission is checked at, and one allocation is half the cost of
/// two.
#[derive(Clone, Debug)]
pub struct Scope {
    buf: String,
    split: usize,
}

impl PartialEq for Scope {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Scope {}

impl std::hash::Hash for Scope {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a valid ARM scope")]
pub struct ScopeError(pub String);

impl Scope {
    /// The root scope `/`.
    pub fn root() -> Self {
        Scope::from_text(String::from("/"))
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
        if !valid_segments(&segments) {
            return Err(bad());
        }
        let mut buf = String::with_capacity(2 * trimmed.len());
        buf.push_str(trimmed);
        Ok(Scope::from_text(buf))
    }

    /// The scope `/{segments[0]}/{segments[1]}…`, from path segments a route has already split
    /// (no `format!` and no second split). A segment that is empty or holds a `/` (a
    /// percent-decoded name) would change the path's shape: such a list is an error, as
    /// [`Scope::parse`] would say of the joined text.
    pub fn from_segments(segments: &[&str]) -> Result<Self, ScopeError> {
        if !valid_segments(segments) || segments.iter().any(|s| s.contains('/')) {
            return Err(ScopeError(format!("/{}", segments.join("/"))));
        }
        let len: usize = segments.iter().map(|s| s.len() + 1).sum();
        let mut buf = String::with_capacity(2 * len);
        for segment in segments {
            buf.push('/');
            buf.push_str(segment);
        }
        Ok(Scope::from_text(buf))
    }

    /// `buf` holds a valid scope's text (and room for its key, ideally): the key is appended.
    fn from_text(mut buf: String) -> Self {
        let split = buf.len();
        buf.extend_from_within(..split);
        buf[split..].make_ascii_lowercase();
        Scope { buf, split }
    }

    pub fn as_str(&self) -> &str {
        &self.buf[..self.split]
    }

    pub fn key(&self) -> &str {
        &self.buf[self.split..]
    }

    pub fn is_root(&self) -> bool {
        self.key() == "/"
    }

    /// The subscription id segment, if any.
    pub fn subscription(&self) -> Option<&str> {
        self.as_str().split('/').nth(2)
    }

    /// The resource group segment, if any.
    pub fn resource_group(&self) -> Option<&str> {
        self.as_str().split('/').nth(4)
    }

    /// This scope and each ancestor, from itself up to `/`, as lower-cased keys. Resource ids step up
    /// by one type/name pair at a time; `…/providers/{ns}/{type}/{name}` steps to the resource group.
    pub fn ancestor_keys(&self) -> Vec<&str> {
        key_ancestors(self.key()).collect()
    }

    /// True when `self` is `other` or lies below it.
    pub fn is_within(&self, other: &Scope) -> bool {
        other.is_root()
            || self.key() == other.key()
            || (self.key().starts_with(other.key()) && self.key().as_bytes().get(other.key().len()) == Some(&b'/'))
    }
}

/// Whether `segments` (the text between the slashes) have a scope's shape: none empty, and
/// `subscriptions/{s}`, `…/resourceGroups/{rg}`, or `…/providers/{ns}` followed by type/name pairs.
fn valid_segments(segments: &[&str]) -> bool {
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    if segments.iter().any(|s| s.is_empty()) {
        return false;
    }
    match segments {
        [sub, _] => eq(sub, "subscriptions"),
        [sub, _, rg, _] => eq(sub, "subscriptions") && eq(rg, "resourcegroups"),
        [sub, _, rg, _, providers, _namespace, rest @ ..] => {
            eq(sub, "subscriptions")
                && eq(rg, "resourcegroups")
                && eq(providers, "providers")
                && !rest.is_empty()
                && rest.len() % 2 == 0
        }
        _ => false,
    }
}

/// A scope key and each ancestor, from itself up to `/` (the walk of [`Scope::ancestor_keys`]).
/// The slashes are counted once and each step cuts whole segments off the end: this runs for
/// every RBAC check.
pub fn key_ancestors(key: &str) -> impl Iterator<Item = &str> {
    let slashes = key.bytes().filter(|&b| b == b'/').count();
    std::iter::successors(Some((key, slashes)), |&(k, n)| (k != "/").then(|| parent_key(k, n))).map(|(k, _)| k)
}

/// The parent of `key` (which has `slashes` slashes) and its own count: a resource id steps up
/// one type/name pair, `…/providers/{ns}/{type}/{name}` (eight segments) to the resource group,
/// a resource group to its subscription, a subscription to the root.
fn parent_key(key: &str, slashes: usize) -> (&str, usize) {
    let keep = match slashes {
        0..=2 => return ("/", 1),
        4 => 2,
        8 => 4,
        n => n - 2,
    };
    let mut end = key.len();
    for _ in keep..slashes {
        // A byte loop: `rfind` with a `char` costs several times more on keys this short.
        end = key.as_bytes()[..end].iter().rposition(|&b| b == b'/').unwrap_or(0);
    }
    match end {
        0 => ("/", 1),
        end => (&key[..end], keep),
    }
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

    /// The walk against a plain one (split into segments, keep the parent's count).
    #[test]
    fn ancestors_cut_whole_segments() {
        let plain = |key: &str| {
            let mut out = vec![key.to_string()];
            let mut segments: Vec<&str> = key[1..].split('/').collect();
            while out.last().is_some_and(|k| k != "/") {
                let keep = match segments.len() {
                    0..=2 => 0,
                    4 => 2,
                    8 => 4,
                    n => n - 2,
                };
                segments.truncate(keep);
                out.push(format!("/{}", segments.join("/")));
            }
            out
        };
        for text in [
            "/",
            "/subscriptions/S",
            "/subscriptions/S/resourceGroups/RG",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",
            "/subscriptions/S/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/W/onlineEndpoints/E",
            "/subscriptions/S/resourceGroups/RG/providers/N/a/b/c/d/e/f",
        ] {
            let scope = Scope::parse(text).unwrap();
            assert_eq!(scope.ancestor_keys(), plain(scope.key()), "{text}");
        }
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

    #[test]
    fn text_and_key_share_one_buffer_without_mixing() {
        let s = Scope::parse("/subscriptions/S/resourceGroups/Grüße-RG/").unwrap();
        assert_eq!(s.as_str(), "/subscriptions/S/resourceGroups/Grüße-RG");
        assert_eq!(s.key(), "/subscriptions/s/resourcegroups/grüße-rg");
        assert_eq!(s.to_string(), s.as_str());
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            "\"/subscriptions/S/resourceGroups/Grüße-RG\""
        );
        let root = Scope::root();
        assert_eq!((root.as_str(), root.key()), ("/", "/"));
    }

    #[test]
    fn scopes_from_segments_are_the_parsed_text_or_errors() {
        let built = Scope::from_segments(&["subscriptions", "S", "resourceGroups", "RG"]).unwrap();
        let parsed = Scope::parse("/subscriptions/S/resourceGroups/RG").unwrap();
        assert_eq!((built.as_str(), built.key()), (parsed.as_str(), parsed.key()));
        for bad in [
            &["subscriptions", ""][..],
            &["subscriptions", "a/b"],
            &["subscriptions", "S", "resourceGroups", "r/providers/ns/t/n"],
            &["tenants", "T"],
            &[],
        ] {
            assert!(Scope::from_segments(bad).is_err(), "{bad:?}");
        }
    }
}
