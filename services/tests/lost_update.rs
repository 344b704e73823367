//! A delivery's state changes are serialised on every store adapter: a cancel that arrives
//! while a completion is in flight (or the other way round) never overwrites it, and stock
//! is restored only for goods that were not delivered.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::events::order_event;
use common::stores;
use mall_services::delivery::{self, Delivery, DeliveryPatch, DeliveryStatus};
use mall_services::domain_error::DomainError;
use mall_services::event::EventType;
use mall_services::store::Store;

fn handle(store: &dyn Store, kind: EventType, order: i64) {
    let mut tx = store.begin().expect("tx");
    delivery::policy()(&mut *tx, &order_event(kind, order, 2)).expect("handled");
    tx.commit().expect("commit");
}

fn completed() -> DeliveryPatch {
    DeliveryPatch {
        status: "DeliveryCompleted".into(),
    }
}

fn delivery_of(store: &dyn Store, order: i64) -> Delivery {
    let mut tx = store.begin_read().expect("tx");
    delivery::by_order(&mut *tx, order)
        .expect("read")
        .expect("a delivery")
}

/// The delivery events recorded since the last call, by type (and marks them published).
fn drain(store: &dyn Store) -> Vec<String> {
    let pending = store.pending_events(1000).expect("outbox");
    let positions: Vec<i64> = pending.iter().map(|p| p.position).collect();
    store.mark_published(&positions).expect("published");
    pending.into_iter().map(|p| p.event.kind).collect()
}

#[test]
fn a_cancel_arriving_during_a_completion_leaves_it_completed() {
    for s in stores::each() {
        let (replica_a, replica_b) = (s.open(), s.open());
        handle(&*replica_a, EventType::OrderPlaced, 1);
        drain(&*replica_a);
        let id = delivery_of(&*replica_a, 1).id;

        // The completion is written but not yet committed when the cancel comes in.
        let mut completing = replica_a.begin().expect("tx");
        delivery::complete(&mut *completing, id, completed()).expect("completes");
        let cancel = std::thread::spawn(move || {
            handle(&*replica_b, EventType::OrderCancelled, 1);
        });
        std::thread::sleep(Duration::from_millis(300));
        completing.commit().expect("commit");
        cancel.join().expect("the cancel is handled");

        assert_eq!(
            delivery_of(&*replica_a, 1).status,
            DeliveryStatus::DeliveryCompleted,
            "{}: the completion stands",
            s.name
        );
        assert_eq!(
            drain(&*replica_a),
            vec!["DeliveryCompleted"],
            "{}: no DeliveryCancelled, so no stock comes back for delivered goods",
            s.name
        );
    }
}

#[test]
fn a_completion_arriving_during_a_cancel_is_refused() {
    for s in stores::each() {
        let (replica_a, replica_b) = (s.open(), s.open());
        handle(&*replica_a, EventType::OrderPlaced, 1);
        drain(&*replica_a);
        let id = delivery_of(&*replica_a, 1).id;

        let mut cancelling = replica_a.begin().expect("tx");
        delivery::policy()(
            &mut *cancelling,
            &order_event(EventType::OrderCancelled, 1, 2),
        )
        .expect("cancels");
        let complete = std::thread::spawn(move || {
            let mut tx = replica_b.begin().expect("tx");
            let out = delivery::complete(&mut *tx, id, completed());
            tx.commit().expect("commit");
            out
        });
        std::thread::sleep(Duration::from_millis(300));
        cancelling.commit().expect("commit");
        let out = complete.join().expect("no panic");
        assert!(
            matches!(out, Err(DomainError::Conflict(_))),
            "{}: a cancelled delivery cannot be completed: {out:?}",
            s.name
        );
        assert_eq!(
            delivery_of(&*replica_a, 1).status,
            DeliveryStatus::DeliveryCancelled
        );
        assert_eq!(drain(&*replica_a), vec!["DeliveryCancelled"], "{}", s.name);
    }
}

#[test]
fn racing_cancels_and_completions_each_take_effect_once() {
    const ORDERS: i64 = 40;
    for s in stores::each() {
        let (replica_a, replica_b) = (s.open(), s.open());
        for order in 1..=ORDERS {
            handle(&*replica_a, EventType::OrderPlaced, order);
        }
        drain(&*replica_a);
        for order in 1..=ORDERS {
            let id = delivery_of(&*replica_a, order).id;
            let start = Arc::new(Barrier::new(2));
            let (a, b) = (Arc::clone(&replica_a), Arc::clone(&replica_b));
            let (s1, s2) = (Arc::clone(&start), Arc::clone(&start));
            let completer = std::thread::spawn(move || {
                s1.wait();
                let mut tx = a.begin().expect("tx");
                let out = delivery::complete(&mut *tx, id, completed());
                tx.commit().expect("commit");
                out.is_ok()
            });
            let canceller = std::thread::spawn(move || {
                s2.wait();
                handle(&*b, EventType::OrderCancelled, order);
            });
            canceller.join().expect("cancel handled");
            let completed = completer.join().expect("no panic");
            let status = delivery_of(&*replica_a, order).status;
            let events = drain(&*replica_a);
            let expected = if completed {
                (DeliveryStatus::DeliveryCompleted, vec!["DeliveryCompleted"])
            } else {
                (DeliveryStatus::DeliveryCancelled, vec!["DeliveryCancelled"])
            };
            assert_eq!(
                (status, events),
                (
                    expected.0,
                    expected.1.iter().map(|e| e.to_string()).collect()
                ),
                "{}: order {order}: exactly one of completion and cancel took effect",
                s.name
            );
        }
    }
}
