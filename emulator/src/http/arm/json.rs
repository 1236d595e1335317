//! Large ARM bodies written straight into the response buffer, without a `serde_json::Value` tree
//! and without serde's per-byte escaping of names known to need none. Each object is a list of
//! members already in the order `serde_json::Map` would give them (byte order of the names: the
//! crate is built without `preserve_order`), and strings are escaped exactly as `serde_json`
//! escapes them, so the bytes are the ones a `Value` body would have produced. Lists written by
//! hand are checked by [`is_sorted`] in debug builds (every test that renders such a body).

use serde_json::{Map, Value};
use uuid::Uuid;

/// One member's value.
pub enum J<'a> {
    /// Left out (a member an api-version does not have).
    Skip,
    Null,
    Bool(bool),
    U64(u64),
    Str(&'a str),
    Uuid(Uuid),
    /// A GUID without hyphens.
    Simple(Uuid),
    /// A string written in pieces (no intermediate `String`).
    Cat(&'a [&'a str]),
    EmptyArray,
    Obj(&'a [(&'a str, J<'a>)]),
}

impl J<'_> {
    /// Appends the value's JSON.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            J::Skip | J::Null => out.extend_from_slice(b"null"),
            J::Bool(true) => out.extend_from_slice(b"true"),
            J::Bool(false) => out.extend_from_slice(b"false"),
            J::U64(n) => out.extend_from_slice(n.to_string().as_bytes()),
            J::Str(s) => string(out, s),
            J::Uuid(u) => {
                let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
                out.push(b'"');
                out.extend_from_slice(u.hyphenated().encode_lower(&mut buf).as_bytes());
                out.push(b'"');
            }
            J::Simple(u) => {
                let mut buf = [0u8; uuid::fmt::Simple::LENGTH];
                out.push(b'"');
                out.extend_from_slice(u.simple().encode_lower(&mut buf).as_bytes());
                out.push(b'"');
            }
            J::Cat(pieces) if !pieces.iter().any(|p| needs_escape(p)) => {
                out.push(b'"');
                for p in pieces.iter() {
                    out.extend_from_slice(p.as_bytes());
                }
                out.push(b'"');
            }
            J::Cat(pieces) => string(out, &pieces.concat()),
            J::EmptyArray => out.extend_from_slice(b"[]"),
            J::Obj(members) => {
                let mut object = Object::open(out);
                for (name, value) in members.iter() {
                    object.member(name, value);
                }
                object.close();
            }
        }
    }
}

/// An object being written: members are added in order, `Skip` ones left out.
pub struct Object<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Object<'o> {
    pub fn open(out: &'o mut Vec<u8>) -> Self {
        out.extend_from_slice(b"{");
        Object { out, first: true }
    }

    /// `"name":` — `name` is a member name of this crate (letters, digits): written as is.
    pub fn name(&mut self, name: &str) -> &mut Vec<u8> {
        debug_assert!(!needs_escape(name));
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub fn member(&mut self, name: &str, value: &J<'_>) {
        if !matches!(value, J::Skip) {
            value.write(self.name(name));
        }
    }

    /// Sorted `fixed` members and a map's members, merged by name as `serde_json::Map` would
    /// order them. On a shared name, the map's value wins over a fixed member marked overridable
    /// and loses to the others: the order in which a `Value` body used to be assembled (base
    /// members, then the map, then the api-version groups).
    pub fn merged<'f>(
        &mut self,
        fixed: impl IntoIterator<Item = &'f (&'f str, bool, J<'f>)>,
        extra: &Map<String, Value>,
    ) {
        let mut fixed = fixed.into_iter().filter(|(_, _, v)| !matches!(v, J::Skip)).peekable();
        let mut extra = extra.iter().peekable();
        loop {
            match (fixed.peek(), extra.peek()) {
                (None, None) => break,
                (Some((f, overridable, v)), Some((e, ev))) if *f == e.as_str() => {
                    if *overridable {
                        self.any_name_value(e, ev);
                    } else {
                        self.member(f, v);
                    }
                    fixed.next();
                    extra.next();
                }
                (Some((f, _, v)), Some((e, _))) if *f < e.as_str() => {
                    self.member(f, v);
                    fixed.next();
                }
                (Some((f, _, v)), None) => {
                    self.member(f, v);
                    fixed.next();
                }
                (_, Some((e, ev))) => {
                    self.any_name_value(e, ev);
                    extra.next();
                }
            }
        }
    }

    /// A member whose name is user data (escaped like any string).
    fn any_name_value(&mut self, name: &str, value: &Value) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        string(self.out, name);
        self.out.push(b':');
        match value {
            Value::String(s) => string(self.out, s),
            _ => {
                let _ = serde_json::to_writer(&mut *self.out, value);
            }
        }
    }

    pub fn close(self) {
        self.out.extend_from_slice(b"}");
    }
}

/// Whether `serde_json` would escape something in `s`: control characters, `"` and `\`. Written
/// without an early exit so that it vectorizes.
fn needs_escape(s: &str) -> bool {
    s.bytes()
        .fold(false, |any, b| any | (b < 0x20) | (b == b'"') | (b == b'\\'))
}

/// `s` as a JSON string, escaped as `serde_json` escapes it.
pub fn string(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s) {
        let _ = serde_json::to_writer(out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Whether `names` are in the order `serde_json::Map` keeps them (strictly increasing bytes).
pub fn is_sorted<'a>(names: impl IntoIterator<Item = &'a str>) -> bool {
    let mut names = names.into_iter();
    let Some(mut last) = names.next() else { return true };
    names.all(|n| std::mem::replace(&mut last, n) < n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in [
            "plain",
            "quote\"d",
            "back\\slash",
            "new\nline",
            "tab\t",
            "ünïcödé ✓",
            "\u{7f}",
            "",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn merged_members_are_ordered_as_a_map_orders_them() {
        let extra: Map<String, Value> = serde_json::from_str(r#"{"b": 1, "d": {"x": "y"}, "z\"": true}"#).unwrap();
        let fixed = [
            ("a", true, J::Str("A")),
            ("b", true, J::Bool(false)),
            ("c", false, J::Skip),
            ("d", false, J::Null),
            ("e", false, J::Uuid(Uuid::nil())),
            ("f", false, J::Cat(&["x\"", "y"])),
            ("g", false, J::Simple(Uuid::nil())),
        ];
        let mut out = Vec::new();
        let mut object = Object::open(&mut out);
        object.merged(&fixed, &extra);
        object.close();
        let expected = serde_json::json!({"a": "A", "b": 1, "d": null, "e": Uuid::nil(), "f": "x\"y",
            "g": Uuid::nil().simple().to_string(), "z\"": true});
        assert_eq!(out, serde_json::to_vec(&expected).unwrap());
        assert!(is_sorted(fixed.iter().map(|(n, _, _)| *n)));
    }
}
