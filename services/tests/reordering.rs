//! Events of one order handled in any order (replicas sharing one durable consumer) end
//! where the causal order ends, on every store adapter: a cancelled delivery, exact stock,
//! and the same my-page row.

mod common;

use std::sync::Arc;

use common::events::order_event;
use common::stores;
use mall_services::consumer::{self, Handler};
use mall_services::delivery::{self, DeliveryStatus};
use mall_services::event::{Event, EventType};
use mall_services::mypage::{self, MyPageRow};
use mall_services::product::{self, NewProduct, Product};
use mall_services::store::{self, Store, TxExt};

/// The three consuming services, each on its own store of one adapter.
struct Services {
    _stores: Vec<stores::TestStore>,
    delivery: Arc<dyn Store>,
    product: Arc<dyn Store>,
    mypage: Arc<dyn Store>,
}

/// Opens the stores (blocking: outside the runtime).
fn services(adapter: &'static str) -> Services {
    let picked: Vec<stores::TestStore> = (0..3).map(|_| stores::fresh(adapter)).collect();
    let (d, p, m) = (picked[0].open(), picked[1].open(), picked[2].open());
    let mut tx = p.begin().expect("tx");
    product::create(
        &mut *tx,
        NewProduct {
            name: "TV".into(),
            price: 10000,
            stock: 10,
        },
    )
    .expect("product");
    tx.commit().expect("commit");
    Services {
        _stores: picked,
        delivery: d,
        product: p,
        mypage: m,
    }
}

async fn feed(name: &'static str, store: &Arc<dyn Store>, handler: &Handler, events: &[Event]) {
    for e in events {
        consumer::handle(name, store, handler, e.clone())
            .await
            .expect("handled");
    }
}

/// What a store's outbox holds (its blocking client may run on a runtime thread here).
fn outbox(store: &Arc<dyn Store>) -> Vec<Event> {
    tokio::task::block_in_place(|| store.pending_events(1000))
        .expect("outbox")
        .into_iter()
        .map(|p| p.event)
        .collect()
}

/// Runs one order's events through delivery, product and mypage, each in the order `arrange`
/// puts them; returns the delivery status, the stock and the my-page row.
async fn run(s: &Services, arrange: fn(&mut Vec<Event>)) -> (DeliveryStatus, i64, MyPageRow) {
    let mut orders = vec![
        order_event(EventType::OrderPlaced, 1, 3),
        order_event(EventType::OrderCancelled, 1, 3),
    ];
    arrange(&mut orders);
    feed(
        delivery::CONSUMER,
        &s.delivery,
        &delivery::policy(),
        &orders,
    )
    .await;
    let mut deliveries = outbox(&s.delivery);
    arrange(&mut deliveries);
    feed(
        product::CONSUMER,
        &s.product,
        &product::policy(),
        &deliveries,
    )
    .await;
    let mut all: Vec<Event> = orders.into_iter().chain(deliveries).collect();
    arrange(&mut all);
    feed(mypage::CONSUMER, &s.mypage, &mypage::policy(), &all).await;

    let status = store::read(&s.delivery, |tx| {
        delivery::by_order(tx, 1).map(|d| d.expect("a delivery").status)
    })
    .await
    .expect("delivery");
    let stock = store::read(&s.product, |tx| {
        tx.get::<Product>(product::RESOURCE.collection, 1)
            .map(|p| p.expect("product").stock)
    })
    .await
    .expect("stock");
    let row = store::read(&s.mypage, |tx| {
        tx.get::<MyPageRow>(mypage::RESOURCE.collection, 1)
            .map(|r| r.expect("row"))
    })
    .await
    .expect("row");
    (status, stock, row)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

#[test]
fn a_cancel_handled_before_its_order_ends_cancelled_with_exact_stock() {
    for adapter in stores::ADAPTERS {
        let (first, second) = (services(adapter), services(adapter));
        let in_order = runtime().block_on(run(&first, |_| {}));
        let reversed = runtime().block_on(run(&second, |events| events.reverse()));
        assert_eq!(in_order.0, DeliveryStatus::DeliveryCancelled);
        assert_eq!(in_order.1, 10, "stock back where it was");
        assert_eq!(
            reversed.0,
            DeliveryStatus::DeliveryCancelled,
            "adapter {adapter}: the late OrderPlaced starts no live delivery"
        );
        assert_eq!(reversed.1, 10, "adapter {adapter}: stock exact");
        let row = &reversed.2;
        assert_eq!(row.order_status.as_deref(), Some("Cancelled"));
        assert_eq!(row.delivery_status.as_deref(), Some("DeliveryCancelled"));
        assert_eq!(
            (row.product_name.as_str(), row.quantity, row.price),
            ("TV", 3, 10000),
            "adapter {adapter}: my-page has the order's facts"
        );
        assert_eq!(
            reversed.2, in_order.2,
            "adapter {adapter}: the same my-page row as in causal order"
        );
    }
}

#[test]
fn a_redelivered_early_cancel_changes_nothing_more() {
    for adapter in stores::ADAPTERS {
        let s = services(adapter);
        let cancel = order_event(EventType::OrderCancelled, 1, 3);
        let placed = order_event(EventType::OrderPlaced, 1, 3);
        let policy = delivery::policy();
        let events = [
            cancel.clone(),
            cancel.clone(),
            placed.clone(),
            cancel,
            placed,
        ];
        runtime().block_on(feed(delivery::CONSUMER, &s.delivery, &policy, &events));
        let kinds: Vec<String> = runtime()
            .block_on(async { outbox(&s.delivery) })
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            vec!["DeliveryStarted", "DeliveryCancelled"],
            "adapter {adapter}: one delivery, started and cancelled once"
        );
    }
}

/// Two delivery replicas handling one order's OrderPlaced and OrderCancelled at the same
/// moment: whichever wins, the delivery ends cancelled, started and cancelled once.
#[test]
fn concurrent_placed_and_cancelled_on_two_replicas_end_cancelled() {
    use std::sync::Barrier;
    const ORDERS: i64 = 30;
    for s in stores::each() {
        let (a, b) = (s.open(), s.open());
        for order in 1..=ORDERS {
            let start = Arc::new(Barrier::new(2));
            let run = |store: Arc<dyn Store>, kind: EventType, start: Arc<Barrier>| {
                std::thread::spawn(move || {
                    start.wait();
                    let mut tx = store.begin().expect("tx");
                    delivery::policy()(&mut *tx, &order_event(kind, order, 3)).expect("handled");
                    tx.commit().expect("commit");
                })
            };
            let placed = run(Arc::clone(&a), EventType::OrderPlaced, Arc::clone(&start));
            let cancelled = run(Arc::clone(&b), EventType::OrderCancelled, start);
            placed.join().expect("placed handled");
            cancelled.join().expect("cancel handled");
        }
        let mut kinds_by_order = std::collections::BTreeMap::<i64, Vec<String>>::new();
        for p in a.pending_events(1000).expect("outbox") {
            let order = p.event.data["orderId"].as_i64().expect("orderId");
            kinds_by_order.entry(order).or_default().push(p.event.kind);
        }
        for order in 1..=ORDERS {
            assert_eq!(
                kinds_by_order.get(&order).cloned().unwrap_or_default(),
                vec!["DeliveryStarted", "DeliveryCancelled"],
                "{}: order {order}",
                s.name
            );
            let mut tx = a.begin_read().expect("tx");
            let d = delivery::by_order(&mut *tx, order)
                .expect("read")
                .expect("a delivery");
            assert_eq!(d.status, DeliveryStatus::DeliveryCancelled, "{}", s.name);
        }
    }
}
