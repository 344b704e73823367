//! The store contract every adapter must keep, as one check against a fresh store.

use serde_json::{json, Value};

use super::{Query, Sort, Store, TxExt};
use crate::event::{Event, EventType};

pub fn check(store: &dyn Store) {
    // Rolled back: neither the document nor its event remain.
    {
        let mut tx = store.begin().expect("tx");
        tx.put_raw("orders", 99, &json!({"id": 99})).expect("put");
        let e = Event::new(EventType::OrderPlaced, &json!({"orderId": 99})).expect("event");
        tx.push_event(&e).expect("push");
    }
    assert!(store
        .begin_read()
        .expect("tx")
        .get_raw("orders", 99)
        .expect("get")
        .is_none());
    assert!(store.pending_events(10).expect("pending").is_empty());

    // Committed: ids count up, filters, membership, sort and pages.
    let mut tx = store.begin().expect("tx");
    for i in 1..=5 {
        let id = tx.next_id("orders").expect("id");
        assert_eq!(id, i);
        tx.put(
            "orders",
            id,
            &json!({"id": id, "c": if i % 2 == 0 {"a"} else {"b"}, "q": 10 - i, "o": i * 100}),
        )
        .expect("put");
    }
    let e = Event::new(EventType::OrderPlaced, &json!({"orderId": 1})).expect("event");
    tx.push_event(&e).expect("push");
    assert!(tx.mark_processed("c", "e1").expect("mark"));
    assert!(!tx.mark_processed("c", "e1").expect("mark again"));
    tx.put_key("k", "v").expect("key");
    tx.commit().expect("commit");

    let mut tx = store.begin_read().expect("tx");
    let q = Query {
        equals: vec![("c".into(), json!("b"))],
        sort: Some(Sort {
            field: "q".into(),
            descending: false,
        }),
        page: 0,
        size: 2,
        ..Query::default()
    };
    let page = tx.list::<Value>("orders", &q).expect("list");
    assert_eq!(page.total, 3);
    let ids: Vec<i64> = page.items.iter().filter_map(|v| v["id"].as_i64()).collect();
    assert_eq!(ids, vec![5, 3]);
    // The total is the same whether the page tells it (a partial later page) or the store
    // counts it (a page past the end).
    for (page, found) in [(1, 1), (5, 0)] {
        let later = Query { page, ..q.clone() };
        let listed = tx.list::<Value>("orders", &later).expect("list");
        assert_eq!(
            (listed.items.len(), listed.total),
            (found, 3),
            "page {page}"
        );
    }
    let by_id = Query {
        within: Some(("id".into(), vec![json!(2), json!(4), json!(9)])),
        size: 10,
        ..Query::default()
    };
    assert_eq!(tx.list::<Value>("orders", &by_id).expect("list").total, 2);
    let by_field = Query {
        within: Some(("o".into(), vec![json!(100), json!(300)])),
        size: 10,
        ..Query::default()
    };
    assert_eq!(
        tx.list::<Value>("orders", &by_field).expect("list").total,
        2
    );
    let desc = Query {
        sort: Some(Sort {
            field: "id".into(),
            descending: true,
        }),
        page: 1,
        size: 2,
        ..Query::default()
    };
    let ids: Vec<i64> = tx
        .list::<Value>("orders", &desc)
        .expect("list")
        .items
        .iter()
        .filter_map(|v| v["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![3, 2]);
    assert_eq!(tx.get_key("k").expect("key").as_deref(), Some("v"));
    drop(tx);

    // The outbox hands out committed events until they are marked published.
    let pending = store.pending_events(10).expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event, e);
    store
        .mark_published(&[pending[0].position])
        .expect("published");
    assert!(store.pending_events(10).expect("pending").is_empty());
    store.ping().expect("ping");
}
