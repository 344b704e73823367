//! `mall dlq list|replay` through the binary, on the embedded stores of a data directory: a
//! dead letter of the delivery service is listed, replayed (its delivery starts and its
//! DeliveryStarted waits in the outbox) and then gone.

use std::path::Path;
use std::process::{Command, Output};

use mall_services::delivery;
use mall_services::event::{Event, EventType};
use mall_services::store::sqlite::SqliteStore;
use mall_services::store::{DeadLetter, Store};
use serde_json::json;

fn mall(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mall"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("MALL_DATABASE")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("mall runs")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn dead_letters_are_listed_and_replayed() {
    let dir = tempfile::tempdir().expect("dir");
    let placed = Event::new(
        EventType::OrderPlaced,
        &json!({"orderId": 7, "productId": 1, "productName": "TV", "quantity": 2,
                "price": 10000, "customerId": "jay@uengine.org", "customerName": "Jay",
                "customerAddr": "Seoul", "status": "Ordered"}),
    )
    .expect("event");
    {
        let store = SqliteStore::open(&dir.path().join("delivery.db")).expect("store");
        let mut tx = store.begin().expect("tx");
        tx.mark_processed(delivery::CONSUMER, &placed.id)
            .expect("mark");
        tx.dead_letter(&DeadLetter {
            consumer: delivery::CONSUMER.into(),
            event: placed.clone(),
            error: "storage failed: disk full".into(),
            attempts: 5,
            failed_at: 1_700_000_000_000,
        })
        .expect("dead letter");
        tx.commit().expect("commit");
    }

    let list = mall(dir.path(), &["dlq", "list"]);
    assert!(list.status.success(), "{}", text(&list.stderr));
    let listed = text(&list.stdout);
    let row = listed
        .lines()
        .find(|l| l.contains(&placed.id))
        .unwrap_or_else(|| panic!("the dead letter is listed: {listed}"));
    assert!(row.starts_with("delivery\t"), "{row}");
    assert!(
        row.contains("OrderPlaced") && row.contains("\t5\t"),
        "{row}"
    );
    assert!(row.contains("disk full"), "the error is shown: {row}");

    let replay = mall(
        dir.path(),
        &["dlq", "replay", "--role", "delivery", &placed.id],
    );
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    assert!(text(&replay.stdout).contains("replayed OrderPlaced"));
    {
        let store = SqliteStore::open(&dir.path().join("delivery.db")).expect("store");
        let mut tx = store.begin_read().expect("tx");
        let started = delivery::by_order(&mut *tx, 7)
            .expect("read")
            .expect("the replayed event started a delivery");
        assert_eq!(started.status, delivery::DeliveryStatus::DeliveryStarted);
        drop(tx);
        let outbox: Vec<String> = store
            .pending_events(10)
            .expect("outbox")
            .into_iter()
            .map(|p| p.event.kind)
            .collect();
        assert_eq!(outbox, vec!["DeliveryStarted"], "waiting for the relay");
    }

    let listed = text(&mall(dir.path(), &["dlq", "list", "--role", "delivery"]).stdout);
    assert!(!listed.contains(&placed.id), "replayed, so gone: {listed}");
    let again = mall(
        dir.path(),
        &["dlq", "replay", "--role", "delivery", &placed.id],
    );
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("no dead letter"),
        "{}",
        text(&again.stderr)
    );
}
