//! The identity store contract, as one check every adapter runs against a fresh store.

use super::{IdentityStore, StoreError};
use crate::account::{Account, Address, Email, Name, PasswordHash};
use crate::policy::Role;
use crate::session::{Session, SessionId};

fn account(email: &str, roles: &[Role]) -> Account {
    Account {
        email: Email::parse(email).expect("email"),
        name: Name::parse("Jay").expect("name"),
        address: Address::parse("Seoul").expect("address"),
        password_hash: PasswordHash::from_stored(
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA".into(),
        ),
        roles: roles.to_vec(),
        created_at: 1_700_000_000,
    }
}

fn session(email: &str, expires_at: i64) -> Session {
    Session {
        key: SessionId::generate().key(),
        email: Email::parse(email).expect("email"),
        created_at: 1_000,
        expires_at,
        revoked_at: None,
    }
}

/// Panics, naming the broken rule, if `store` does not keep the contract.
pub fn check(store: &dyn IdentityStore) {
    // Accounts: insert, read back, duplicates refused, updates.
    let c1 = account("1@uengine.org", &[Role::Customer]);
    store.insert_account(&c1).expect("insert");
    assert_eq!(store.account(&c1.email).expect("read"), Some(c1.clone()));
    let again = store.insert_account(&account("1@uengine.org", &[Role::Customer]));
    assert!(
        matches!(again, Err(StoreError::Duplicate)),
        "a taken email is a Duplicate: {again:?}"
    );
    let unknown = Email::parse("nobody@uengine.org").expect("email");
    assert_eq!(store.account(&unknown).expect("read"), None);

    let new_hash = PasswordHash::from_stored("$argon2id$v=19$m=64,t=1,p=1$c2FsdDI$aGFzaDI".into());
    assert!(store.set_password(&c1.email, &new_hash).expect("set"));
    assert!(!store.set_password(&unknown, &new_hash).expect("set"));
    assert!(store
        .set_roles(&c1.email, &[Role::Customer, Role::Staff])
        .expect("roles"));
    let read = store.account(&c1.email).expect("read").expect("there");
    assert_eq!(read.password_hash, new_hash);
    assert_eq!(read.roles, vec![Role::Customer, Role::Staff]);
    store
        .set_roles(&c1.email, &[Role::Customer])
        .expect("roles");

    // The first staff account is made once, however often it is asked for.
    let staff = account("staff@uengine.org", &[Role::Customer, Role::Staff]);
    assert!(store.insert_first_staff(&staff).expect("bootstrap"));
    let other = account("staff2@uengine.org", &[Role::Customer, Role::Staff]);
    assert!(!store.insert_first_staff(&other).expect("bootstrap again"));
    assert_eq!(store.account(&other.email).expect("read"), None);
    let all: Vec<String> = store
        .accounts()
        .expect("list")
        .into_iter()
        .map(|a| a.email.to_string())
        .collect();
    assert_eq!(all, vec!["1@uengine.org", "staff@uengine.org"]);

    // Sessions: stored by key, revoked one by one or all for an account, purged.
    let now = 10_000;
    let s1 = session("1@uengine.org", now + 100);
    let s2 = session("1@uengine.org", now + 100);
    let old = session("1@uengine.org", now - 1);
    let s3 = session("staff@uengine.org", now + 100);
    for s in [&s1, &s2, &old, &s3] {
        store.insert_session(s).expect("session");
    }
    assert_eq!(store.session(&s1.key).expect("read"), Some(s1.clone()));
    assert_eq!(
        store.session(&SessionId::generate().key()).expect("read"),
        None
    );
    assert!(store.revoke_session(&s1.key, now).expect("revoke"));
    assert!(!store
        .revoke_session(&s1.key, now + 1)
        .expect("revoke twice"));
    let read = store.session(&s1.key).expect("read").expect("kept");
    assert_eq!(read.revoked_at, Some(now));
    assert!(!read.is_live(now));

    // Revoke-all names the live sessions it ended: not the revoked one, not the expired one,
    // not another account's.
    let ended = store
        .revoke_sessions_of(&s2.email, now)
        .expect("revoke all");
    assert_eq!(ended, vec![s2.key.clone()]);
    assert!(!store
        .session(&s2.key)
        .expect("read")
        .expect("kept")
        .is_live(now));
    assert!(store
        .session(&s3.key)
        .expect("read")
        .expect("kept")
        .is_live(now));

    // Purging drops what ended before the cut-off and keeps the rest.
    assert_eq!(store.purge_sessions(now + 1).expect("purge"), 3);
    assert_eq!(store.session(&old.key).expect("read"), None);
    assert_eq!(store.session(&s1.key).expect("read"), None);
    assert!(store.session(&s3.key).expect("read").is_some());

    // Named values: the first writer wins.
    assert_eq!(store.put_value_once("key", "a").expect("put"), "a");
    assert_eq!(store.put_value_once("key", "b").expect("put"), "a");
}
