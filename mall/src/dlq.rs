//! `mall dlq list|replay`: the events a service's consumer gave up on (dead letters), and
//! handling one again once its cause is fixed. Works on the same stores as the services
//! (`--data-dir` or `--database`), whether or not they are running: what a replay publishes
//! waits in the service's outbox for its relay.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use mall_services::system::{open_store, policy};
use mall_services::{consumer, Role, SystemConfig};

#[derive(Subcommand)]
pub enum Dlq {
    /// Lists the dead letters of one service, or of every service that consumes events.
    List {
        /// order, delivery, product or mypage; all consuming services if left out.
        #[arg(long)]
        role: Option<Role>,
    },
    /// Handles one dead letter again with its service's policy. On success its changes and
    /// events are committed and it leaves the list; on failure nothing changes.
    Replay {
        /// The service whose consumer dead-lettered the event.
        #[arg(long)]
        role: Role,
        /// The event's `eventId`, as `mall dlq list` shows it.
        event_id: String,
    },
}

/// Runs a `mall dlq` command against the stores `stores` describes; returns what to print.
pub async fn run(command: Dlq, stores: &SystemConfig) -> Result<String> {
    match command {
        Dlq::List { role } => {
            let roles: Vec<Role> = match role {
                Some(r) => vec![r],
                None => Role::ALL
                    .into_iter()
                    .filter(|r| policy(*r).is_some())
                    .collect(),
            };
            let mut out = String::from("role\teventId\ttype\tattempts\tfailedAt\terror\n");
            for role in roles {
                let store = open_store(stores, role)
                    .await
                    .with_context(|| format!("opening the {role} store"))?;
                for l in consumer::dead_letters(&store).await? {
                    out.push_str(&format!(
                        "{role}\t{}\t{}\t{}\t{}\t{}\n",
                        l.event.id,
                        l.event.kind,
                        l.attempts,
                        l.failed_at,
                        l.error.replace(['\n', '\t'], " ")
                    ));
                }
            }
            Ok(out)
        }
        Dlq::Replay { role, event_id } => {
            let Some((name, handler)) = policy(role) else {
                bail!("the {role} service consumes no events, so it has no dead letters");
            };
            let store = open_store(stores, role)
                .await
                .with_context(|| format!("opening the {role} store"))?;
            let letter = consumer::replay(name, &store, &handler, &event_id).await?;
            Ok(format!(
                "replayed {} {} on {role}; its events are published by the {role} service's relay\n",
                letter.event.kind, letter.event.id
            ))
        }
    }
}
