//! `mall accounts …` and `mall token …`: the identity store from the command line (the
//! embedded default's data directory, or `--database`), for admins and for scripts.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Subcommand;
use mall_auth::account::{Email, Password};
use mall_auth::http::AuthState;
use mall_auth::identity::SignUp;
use mall_auth::policy::Role;

#[derive(Debug, Subcommand)]
pub enum Accounts {
    /// Creates an account; the password is read from MALL_PASSWORD, else a random one is
    /// made and printed once.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "12st mall")]
        address: String,
        /// Give the account the staff role (delivery team, shop admins).
        #[arg(long)]
        staff: bool,
    },
    /// Sets a new password (from MALL_PASSWORD, else random and printed once) and ends
    /// every session of the account.
    Password {
        #[arg(long)]
        email: String,
    },
    /// Ends every session of the account (its open subscriptions close within a recheck).
    SignOut {
        #[arg(long)]
        email: String,
    },
}

/// Runs an `accounts` command against the opened identity core.
pub async fn run(command: Accounts, auth: &AuthState) -> Result<String> {
    let identity = &auth.identity;
    Ok(match command {
        Accounts::Add {
            email,
            name,
            address,
            staff,
        } => {
            let (password, shown) = password_to_use()?;
            let roles = if staff {
                vec![Role::Customer, Role::Staff]
            } else {
                vec![Role::Customer]
            };
            let account = identity
                .new_account(
                    SignUp {
                        email,
                        name,
                        address,
                        password,
                    },
                    &roles,
                )
                .await?;
            let email = account.email.to_string();
            identity.add_account(account).await?;
            format!("account {email} created{shown}\n")
        }
        Accounts::Password { email } => {
            let email = Email::parse(&email)?;
            let (password, shown) = password_to_use()?;
            let ended = identity.set_password(&email, password).await?;
            format!(
                "password of {email} set; {} session(s) ended{shown}\n",
                ended.len()
            )
        }
        Accounts::SignOut { email } => {
            let email = Email::parse(&email)?;
            let ended = identity.sign_out_everywhere(&email).await?;
            format!("{} session(s) of {email} ended\n", ended.len())
        }
    })
}

/// MALL_PASSWORD, or a random password shown once.
fn password_to_use() -> Result<(Password, String)> {
    match std::env::var("MALL_PASSWORD") {
        Ok(p) => Ok((Password::new(p)?, String::new())),
        Err(_) => {
            let p = mall_auth::session::random_token();
            let shown = format!("; its password (shown once): {p}");
            Ok((Password::new(p)?, shown))
        }
    }
}

/// `mall token`: a bearer token for the BFF's API (audience `bff`), or for one service,
/// for scripts and curl.
pub async fn token(auth: &AuthState, email: &str, ttl: Duration, audience: &str) -> Result<String> {
    let email = Email::parse(email)?;
    let identity = auth.identity.clone();
    let lookup = email.clone();
    let account = tokio::task::spawn_blocking(move || identity.store().account(&lookup))
        .await
        .context("the store lookup failed")??
        .with_context(|| {
            format!("there is no account {email}; make one with `mall accounts add`")
        })?;
    let caller = account.caller();
    let token = auth
        .issuer
        .sign(&account.email.to_string(), caller.roles(), audience, ttl)?;
    Ok(format!("{token}\n"))
}
