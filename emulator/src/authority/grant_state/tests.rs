//! Grant state against a real SQLite file: expiry on a moved clock, single use under concurrent
//! redemption (one connection and several), revocation, aliases, restarts, purging.

use serde::{Deserialize, Serialize};
use time::macros::datetime;
use uuid::Uuid;

use super::*;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Payload {
    scope: String,
    approved: bool,
}

fn payload() -> Payload {
    Payload {
        scope: "https://management.azure.com/.default offline_access".into(),
        approved: false,
    }
}

fn frozen_clock() -> Clock {
    let clock = Clock::system();
    clock.set(datetime!(2030-01-01 00:00 UTC)).unwrap();
    clock.freeze();
    clock
}

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    clock: Clock,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    Fixture {
        dir,
        store,
        clock: frozen_clock(),
    }
}

impl Fixture {
    fn state(&self) -> GrantState<'_> {
        GrantState::new(&self.store, &self.clock)
    }
}

fn entry<'a>(kind: GrantKind, user: ObjectId, lifetime: Duration, p: &'a Payload) -> NewEntry<'a, Payload> {
    NewEntry {
        kind,
        client_id: ClientId(Uuid::from_u128(7)),
        user_id: Some(user),
        alias: None,
        lifetime,
        payload: p,
    }
}

fn user() -> ObjectId {
    ObjectId(Uuid::new_v4())
}

fn is<T>(lookup: &Lookup<T>) -> &'static str {
    match lookup {
        Lookup::Live(_) => "live",
        Lookup::Expired(_) => "expired",
        Lookup::Consumed(_) => "consumed",
        Lookup::Revoked(_) => "revoked",
        Lookup::Unknown => "unknown",
    }
}

#[test]
fn grant_state_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<GrantState<'static>>();
    assert_send_sync::<Store>();
}

#[test]
fn entries_read_back_with_payload_user_and_times() {
    let f = fixture();
    let p = payload();
    let who = user();
    let value = f
        .state()
        .issue(entry(GrantKind::RefreshToken, who, REFRESH_TOKEN_LIFETIME, &p))
        .unwrap();
    assert_eq!(format!("{value:?}"), "GrantValue(<hidden>)");
    assert_eq!(value.as_str().len(), 64);
    let Lookup::Live(g) = f
        .state()
        .get::<Payload>(GrantKind::RefreshToken, GrantRef::Value(value.as_str()))
        .unwrap()
    else {
        panic!("a fresh refresh token is live");
    };
    assert_eq!(g.payload, p);
    assert_eq!((g.user_id, g.client_id), (Some(who), ClientId(Uuid::from_u128(7))));
    assert_eq!(g.issued_at, datetime!(2030-01-01 00:00 UTC));
    assert_eq!(g.expires_at, datetime!(2030-04-01 00:00 UTC));
    // get does not consume: a refresh token is redeemed many times.
    let again = f
        .state()
        .get::<Payload>(GrantKind::RefreshToken, GrantRef::Value(value.as_str()));
    assert_eq!(is(&again.unwrap()), "live");
}

#[test]
fn values_are_kept_only_as_hashes() {
    let f = fixture();
    let p = payload();
    let values: Vec<GrantValue> = (0..20)
        .map(|_| {
            f.state()
                .issue(entry(GrantKind::RefreshToken, user(), REFRESH_TOKEN_LIFETIME, &p))
                .unwrap()
        })
        .collect();
    let mut on_disk = Vec::new();
    for file in std::fs::read_dir(f.dir.path()).unwrap() {
        on_disk.extend(std::fs::read(file.unwrap().path()).unwrap());
    }
    assert!(
        on_disk.windows(p.scope.len()).any(|w| w == p.scope.as_bytes()),
        "the payload is on disk"
    );
    for v in &values {
        let needle = v.as_str().as_bytes();
        assert!(
            !on_disk.windows(needle.len()).any(|w| w == needle),
            "a value reached the disk"
        );
    }
}

#[test]
fn codes_expire_on_the_moved_clock() {
    let f = fixture();
    let p = payload();
    let code = f
        .state()
        .issue(entry(
            GrantKind::AuthorizationCode,
            user(),
            AUTHORIZATION_CODE_LIFETIME,
            &p,
        ))
        .unwrap();
    let by = GrantRef::Value(code.as_str());
    f.clock.advance(Duration::seconds(599)).unwrap();
    assert_eq!(
        is(&f.state().get::<Payload>(GrantKind::AuthorizationCode, by).unwrap()),
        "live"
    );
    f.clock.advance(Duration::seconds(1)).unwrap();
    assert_eq!(
        is(&f.state().get::<Payload>(GrantKind::AuthorizationCode, by).unwrap()),
        "expired"
    );
    assert_eq!(
        is(&f
            .state()
            .take_once::<Payload>(GrantKind::AuthorizationCode, by)
            .unwrap()),
        "expired",
        "an expired code is not redeemed"
    );
    assert!(!f.state().update(GrantKind::AuthorizationCode, by, None, &p).unwrap());
    // Moving the clock back makes it usable again: expiry is read from the clock, never cached.
    f.clock.advance(Duration::seconds(-2)).unwrap();
    assert_eq!(
        is(&f
            .state()
            .take_once::<Payload>(GrantKind::AuthorizationCode, by)
            .unwrap()),
        "live"
    );
}

#[test]
fn a_code_is_redeemed_once() {
    let f = fixture();
    let p = payload();
    let code = f
        .state()
        .issue(entry(
            GrantKind::AuthorizationCode,
            user(),
            AUTHORIZATION_CODE_LIFETIME,
            &p,
        ))
        .unwrap();
    let by = GrantRef::Value(code.as_str());
    let first = f
        .state()
        .take_once::<Payload>(GrantKind::AuthorizationCode, by)
        .unwrap();
    assert!(matches!(first, Lookup::Live(ref g) if g.payload == p));
    assert_eq!(
        is(&f
            .state()
            .take_once::<Payload>(GrantKind::AuthorizationCode, by)
            .unwrap()),
        "consumed"
    );
    assert_eq!(
        is(&f.state().get::<Payload>(GrantKind::AuthorizationCode, by).unwrap()),
        "consumed"
    );
    // A value is only ever found as the kind it was issued as.
    assert_eq!(
        is(&f.state().get::<Payload>(GrantKind::RefreshToken, by).unwrap()),
        "unknown"
    );
    let unknown = f
        .state()
        .take_once::<Payload>(GrantKind::AuthorizationCode, GrantRef::Value("made-up"));
    assert_eq!(is(&unknown.unwrap()), "unknown");
}

/// Threads sharing one store: exactly one redemption wins.
#[test]
fn concurrent_redemptions_through_one_store() {
    let f = fixture();
    let p = payload();
    let state = f.state();
    let code = state
        .issue(entry(
            GrantKind::AuthorizationCode,
            user(),
            AUTHORIZATION_CODE_LIFETIME,
            &p,
        ))
        .unwrap();
    let outcomes: Vec<&'static str> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let by = GrantRef::Value(code.as_str());
                    is(&state.take_once::<Payload>(GrantKind::AuthorizationCode, by).unwrap())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(outcomes.iter().filter(|o| **o == "live").count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "consumed").count(), 7, "{outcomes:?}");
}

/// Threads with a connection each (as two emulators on one data directory): still exactly one,
/// which only the single-statement redemption guarantees.
#[test]
fn concurrent_redemptions_through_separate_connections() {
    let f = fixture();
    let p = payload();
    let codes: Vec<GrantValue> = (0..5)
        .map(|_| {
            f.state()
                .issue(entry(
                    GrantKind::AuthorizationCode,
                    user(),
                    AUTHORIZATION_CODE_LIFETIME,
                    &p,
                ))
                .unwrap()
        })
        .collect();
    let stores: Vec<Store> = (0..6).map(|_| Store::open(f.dir.path()).unwrap()).collect();
    let barrier = std::sync::Barrier::new(stores.len());
    let wins: Vec<Vec<bool>> = std::thread::scope(|s| {
        let handles: Vec<_> = stores
            .iter()
            .map(|store| {
                let (clock, codes, barrier) = (&f.clock, &codes, &barrier);
                s.spawn(move || {
                    let state = GrantState::new(store, clock);
                    barrier.wait();
                    codes
                        .iter()
                        .map(|c| {
                            let by = GrantRef::Value(c.as_str());
                            matches!(
                                state.take_once::<Payload>(GrantKind::AuthorizationCode, by).unwrap(),
                                Lookup::Live(_)
                            )
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for i in 0..codes.len() {
        let winners = wins.iter().filter(|w| w[i]).count();
        assert_eq!(winners, 1, "code {i} was redeemed {winners} times");
    }
}

#[test]
fn revocation_reaches_one_subject_only() {
    let f = fixture();
    let p = payload();
    let (alice, bob) = (user(), user());
    let state = f.state();
    let alice_rt = state
        .issue(entry(GrantKind::RefreshToken, alice, REFRESH_TOKEN_LIFETIME, &p))
        .unwrap();
    let alice_code = state
        .issue(entry(
            GrantKind::AuthorizationCode,
            alice,
            AUTHORIZATION_CODE_LIFETIME,
            &p,
        ))
        .unwrap();
    let bob_rt = state
        .issue(entry(GrantKind::RefreshToken, bob, REFRESH_TOKEN_LIFETIME, &p))
        .unwrap();
    assert_eq!(state.revoke(GrantSubject::User(alice)).unwrap(), 2);
    let rt = |v: &GrantValue| {
        is(&state
            .get::<Payload>(GrantKind::RefreshToken, GrantRef::Value(v.as_str()))
            .unwrap())
    };
    assert_eq!(rt(&alice_rt), "revoked");
    assert_eq!(rt(&bob_rt), "live");
    let code = GrantRef::Value(alice_code.as_str());
    assert_eq!(
        is(&state.take_once::<Payload>(GrantKind::AuthorizationCode, code).unwrap()),
        "revoked"
    );
    assert_eq!(state.revoke(GrantSubject::User(alice)).unwrap(), 0, "already revoked");
    // Tokens issued after the revocation are good.
    let fresh = state
        .issue(entry(GrantKind::RefreshToken, alice, REFRESH_TOKEN_LIFETIME, &p))
        .unwrap();
    assert_eq!(rt(&fresh), "live");
    // Revoking a client reaches every user's entries issued to it.
    assert_eq!(
        state
            .revoke(GrantSubject::Client(ClientId(Uuid::from_u128(7))))
            .unwrap(),
        2
    );
    assert_eq!((rt(&bob_rt), rt(&fresh)), ("revoked", "revoked"));
    assert_eq!(
        state
            .revoke(GrantSubject::Client(ClientId(Uuid::from_u128(8))))
            .unwrap(),
        0
    );
}

#[test]
fn device_codes_are_found_and_approved_by_their_alias() {
    let f = fixture();
    let state = f.state();
    let pending = payload();
    let new = |alias| NewEntry {
        kind: GrantKind::DeviceCode,
        client_id: ClientId(Uuid::from_u128(7)),
        user_id: None,
        alias: Some(alias),
        lifetime: DEVICE_CODE_LIFETIME,
        payload: &pending,
    };
    let device_code = state.issue(new("ABCDEFGHJ")).unwrap();
    assert!(matches!(
        state.issue(new("ABCDEFGHJ")),
        Err(GrantStateError::AliasInUse)
    ));
    let approved = Payload {
        approved: true,
        ..payload()
    };
    let signer = user();
    let by_alias = GrantRef::Alias("ABCDEFGHJ");
    assert!(state
        .update(GrantKind::DeviceCode, by_alias, Some(signer), &approved)
        .unwrap());
    assert!(!state
        .update(GrantKind::DeviceCode, GrantRef::Alias("ZZZZZZZZZ"), None, &approved)
        .unwrap());
    let by_value = GrantRef::Value(device_code.as_str());
    let Lookup::Live(g) = state.take_once::<Payload>(GrantKind::DeviceCode, by_value).unwrap() else {
        panic!("an approved device code is redeemed once");
    };
    assert_eq!((g.user_id, g.payload.approved), (Some(signer), true));
    // A redeemed (or expired) entry gives its user code up for a new one.
    assert!(state.issue(new("ABCDEFGHJ")).is_ok());
    f.clock.advance(DEVICE_CODE_LIFETIME).unwrap();
    assert!(state.issue(new("ABCDEFGHJ")).is_ok());
}

#[test]
fn refresh_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = frozen_clock();
    let p = payload();
    let value = {
        let store = Store::open(dir.path()).unwrap();
        GrantState::new(&store, &clock)
            .issue(entry(GrantKind::RefreshToken, user(), REFRESH_TOKEN_LIFETIME, &p))
            .unwrap()
    };
    let store = Store::open(dir.path()).unwrap();
    let found =
        GrantState::new(&store, &clock).get::<Payload>(GrantKind::RefreshToken, GrantRef::Value(value.as_str()));
    assert!(matches!(found.unwrap(), Lookup::Live(g) if g.payload == p));
}

#[test]
fn purging_keeps_recently_expired_entries_for_the_grace() {
    let f = fixture();
    let p = payload();
    let state = f.state();
    let code = state
        .issue(entry(
            GrantKind::AuthorizationCode,
            user(),
            AUTHORIZATION_CODE_LIFETIME,
            &p,
        ))
        .unwrap();
    let rt = state
        .issue(entry(GrantKind::RefreshToken, user(), REFRESH_TOKEN_LIFETIME, &p))
        .unwrap();
    let grace = Duration::days(1);
    assert_eq!(state.purge_expired(grace).unwrap(), 0);
    f.clock.advance(Duration::hours(1)).unwrap();
    assert_eq!(state.purge_expired(grace).unwrap(), 0, "expired, but within the grace");
    let code_ref = GrantRef::Value(code.as_str());
    assert_eq!(
        is(&state.get::<Payload>(GrantKind::AuthorizationCode, code_ref).unwrap()),
        "expired"
    );
    f.clock.advance(Duration::days(1)).unwrap();
    assert_eq!(state.purge_expired(grace).unwrap(), 1);
    assert_eq!(
        is(&state.get::<Payload>(GrantKind::AuthorizationCode, code_ref).unwrap()),
        "unknown"
    );
    let rt_ref = GrantRef::Value(rt.as_str());
    assert_eq!(
        is(&state.get::<Payload>(GrantKind::RefreshToken, rt_ref).unwrap()),
        "live"
    );
    f.clock.advance(Duration::days(89)).unwrap();
    assert_eq!(
        is(&state.get::<Payload>(GrantKind::RefreshToken, rt_ref).unwrap()),
        "expired"
    );
    assert_eq!(state.purge_expired(Duration::ZERO).unwrap(), 1);
    assert_eq!(
        is(&state.get::<Payload>(GrantKind::RefreshToken, rt_ref).unwrap()),
        "unknown"
    );
}
