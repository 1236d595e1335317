//! The case catalogue of the attack matrix. Each case makes one attempt against the bench's
//! surface and names the ARM code its refusal must carry on ARM and model management.
//!
//! Most cases put new headers or claims around the **genuine token's signature**: a validator
//! whose verified-token cache proves less than the whole token accepts them warm.

use serde_json::{json, Map, Value};

use super::forge::{b64, hmac_token, public_key_encodings, unb64};
use super::{Bench, Phase, Surface, Why, FABRIKAM};
use crate::helpers::{Reply, ADMIN_CLIENT, TENANT};

/// `ml-admin`, Owner of the subscription: the identity a tampered token would like to be.
const ADMIN_OBJECT: &str = "5e2f1a0b-6c7d-4e8f-9a0b-00000000ad01";
const YEAR: i64 = 365 * 24 * 3600;

pub type Run = Box<dyn Fn(&Bench, Phase) -> Result<Reply, String>>;

pub struct Case {
    pub name: String,
    pub why: Why,
    /// Statuses accepted besides the surface's 401: only an HTTP-layer refusal of an oversized
    /// request head (431).
    pub also: &'static [u16],
    pub run: Run,
}

pub(super) fn custom(
    name: impl Into<String>,
    why: Why,
    run: impl Fn(&Bench, Phase) -> Result<Reply, String> + 'static,
) -> Case {
    Case {
        name: name.into(),
        why,
        also: &[],
        run: Box::new(run),
    }
}

pub(super) fn token_why(name: impl Into<String>, why: Why, token: String) -> Case {
    custom(name, why, move |b, _| Ok(b.present(&token)))
}

pub(super) fn token(name: impl Into<String>, token: String) -> Case {
    token_why(name, Why::Invalid, token)
}

pub(super) fn with_headers(name: &str, why: Why, token: String, headers: Vec<(&'static str, &'static str)>) -> Case {
    custom(name, why, move |b, _| {
        Ok(b.present_raw(&format!("Bearer {token}"), &headers))
    })
}

pub(super) fn expect(reply: Reply, status: u16, what: &str) -> Result<Reply, String> {
    if reply.status == status {
        Ok(reply)
    } else {
        Err(format!("setup: {what} answered {} {}", reply.status, reply.body))
    }
}

fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// `base` with `extra`'s fields set.
fn merged(base: &Value, extra: Value) -> Value {
    let mut out = object(base);
    out.extend(object(&extra));
    Value::Object(out)
}

pub fn catalogue(b: &Bench) -> Vec<Case> {
    let mut out = Vec::new();
    algorithms(b, &mut out);
    keys(b, &mut out);
    kids(b, &mut out);
    signatures(b, &mut out);
    segments(b, &mut out);
    headers(b, &mut out);
    claims(b, &mut out);
    lifetimes(b, &mut out);
    super::foreign::out_of_time(b.surface, &mut out);
    super::foreign::foreign(b, &mut out);
    super::foreign::hosts(b, &mut out);
    out
}

fn algorithms(b: &Bench, out: &mut Vec<Case>) {
    let g = &b.genuine;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let bare = b64(json!({"typ": "JWT", "alg": alg}).to_string());
        out.push(token(format!("alg {alg}, empty signature"), format!("{bare}.{}.", g.c)));
        out.push(token(format!("alg {alg}, two segments"), format!("{bare}.{}", g.c)));
        let h = merged(&g.header, json!({"alg": alg}));
        out.push(token(
            format!("alg {alg} around the genuine signature"),
            g.with_header(&h),
        ));
    }
    out.push(token(
        "the issue's example: {\"alg\":\"none\"}.{}.<genuine signature>",
        format!("{}.e30.{}", b64(r#"{"alg":"none"}"#), g.s),
    ));
    for alg in [
        "RS384", "RS512", "PS256", "ES256", "EdDSA", "HS256", "rs256", "RS256 ", "",
    ] {
        let h = merged(&g.header, json!({"alg": alg}));
        out.push(token(
            format!("header alg relabelled '{alg}' on the genuine token"),
            g.with_header(&h),
        ));
    }
    let mut no_alg = object(&g.header);
    no_alg.remove("alg");
    out.push(token(
        "header without alg on the genuine token",
        g.with_header(&Value::Object(no_alg)),
    ));
    // "Right key, other alg" needs the emulator's private key (see key_holder.rs); black-box, a
    // key of our own signs under the genuine kid.
    for alg in ["RS256", "RS384", "RS512", "PS256"] {
        let h = json!({"typ": "JWT", "alg": alg, "kid": g.header["kid"], "x5t": g.header["kid"]});
        out.push(token(
            format!("{alg} signed by another key under the genuine kid"),
            b.own.token(alg, &h, &g.claims),
        ));
    }
}

fn keys(b: &Bench, out: &mut Vec<Case>) {
    let g = &b.genuine;
    for alg in ["HS256", "HS384", "HS512"] {
        let h = json!({"typ": "JWT", "alg": alg, "kid": g.header["kid"]});
        for (what, secret) in public_key_encodings(&b.published) {
            out.push(token(
                format!("{alg} keyed with the published key as {what}"),
                hmac_token(alg, &secret, &h, &g.claims),
            ));
        }
    }
    out.push(token(
        "HS256 keyed with an empty secret",
        hmac_token("HS256", b"", &json!({"typ": "JWT", "alg": "HS256"}), &g.claims),
    ));
    let own = &b.own;
    let signed = |extra: Value| {
        own.token(
            "RS256",
            &merged(&json!({"typ": "JWT", "alg": "RS256"}), extra),
            &g.claims,
        )
    };
    let kid = g.header["kid"].clone();
    let url = b.trap.url.clone();
    for (name, extra) in [
        (
            "embedded jwk of the signer, its own kid",
            json!({"kid": own.kid, "jwk": own.jwk}),
        ),
        (
            "embedded jwk of the signer, the genuine kid",
            json!({"kid": kid, "jwk": own.jwk}),
        ),
        ("embedded jwk of the signer, no kid", json!({"jwk": own.jwk})),
        (
            "jku to a listener serving the signer's key",
            json!({"kid": own.kid, "jku": format!("{url}/keys")}),
        ),
        (
            "jku to the listener, the genuine kid",
            json!({"kid": kid, "jku": format!("{url}/keys")}),
        ),
        (
            "jku over https to the listener",
            json!({"kid": own.kid, "jku": format!("{}/keys", url.replace("http:", "https:"))}),
        ),
        (
            "x5u to the listener",
            json!({"kid": own.kid, "x5u": format!("{url}/cert.pem")}),
        ),
        (
            "x5c: the signer's self-signed certificate",
            json!({"kid": own.kid, "x5c": [own.cert]}),
        ),
        (
            "x5c: the signer's certificate under the genuine kid and x5t",
            json!({"kid": kid, "x5t": kid, "x5c": [own.cert]}),
        ),
        (
            "x5c: the signer's certificate chained to the published one",
            json!({"x5c": [own.cert, b.published["x5c"][0]]}),
        ),
    ] {
        out.push(token(name, signed(extra)));
    }
    out.push(token(
        "RS256 by the attacker under the kid of another key of this emulator",
        own.token(
            "RS256",
            &json!({"typ": "JWT", "alg": "RS256", "kid": b.other_kid}),
            &g.claims,
        ),
    ));
}

fn kids(b: &Bench, out: &mut Vec<Case>) {
    let g = &b.genuine;
    let upper = g.header["kid"].as_str().unwrap_or_default().to_ascii_uppercase();
    for (name, kid) in [
        ("kid removed", None),
        ("kid empty", Some(json!(""))),
        ("kid of another key of this emulator", Some(json!(b.other_kid))),
        ("kid of the attacker's key", Some(json!(b.own.kid))),
        ("kid with a path traversal", Some(json!("../../../../../../etc/passwd"))),
        ("kid SQL-ish", Some(json!("x' OR '1'='1' --"))),
        ("kid 8 KB long", Some(json!("k".repeat(8 * 1024)))),
        ("kid a number", Some(json!(0))),
        ("kid null", Some(Value::Null)),
        ("kid upper-cased", Some(json!(upper))),
    ] {
        let mut h = object(&g.header);
        match kid {
            None => {
                h.remove("kid");
            }
            Some(k) => {
                h.insert("kid".into(), k);
            }
        }
        out.push(token(
            format!("{name}, genuine claims and signature"),
            g.with_header(&Value::Object(h)),
        ));
    }
    let h = merged(&g.header, json!({"x5t": b.own.kid}));
    out.push(token("x5t changed, genuine claims and signature", g.with_header(&h)));
}

fn signatures(b: &Bench, out: &mut Vec<Case>) {
    let (g, sib) = (&b.genuine, &b.sibling);
    out.push(token(
        "genuine header and claims with another genuine token's signature",
        format!("{}.{}.{}", g.h, g.c, sib.s),
    ));
    out.push(token(
        "another genuine token's header and claims with this token's signature",
        format!("{}.{}.{}", sib.h, sib.c, g.s),
    ));
    let bytes = unb64(&g.s);
    let n = bytes.len();
    let with = |sig: Vec<u8>| format!("{}.{}.{}", g.h, g.c, b64(sig));
    let flipped = |i: usize, mask: u8| {
        let mut s = bytes.clone();
        s[i] ^= mask;
        with(s)
    };
    out.push(token("signature: first byte flipped", flipped(0, 0xff)));
    out.push(token("signature: middle bit flipped", flipped(n / 2, 0x80)));
    out.push(token("signature: last bit flipped", flipped(n - 1, 0x01)));
    out.push(token("signature: truncated by a byte", with(bytes[..n - 1].to_vec())));
    out.push(token(
        "signature: a byte appended",
        with([bytes.clone(), vec![0]].concat()),
    ));
    out.push(token("signature: repeated twice", with(bytes.repeat(2))));
    out.push(token("signature: all zero", with(vec![0; n])));
}

fn segments(b: &Bench, out: &mut Vec<Case>) {
    let g = &b.genuine;
    let (h, c, s) = (g.h.as_str(), g.c.as_str(), g.s.as_str());
    for (name, t) in [
        ("two segments: header and claims", format!("{h}.{c}")),
        ("stripped signature", format!("{h}.{c}.")),
        ("four segments: signature repeated", format!("{h}.{c}.{s}.{s}")),
        ("four segments: trailing dot", format!("{h}.{c}.{s}.")),
        ("four segments: header repeated in front", format!("{h}.{h}.{c}.{s}")),
        ("four segments: empty segment in front", format!(".{h}.{c}.{s}")),
        ("five segments (JWE shape)", format!("{h}.{c}.{s}.{s}.{s}")),
        ("the signature segment alone", s.to_string()),
        ("the signature after one dot", format!(".{s}")),
        ("the signature after two dots", format!("..{s}")),
        ("empty header", format!(".{c}.{s}")),
        ("empty claims", format!("{h}..{s}")),
        ("header {}", format!("e30.{c}.{s}")),
        ("claims {}", format!("{h}.e30.{s}")),
        ("claims a JSON array", format!("{h}.{}.{s}", b64("[]"))),
        ("claims not JSON", format!("{h}.{}.{s}", b64("claims"))),
        ("header not JSON", format!("{}.{c}.{s}", b64("RS256"))),
        ("non-base64 header", format!("!!!!.{c}.{s}")),
        ("non-base64 claims", format!("{h}.*{c}.{s}")),
        (
            "standard base64 alphabet in the signature",
            format!("{h}.{c}.+/{}", &s[2..]),
        ),
        ("base64 padding on each segment", format!("{h}=.{c}=.{s}==")),
        ("percent-encoded claims", format!("{h}.%7B%7D.{s}")),
        ("a space inside the token", format!("{h}.{c} .{s}")),
    ] {
        out.push(token(name, t));
    }
}

fn headers(b: &Bench, out: &mut Vec<Case>) {
    let g = &b.genuine;
    let huge = merged(&g.header, json!({"pad": "A".repeat(64 * 1024)}));
    out.push(Case {
        also: &[431],
        ..token("64 KB header, genuine claims and signature", g.with_header(&huge))
    });
    let crit = merged(
        &g.header,
        json!({"crit": ["urn:example:unknown"], "urn:example:unknown": true}),
    );
    out.push(token(
        "crit naming an unknown extension, genuine claims and signature",
        g.with_header(&crit),
    ));
    let text = g.header.to_string();
    let inner = &text[1..text.len() - 1];
    out.push(token(
        "duplicate header alg, none last",
        format!("{}.{}.{}", b64(format!("{{{inner},\"alg\":\"none\"}}")), g.c, g.s),
    ));
    out.push(token(
        "duplicate header alg, none first",
        format!("{}.{}.{}", b64(format!("{{\"alg\":\"none\",{inner}}}")), g.c, g.s),
    ));
    out.push(token(
        "duplicate header kid, the genuine first and the attacker's last, signed by the attacker",
        b.own.sign_raw(
            "RS256",
            &format!(
                "{{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":{},\"kid\":\"{}\"}}",
                g.header["kid"], b.own.kid
            ),
            &g.claims.to_string(),
        ),
    ));
}

/// A plausible forged value for claim `k`: the one an attacker would want.
fn tampered(b: &Bench, k: &str, value: &Value) -> Value {
    let text = value.as_str().unwrap_or_default();
    match (k, value) {
        ("aud", _) => json!(match b.surface {
            Surface::Arm | Surface::ModelManagement => "https://management.core.windows.net/".to_string(),
            Surface::EntraScoring => "https://ml.azure.com/".to_string(),
            // Azure ML tokens say `azureml` (the recorded shape): any other value.
            Surface::AmlService | Surface::AmlEndpoint => format!("{text}-other"),
        }),
        ("iss", _) if text.contains("sts.windows.net") => {
            json!(format!("https://login.microsoftonline.com/{TENANT}/v2.0"))
        }
        ("iss", _) => json!("https://westus.api.azureml.ms"),
        ("tid", _) => json!(FABRIKAM),
        ("oid" | "sub", _) => json!(ADMIN_OBJECT),
        ("appid" | "azp", _) => json!(ADMIN_CLIENT),
        ("sid", _) => json!(uuid::Uuid::new_v4().to_string()),
        ("exp", Value::Number(n)) => json!(n.as_i64().unwrap_or_default() + 10 * YEAR),
        ("nbf" | "iat", Value::Number(n)) => json!(n.as_i64().unwrap_or_default() - 10 * YEAR),
        ("idtyp", _) => json!("user"),
        (_, Value::String(s)) => json!(format!("{s}x")),
        (_, Value::Number(n)) => json!(n.as_i64().unwrap_or_default() + 1),
        _ => Value::Null,
    }
}

fn claims(b: &Bench, out: &mut Vec<Case>) {
    let g = &b.genuine;
    for (k, value) in object(&g.claims) {
        let mut c = object(&g.claims);
        c.insert(k.clone(), tampered(b, &k, &value));
        out.push(token(
            format!("claim {k} tampered"),
            g.with_claims(&Value::Object(c.clone())),
        ));
        c.remove(&k);
        out.push(token(format!("claim {k} removed"), g.with_claims(&Value::Object(c))));
    }
    for (name, extra) in [
        ("claim roles added", json!({"roles": ["Owner"]})),
        (
            "claim wids added",
            json!({"wids": ["62e90394-69f5-4237-9190-012177145e10"]}),
        ),
        ("claim scp added", json!({"scp": "user_impersonation"})),
    ] {
        out.push(token(name, g.with_claims(&merged(&g.claims, extra))));
    }
    out.push(token(
        "claims of the sibling token (same principal and audience), this token's header and signature",
        format!("{}.{}.{}", g.h, b.sibling.c, g.s),
    ));
    let text = g.claims.to_string();
    let inner = &text[1..text.len() - 1];
    for k in ["aud", "oid", "tid", "exp"] {
        let Some(value) = g.claims.get(k) else { continue };
        let forged = tampered(b, k, value);
        out.push(token(
            format!("duplicate claim {k}, forged value first"),
            format!("{}.{}.{}", g.h, b64(format!("{{\"{k}\":{forged},{inner}}}")), g.s),
        ));
        out.push(token(
            format!("duplicate claim {k}, forged value last"),
            format!("{}.{}.{}", g.h, b64(format!("{{{inner},\"{k}\":{forged}}}")), g.s),
        ));
    }
}

fn lifetimes(b: &Bench, out: &mut Vec<Case>) {
    let g = &b.genuine;
    let exp = g.claims["exp"].as_i64().unwrap_or_default();
    for (name, k, v) in [
        ("exp = 2^63-1", "exp", json!(i64::MAX)),
        ("exp = 2^64-1", "exp", json!(u64::MAX)),
        ("exp = 1e300", "exp", json!(1e300)),
        ("exp = 2^53+1", "exp", json!(9_007_199_254_740_993_i64)),
        ("exp fractional", "exp", json!(exp as f64 + 0.5)),
        ("exp = -1", "exp", json!(-1)),
        ("exp = -2^63", "exp", json!(i64::MIN)),
        ("exp a string", "exp", json!("never")),
        ("exp null", "exp", Value::Null),
        ("nbf = -2^63", "nbf", json!(i64::MIN)),
        ("nbf = 2^63-1", "nbf", json!(i64::MAX)),
        ("iat = 2^63-1", "iat", json!(i64::MAX)),
    ] {
        let c = merged(&g.claims, json!({ k: v }));
        out.push(token(format!("{name}, genuine signature"), g.with_claims(&c)));
    }
}
