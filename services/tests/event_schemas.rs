//! Every domain event the services publish matches its JSON Schema in
//! schema/domain-events.schema.json, the contract for any other consumer of the log (a
//! Spring Boot service of the course, say).

mod common;

use mall_services::Role;
use std::collections::BTreeSet;

use common::{eventually, start};
use mall_services::bus::Start;
use mall_services::event::EventType;
use serde_json::{json, Value};

const SCHEMA: &str = include_str!("../../schema/domain-events.schema.json");

/// Runs the course's flow (place, cancel, place, complete) and returns the whole log.
async fn the_flows_log() -> Vec<Value> {
    let mall = start().await;
    let cancelled = mall.place(1, 2, "1@uengine.org").await["id"]
        .as_i64()
        .expect("id");
    eventually("delivery starts", || async {
        mall.deliveries_of(cancelled).await.into_iter().next()
    })
    .await;
    let r = mall
        .http
        .delete(format!(
            "{}/orders/{cancelled}",
            mall.system.urls[Role::Order]
        ))
        .send()
        .await
        .expect("cancel");
    assert_eq!(r.status(), 200);
    let completed = mall.place(3, 1, "2@uengine.org").await["id"]
        .as_i64()
        .expect("id");
    let delivery = eventually("delivery starts", || async {
        mall.deliveries_of(completed).await.into_iter().next()
    })
    .await;
    let r = mall
        .http
        .patch(format!(
            "{}/deliveries/{}",
            mall.system.urls[Role::Delivery],
            delivery["id"]
        ))
        .json(&json!({"status": "DeliveryCompleted"}))
        .send()
        .await
        .expect("complete");
    assert_eq!(r.status(), 200);

    let every_type: BTreeSet<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    eventually("every kind of event is in the log", || async {
        let log = read_log(&mall).await;
        let seen: BTreeSet<&str> = log.iter().filter_map(|e| e["type"].as_str()).collect();
        let all = every_type.iter().all(|t| seen.contains(t));
        // Wait for the last projection change (of the completion) as well.
        let last_changed = log
            .iter()
            .any(|e| e["type"] == "MyPageChanged" && e.to_string().contains("DeliveryCompleted"));
        (all && last_changed).then_some(())
    })
    .await;
    read_log(&mall).await
}

async fn read_log(mall: &common::Mall) -> Vec<Value> {
    let head = mall.system.bus.head().await.expect("head");
    let mut sub = mall
        .system
        .bus
        .subscribe(Start::Beginning)
        .await
        .expect("replay");
    let mut out = Vec::new();
    while (out.len() as u64) < head {
        let d = sub.next().await.expect("next");
        out.push(serde_json::to_value(&d.event).expect("JSON"));
    }
    out
}

#[tokio::test]
async fn every_published_event_matches_its_schema() {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let log = the_flows_log().await;
    for event in &log {
        let problems: Vec<String> = validator
            .iter_errors(event)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(problems.is_empty(), "{event:#}\n{problems:#?}");
    }
}

#[tokio::test]
async fn the_schema_refuses_events_that_break_the_contract() {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let good = json!({"type": "StockDecreased", "eventId": "6f1c1d9e-9a3e-4a8e-9b1e-1f6b5a0d2c11",
                      "timestamp": 1764000000000_i64, "productId": 1, "stock": 8,
                      "quantity": 2, "orderId": 1});
    assert!(
        validator.is_valid(&good),
        "{:?}",
        validator
            .iter_errors(&good)
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
    for broken in [
        json!({"type": "OrderPlaced", "timestamp": 1}),
        json!({"type": "Unheard", "eventId": "x", "timestamp": 1}),
        json!({"type": "StockDecreased", "eventId": "6f1c1d9e-9a3e-4a8e-9b1e-1f6b5a0d2c11",
               "timestamp": 1764000000000_i64, "productId": "one", "stock": 8}),
    ] {
        assert!(!validator.is_valid(&broken), "{broken}");
    }
}
