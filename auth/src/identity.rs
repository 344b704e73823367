//! Sign-up, sign-in, sign-out and sessions over the identity store: the async face of the
//! store, running its blocking calls and the password hashing on blocking threads.

use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::broadcast;

use crate::account::{
    normalize_roles, Account, Address, Email, InvalidField, Name, Password, PasswordHash,
};
use crate::password::{HashError, Hasher, PasswordSettings};
use crate::policy::Role;
use crate::session::{now, random_token, Session, SessionId, SessionKey, SessionSettings};
use crate::store::{IdentityStore, StoreError};

/// Settings of the identity core, one part per thing configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySettings {
    pub password: PasswordSettings,
    pub session: SessionSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    #[error("an account with this email already exists; sign in instead")]
    EmailTaken,
    /// Says neither which part was wrong nor whether the account exists.
    #[error("the email or the password is wrong")]
    WrongCredentials,
    #[error("there is no account `{0}`")]
    NoSuchAccount(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("a blocking task failed: {0}")]
    Task(String),
}

impl From<StoreError> for IdentityError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate => IdentityError::EmailTaken,
            other => IdentityError::Store(other),
        }
    }
}

/// What a new account is made of, as received.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    pub email: String,
    pub name: String,
    pub address: String,
    pub password: Password,
}

/// A session just opened: the id goes into the cookie, once.
#[derive(Debug, Clone)]
pub struct Opened {
    pub id: SessionId,
    pub session: Session,
    pub account: Account,
}

/// Someone an external OpenID issuer vouched for.
#[derive(Debug, Clone)]
pub struct External {
    pub email: Email,
    pub name: Name,
    pub staff: bool,
}

/// The address of an account made from an external identity, until its owner gives one.
pub const EXTERNAL_ADDRESS: &str = "(not given yet)";
/// The stored hash of an account without a password: no password matches it.
pub const NO_PASSWORD: &str = "!external";

/// The staff account made on first start and its password, shown once.
#[derive(Debug, Clone)]
pub struct BootstrapStaff {
    pub email: Email,
    pub password: Password,
}

#[derive(Clone)]
pub struct Identity {
    store: Arc<dyn IdentityStore>,
    hasher: Hasher,
    sessions: SessionSettings,
    ended: broadcast::Sender<SessionKey>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("sessions", &self.sessions)
            .finish_non_exhaustive()
    }
}

impl Identity {
    pub fn new(
        store: Arc<dyn IdentityStore>,
        settings: &IdentitySettings,
    ) -> Result<Identity, IdentityError> {
        Ok(Identity {
            store,
            hasher: Hasher::new(&settings.password)?,
            sessions: settings.session.clone(),
            ended: broadcast::channel(1024).0,
        })
    }

    pub fn store(&self) -> &Arc<dyn IdentityStore> {
        &self.store
    }

    /// Sessions ended in this process (sign-out, sign-out everywhere, a password change), as
    /// they end: the BFF closes their sockets. Sessions that expire, or end in another
    /// replica, are found by asking [`Identity::session`] again now and then.
    pub fn ended_sessions(&self) -> broadcast::Receiver<SessionKey> {
        self.ended.subscribe()
    }

    fn announce(&self, keys: &[SessionKey]) {
        for key in keys {
            // No receiver is fine: nothing to close.
            let _ = self.ended.send(key.clone());
        }
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, IdentityError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn IdentityStore, &Hasher) -> Result<T, IdentityError> + Send + 'static,
    {
        let store = self.store.clone();
        let hasher = self.hasher.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref(), &hasher))
            .await
            .map_err(|e| IdentityError::Task(e.to_string()))?
    }

    fn open_session(
        &self,
        store: &dyn IdentityStore,
        account: Account,
    ) -> Result<Opened, IdentityError> {
        let id = SessionId::generate();
        let created_at = now();
        let session = Session {
            key: id.key(),
            email: account.email.clone(),
            created_at,
            expires_at: created_at.saturating_add(self.sessions.ttl.as_secs() as i64),
            revoked_at: None,
        };
        store.insert_session(&session)?;
        Ok(Opened {
            id,
            session,
            account,
        })
    }

    /// Creates a customer account and signs it in.
    pub async fn sign_up(&self, form: SignUp) -> Result<Opened, IdentityError> {
        let account = self.new_account(form, &[Role::Customer]).await?;
        let this = self.clone();
        self.blocking(move |store, _| {
            store.insert_account(&account)?;
            this.open_session(store, account)
        })
        .await
    }

    /// Checks a form and hashes its password: an account not stored yet.
    pub async fn new_account(
        &self,
        form: SignUp,
        roles: &[Role],
    ) -> Result<Account, IdentityError> {
        let email = Email::parse(&form.email)?;
        let name = Name::parse(&form.name)?;
        let address = Address::parse(&form.address)?;
        let password = Password::new(form.password.expose())?;
        let roles = normalize_roles(roles.iter().copied());
        self.blocking(move |_, hasher| {
            Ok(Account {
                email,
                name,
                address,
                password_hash: hasher.hash(&password)?,
                roles,
                created_at: now(),
            })
        })
        .await
    }

    /// Stores an account made by [`Identity::new_account`] (the command line's way in).
    pub async fn add_account(&self, account: Account) -> Result<(), IdentityError> {
        self.blocking(move |store, _| Ok(store.insert_account(&account)?))
            .await
    }

    /// Signs in. Unknown emails cost a password check too, and fail the same way.
    pub async fn sign_in(&self, email: &str, password: Password) -> Result<Opened, IdentityError> {
        let email = Email::parse(email);
        let this = self.clone();
        self.blocking(move |store, hasher| {
            let account = match &email {
                Ok(email) => store.account(email)?,
                Err(_) => None,
            };
            match account {
                Some(account) if hasher.verify(&password, &account.password_hash) => {
                    this.open_session(store, account)
                }
                Some(_) => Err(IdentityError::WrongCredentials),
                None => {
                    hasher.verify_dummy(&password);
                    Err(IdentityError::WrongCredentials)
                }
            }
        })
        .await
    }

    /// Signs in someone an external issuer vouched for: their account (made on first
    /// sign-in, with no password: it can only be reached through the issuer) with the
    /// roles the issuer's claims give now.
    pub async fn sign_in_external(&self, who: External) -> Result<Opened, IdentityError> {
        let this = self.clone();
        self.blocking(move |store, _| {
            let roles = normalize_roles(who.staff.then_some(Role::Staff));
            let account = match store.account(&who.email)? {
                Some(mut account) => {
                    // The issuer decides the roles of the accounts it made; it may add staff
                    // to a local account (one with a password) but never takes a local
                    // role away.
                    let roles = if account.password_hash.as_str() == NO_PASSWORD {
                        roles
                    } else {
                        normalize_roles(account.roles.iter().copied().chain(roles))
                    };
                    if account.roles != roles {
                        store.set_roles(&account.email, &roles)?;
                        account.roles = roles;
                    }
                    account
                }
                None => {
                    let account = Account {
                        email: who.email,
                        name: who.name,
                        address: Address::parse(EXTERNAL_ADDRESS)?,
                        password_hash: PasswordHash::from_stored(NO_PASSWORD.into()),
                        roles,
                        created_at: now(),
                    };
                    match store.insert_account(&account) {
                        // Made by a concurrent first sign-in: use that one.
                        Err(StoreError::Duplicate) => {
                            store.account(&account.email)?.ok_or_else(|| {
                                IdentityError::NoSuchAccount(account.email.to_string())
                            })?
                        }
                        other => {
                            other?;
                            account
                        }
                    }
                }
            };
            this.open_session(store, account)
        })
        .await
    }

    /// The live session behind a cookie's id and its account, if any.
    pub async fn session(
        &self,
        id: &SessionId,
    ) -> Result<Option<(Session, Account)>, IdentityError> {
        let key = id.key();
        self.blocking(move |store, _| {
            let Some(session) = store.session(&key)? else {
                return Ok(None);
            };
            if !session.is_live(now()) {
                return Ok(None);
            }
            Ok(store.account(&session.email)?.map(|a| (session, a)))
        })
        .await
    }

    /// Ends a session; its key (to close its sockets) if it was live.
    pub async fn sign_out(&self, id: &SessionId) -> Result<Option<SessionKey>, IdentityError> {
        let key = id.key();
        let ended = self
            .blocking(move |store, _| Ok(store.revoke_session(&key, now())?.then_some(key)))
            .await?;
        self.announce(ended.as_slice());
        Ok(ended)
    }

    /// Ends every session of an account; the keys of those that were live.
    pub async fn sign_out_everywhere(
        &self,
        email: &Email,
    ) -> Result<Vec<SessionKey>, IdentityError> {
        let email = email.clone();
        let ended = self
            .blocking(move |store, _| Ok(store.revoke_sessions_of(&email, now())?))
            .await?;
        self.announce(&ended);
        Ok(ended)
    }

    /// Sets a new password and ends every session of the account.
    pub async fn set_password(
        &self,
        email: &Email,
        password: Password,
    ) -> Result<Vec<SessionKey>, IdentityError> {
        let email = email.clone();
        let password = Password::new(password.expose())?;
        let ended = self
            .blocking(move |store, hasher| {
                let hash = hasher.hash(&password)?;
                if !store.set_password(&email, &hash)? {
                    return Err(IdentityError::NoSuchAccount(email.to_string()));
                }
                Ok(store.revoke_sessions_of(&email, now())?)
            })
            .await?;
        self.announce(&ended);
        Ok(ended)
    }

    /// On first start, creates one staff account with a random password and returns it
    /// (print it once); afterwards, and on every other replica, `None`.
    pub async fn bootstrap_staff(
        &self,
        email: &str,
    ) -> Result<Option<BootstrapStaff>, IdentityError> {
        let password = Password::new(random_token())?;
        let account = self
            .new_account(
                SignUp {
                    email: email.to_owned(),
                    name: "Staff".into(),
                    address: "12st mall".into(),
                    password: password.clone(),
                },
                &[Role::Staff],
            )
            .await?;
        let email = account.email.clone();
        let made = self
            .blocking(move |store, _| Ok(store.insert_first_staff(&account)?))
            .await?;
        Ok(made.then_some(BootstrapStaff { email, password }))
    }

    /// Deletes sessions that ended more than a day ago; run it now and then.
    pub async fn purge_sessions(&self) -> Result<u64, IdentityError> {
        self.blocking(|store, _| Ok(store.purge_sessions(now() - 24 * 3600)?))
            .await
    }
}
