//! The NATS JetStream bus: one stream holds the log (`<stream>.events.<Type>` subjects),
//! durable pull consumers remember each service's progress in the server, and the
//! `Nats-Msg-Id` header (the event id) makes a republished event a no-op within the
//! stream's duplicate window.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use async_trait::async_trait;
use futures::StreamExt;

use super::{BusError, Delivered, EventBus, Start, Subscription};
use crate::event::Event;

/// How long the stream remembers event ids for de-duplication.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(2 * 60 * 60);
/// How long the server waits for an acknowledgement before redelivering. A consumer that
/// went away (crash, restart) gets what it had fetched but not acknowledged again after this;
/// redelivery is harmless since consumers are idempotent, so it is short.
const ACK_WAIT: Duration = Duration::from_secs(5);

/// The stream's limits. Old events expire after `max_age`; when the stream holds `max_bytes`
/// the server refuses new events (`DiscardPolicy::New`) instead of dropping unconsumed ones,
/// and the services' outboxes keep them until there is room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    pub max_age: Duration,
    pub max_bytes: i64,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_age: crate::retention::DEFAULT_EVENT_LOG,
            max_bytes: 8 * 1024 * 1024 * 1024,
        }
    }
}

fn backend(e: impl std::fmt::Display) -> BusError {
    BusError::Backend(e.to_string())
}

#[derive(Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    js: jetstream::Context,
    stream: String,
}

impl NatsBus {
    /// Connects and makes sure the stream exists with the default [`StreamLimits`].
    pub async fn connect(url: &str, stream_name: &str) -> Result<NatsBus, BusError> {
        Self::connect_with(url, stream_name, StreamLimits::default()).await
    }

    /// Connects and makes sure the stream exists (file storage, de-duplication window) with
    /// `limits` (an existing stream is updated to them).
    pub async fn connect_with(
        url: &str,
        stream_name: &str,
        limits: StreamLimits,
    ) -> Result<NatsBus, BusError> {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| BusError::Backend(format!("cannot reach NATS at {url}: {e}")))?;
        let js = jetstream::new(client.clone());
        js.create_or_update_stream(stream::Config {
            name: stream_name.to_owned(),
            subjects: vec![format!("{stream_name}.events.>")],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW.min(limits.max_age),
            max_age: limits.max_age,
            max_bytes: limits.max_bytes,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|e| BusError::Backend(format!("cannot create stream {stream_name}: {e}")))?;
        Ok(NatsBus {
            client,
            js,
            stream: stream_name.to_owned(),
        })
    }

    /// The stream's limits as the server has them.
    pub async fn limits(&self) -> Result<StreamLimits, BusError> {
        let mut stream = self.stream().await?;
        let config = &stream.info().await.map_err(backend)?.config;
        Ok(StreamLimits {
            max_age: config.max_age,
            max_bytes: config.max_bytes,
        })
    }

    /// Deletes the stream (tests clean up after themselves).
    pub async fn delete_stream(&self) -> Result<(), BusError> {
        self.js.delete_stream(&self.stream).await.map_err(backend)?;
        Ok(())
    }

    async fn stream(&self) -> Result<stream::Stream, BusError> {
        self.js.get_stream(&self.stream).await.map_err(backend)
    }
}

#[async_trait]
impl EventBus for NatsBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", event.id.as_str());
        let subject = format!("{}.events.{}", self.stream, event.kind);
        self.js
            .publish_with_headers(subject, headers, event.to_json().into())
            .await
            .map_err(backend)?
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn subscribe(&self, start: Start) -> Result<Box<dyn Subscription>, BusError> {
        let stream = self.stream().await?;
        let (config, durable) = match &start {
            Start::Durable(name) => (
                consumer::pull::Config {
                    durable_name: Some(name.clone()),
                    deliver_policy: consumer::DeliverPolicy::All,
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: ACK_WAIT,
                    ..Default::default()
                },
                true,
            ),
            Start::Beginning | Start::New => (
                consumer::pull::Config {
                    deliver_policy: if start == Start::New {
                        consumer::DeliverPolicy::New
                    } else {
                        consumer::DeliverPolicy::All
                    },
                    ack_policy: consumer::AckPolicy::None,
                    inactive_threshold: Duration::from_secs(60),
                    ..Default::default()
                },
                false,
            ),
        };
        let mut consumer = match &start {
            Start::Durable(name) => stream.get_or_create_consumer(name, config).await,
            _ => stream.create_consumer(config).await,
        }
        .map_err(backend)?;
        let position = if durable {
            consumer
                .info()
                .await
                .map_err(backend)?
                .ack_floor
                .stream_sequence
        } else if start == Start::New {
            self.head().await?
        } else {
            0
        };
        let messages = consumer.messages().await.map_err(backend)?;
        Ok(Box::new(NatsSubscription {
            messages,
            unacked: BTreeMap::new(),
            position,
        }))
    }

    async fn head(&self) -> Result<u64, BusError> {
        let mut stream = self.stream().await?;
        Ok(stream.info().await.map_err(backend)?.state.last_sequence)
    }

    async fn ping(&self) -> Result<(), BusError> {
        self.client.flush().await.map_err(backend)
    }

    fn crosses_processes(&self) -> bool {
        true
    }
}

struct NatsSubscription {
    messages: consumer::pull::Stream,
    /// Delivered but not yet acknowledged, by stream sequence.
    unacked: BTreeMap<u64, jetstream::Message>,
    position: u64,
}

#[async_trait]
impl Subscription for NatsSubscription {
    async fn next(&mut self) -> Result<Delivered, BusError> {
        loop {
            let message = self
                .messages
                .next()
                .await
                .ok_or(BusError::Closed)?
                .map_err(backend)?;
            let (sequence, pending) = {
                let info = message.info().map_err(backend)?;
                (info.stream_sequence, info.pending)
            };
            let event: Event = match serde_json::from_slice(&message.payload) {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(sequence, error = %e, "skipping a malformed message on the bus");
                    let _ = message.ack().await;
                    continue;
                }
            };
            self.position = sequence;
            self.unacked.insert(sequence, message);
            return Ok(Delivered {
                sequence,
                pending,
                event,
            });
        }
    }

    async fn ack(&mut self, sequence: u64) -> Result<(), BusError> {
        // Pull consumers need explicit acks: acknowledge each delivered message up to here.
        let rest = self.unacked.split_off(&(sequence + 1));
        let done = std::mem::replace(&mut self.unacked, rest);
        for (_, message) in done {
            message.double_ack().await.map_err(backend)?;
        }
        Ok(())
    }

    fn position(&self) -> u64 {
        self.position
    }
}

impl Drop for NatsSubscription {
    fn drop(&mut self) {
        // Hand what was delivered but not acknowledged back at once rather than after ACK_WAIT.
        let unacked = std::mem::take(&mut self.unacked);
        if unacked.is_empty() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                for (_, m) in unacked {
                    let _ = m.ack_with(jetstream::AckKind::Nak(None)).await;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Needs the NATS server with JetStream of this machine kind (127.0.0.1:4222).
    #[tokio::test]
    async fn nats_bus_keeps_the_bus_contract() {
        let name = format!("MALLTEST{}", uuid::Uuid::new_v4().simple());
        let open = {
            let name = name.clone();
            move || {
                let name = name.clone();
                async move {
                    Arc::new(
                        NatsBus::connect("nats://127.0.0.1:4222", &name)
                            .await
                            .expect("NATS with JetStream runs on 127.0.0.1:4222"),
                    ) as Arc<dyn EventBus>
                }
            }
        };
        crate::bus::conformance::check(open).await;
        NatsBus::connect("nats://127.0.0.1:4222", &name)
            .await
            .expect("connect")
            .delete_stream()
            .await
            .expect("cleanup");
    }
}
