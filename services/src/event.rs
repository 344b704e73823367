//! Domain events in the course's wire form: `{"type":"OrderPlaced","eventId":"…","timestamp":…, …fields}`.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{Map, Value};

/// The events of the 12st mall, by their wire `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    OrderPlaced,
    OrderCancelled,
    DeliveryStarted,
    DeliveryCancelled,
    DeliveryCompleted,
    StockDecreased,
    StockIncreased,
    MyPageChanged,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::OrderPlaced,
        EventType::OrderCancelled,
        EventType::DeliveryStarted,
        EventType::DeliveryCancelled,
        EventType::DeliveryCompleted,
        EventType::StockDecreased,
        EventType::StockIncreased,
        EventType::MyPageChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderPlaced => "OrderPlaced",
            EventType::OrderCancelled => "OrderCancelled",
            EventType::DeliveryStarted => "DeliveryStarted",
            EventType::DeliveryCancelled => "DeliveryCancelled",
            EventType::DeliveryCompleted => "DeliveryCompleted",
            EventType::StockDecreased => "StockDecreased",
            EventType::StockIncreased => "StockIncreased",
            EventType::MyPageChanged => "MyPageChanged",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One domain event. The payload is the aggregate's fields, flattened beside the envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "eventId")]
    pub id: String,
    /// Milliseconds since the Unix epoch, as the course's events carry it.
    pub timestamp: i64,
    #[serde(flatten)]
    pub data: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("event payload is not a JSON object")]
    NotAnObject,
    #[error("event {kind} has an unexpected shape: {source}")]
    Shape {
        kind: String,
        #[source]
        source: serde_json::Error,
    },
}

impl Event {
    /// A new event with a fresh id and the current time.
    pub fn new<T: Serialize>(kind: EventType, payload: &T) -> Result<Event, EventError> {
        let data = match serde_json::to_value(payload) {
            Ok(Value::Object(map)) => map,
            _ => return Err(EventError::NotAnObject),
        };
        Ok(Event {
            kind: kind.as_str().to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            timestamp: now_millis(),
            data,
        })
    }

    pub fn event_type(&self) -> Option<EventType> {
        EventType::parse(&self.kind)
    }

    /// The payload read as a typed struct.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, EventError> {
        serde_json::from_value(Value::Object(self.data.clone())).map_err(|source| {
            EventError::Shape {
                kind: self.kind.clone(),
                source,
            }
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an event is plain JSON and always serialises")
    }
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_flat_with_type_and_event_id() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct P {
            order_id: i64,
        }
        let e = Event::new(EventType::OrderPlaced, &P { order_id: 1 }).expect("object");
        let v: Value = serde_json::from_str(&e.to_json()).expect("json");
        assert_eq!(v["type"], "OrderPlaced");
        assert_eq!(v["orderId"], 1);
        assert!(v["eventId"].as_str().is_some_and(|s| s.len() == 36));
        assert!(v["timestamp"].as_i64().is_some());
        let back: Event = serde_json::from_value(v).expect("round trip");
        assert_eq!(back, e);
    }
}
