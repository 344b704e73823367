//! The `myPage` subscription end to end: a real WebSocket (graphql-transport-ws) to the BFF
//! of a whole mall on free ports, changes made through the BFF's mutations.

mod common;

use mall_services::Role;
use std::time::Duration;

use common::{
    cancel_order, eventually, mall, mall_with, metric, place_order, place_order_at_service, ws_url,
    Client, Seen,
};
use mall::{start_bff, BusChoice, MallConfig, Ports, Target};
use serde_json::{json, Value};

fn statuses(update: &Value) -> (i64, Value, Value) {
    let row = &update["row"];
    (
        row["orderId"].as_i64().expect("orderId"),
        row["orderStatus"].clone(),
        row["deliveryStatus"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_reaches_its_customer_in_order_and_no_one_else() {
    let (mall, _dir) = mall().await;
    let bff = mall.bff_url.clone().expect("bff");
    // GET /graphql with an upgrade is the subscription endpoint; so is /graphql/ws.
    let mut a = Client::connect(&ws_url(&bff, "/graphql")).await;
    let mut b = Client::connect(&ws_url(&bff, "/graphql/ws")).await;
    let first = a.snapshot_of("a", "a@12st.example").await;
    assert_eq!(first["rows"], json!([]), "a new customer has no rows");
    b.snapshot_of("b", "b@12st.example").await;

    let order = place_order(&bff, "a@12st.example").await;
    let placed = a.update().await;
    assert_eq!(placed["kind"], "CHANGE");
    assert_eq!(statuses(&placed), (order, json!("ORDERED"), Value::Null));
    assert_eq!(placed["rows"].as_array().map(Vec::len), Some(1));
    let started = a.update().await;
    assert_eq!(
        statuses(&started),
        (order, json!("ORDERED"), json!("DELIVERY_STARTED"))
    );
    assert_eq!(started["rows"][0]["deliveryStatus"], "DELIVERY_STARTED");

    // b's first update is b's own order: a's changes, earlier on the same bus, never came.
    let theirs = place_order(&bff, "b@12st.example").await;
    let own = b.update().await;
    assert_eq!(statuses(&own).0, theirs, "b saw only its own change: {own}");
    assert_eq!(own["row"]["customerId"], "b@12st.example");

    // A plain GET /graphql still serves GraphiQL (or says how to get it).
    let page = reqwest::get(format!("{bff}/graphql")).await.expect("page");
    assert_ne!(page.status(), 404);
    assert!(page
        .headers()
        .get("content-type")
        .is_some_and(|t| t.to_str().unwrap_or("").starts_with("text/")));
    a.close().await;
    b.close().await;
    mall.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_order_sends_order_cancelled_then_delivery_cancelled() {
    let (mall, _dir) = mall().await;
    let bff = mall.bff_url.clone().expect("bff");
    let mut c = Client::connect(&ws_url(&bff, "/graphql/ws")).await;
    c.snapshot_of("1", "cancel@12st.example").await;
    let order = place_order(&bff, "cancel@12st.example").await;
    assert_eq!(statuses(&c.update().await).2, Value::Null);
    assert_eq!(statuses(&c.update().await).2, "DELIVERY_STARTED");

    cancel_order(&bff, order).await;
    let cancelled = c.update().await;
    assert_eq!(
        statuses(&cancelled),
        (order, json!("CANCELLED"), json!("DELIVERY_STARTED")),
        "OrderCancelled first"
    );
    let delivery = c.update().await;
    assert_eq!(
        statuses(&delivery),
        (order, json!("CANCELLED"), json!("DELIVERY_CANCELLED")),
        "then DeliveryCancelled"
    );
    assert_eq!(delivery["rows"].as_array().map(Vec::len), Some(1));
    c.close().await;
    mall.stop().await;
}

/// The snapshot-then-change hand-over: an order placed while its customer's subscription is
/// being registered and its snapshot read reaches the subscriber, by the snapshot, a change,
/// or both, never neither. Each round races the two at a different offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_placed_while_subscribing_is_never_missed() {
    let (mall, _dir) = mall().await;
    let bff = mall.bff_url.clone().expect("bff");
    let order_service = mall.services.as_ref().expect("services").urls[Role::Order].to_owned();
    let url = ws_url(&bff, "/graphql/ws");
    for round in 0..24u64 {
        let customer = format!("race-{round}@12st.example");
        let placing = {
            let order_service = order_service.clone();
            let customer = customer.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(round * 3)).await;
                place_order_at_service(&order_service, &customer).await
            })
        };
        let mut c = Client::connect(&url).await;
        let mut rows = c.snapshot_of("race", &customer).await["rows"].clone();
        let order = placing.await.expect("the order was placed");
        let started = |rows: &Value| {
            rows.as_array().is_some_and(|rows| {
                rows.iter().any(|r| {
                    r["orderId"].as_i64() == Some(order)
                        && r["deliveryStatus"] == "DELIVERY_STARTED"
                })
            })
        };
        while !started(&rows) {
            let Some(Seen::Next(_, payload)) = c.next_within(common::DEADLINE).await else {
                panic!("round {round}: order {order} never reached its subscriber (rows {rows})");
            };
            rows = payload["data"]["myPage"]["rows"].clone();
        }
        c.close().await;
    }
    mall.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_is_resynced_or_dropped_and_holds_no_one_up() {
    // Long customer ids make every update large, so the slow reader's socket buffers fill
    // after a few dozen orders instead of thousands.
    let slow_customer = format!("slow-{}@12st.example", "x".repeat(180));
    let other = "other@12st.example";
    let (mall, _dir) =
        mall_with(|c| c.bff.subscriptions.send_timeout = Duration::from_secs(3)).await;
    let bff = mall.bff_url.clone().expect("bff");
    let order_service = mall.services.as_ref().expect("services").urls[Role::Order].to_owned();
    let feed = mall
        .bff
        .as_ref()
        .and_then(|b| b.feed.clone())
        .expect("a feed");
    let url = ws_url(&bff, "/graphql/ws");

    let mut slow = Client::open_with(&url, Some(2048)).await;
    slow.init().await;
    slow.snapshot_of("s", &slow_customer).await;
    let mut fast = Client::connect(&url).await;
    fast.snapshot_of("f", &slow_customer).await;
    let mut bystander = Client::connect(&url).await;
    bystander.snapshot_of("o", other).await;
    assert_eq!(feed.active(), 3);
    let lagged_before = metric(&bff, "mypage_subscribers_lagged_total").await;

    // The slow reader reads nothing from here on. Orders go on until it is lagged or
    // dropped; the fast reader gets every change of every order promptly all along.
    let mut orders = Vec::new();
    loop {
        let order = place_order_at_service(&order_service, &slow_customer).await;
        orders.push(order);
        for _ in 0..2 {
            let u = tokio::time::timeout(Duration::from_secs(10), fast.update())
                .await
                .expect("the fast reader is not held up by the slow one");
            assert_eq!(statuses(&u).0, order, "in order");
            assert_eq!(u["kind"], "CHANGE");
        }
        let lagged = metric(&bff, "mypage_subscribers_lagged_total").await > lagged_before;
        if lagged || feed.active() < 3 {
            break;
        }
        assert!(
            orders.len() < 400,
            "the slow reader was neither lagged nor dropped"
        );
    }
    // A few more while it is behind: still prompt for the others.
    for _ in 0..3 {
        let order = place_order_at_service(&order_service, &slow_customer).await;
        orders.push(order);
        for _ in 0..2 {
            let u = tokio::time::timeout(Duration::from_secs(10), fast.update())
                .await
                .expect("still prompt");
            assert_eq!(statuses(&u).0, order);
        }
    }
    // The bystander's first update is its own order: nothing of the others reached it.
    let own = place_order_at_service(&order_service, other).await;
    assert_eq!(statuses(&bystander.update().await).0, own);

    // The slow reader catches up: whatever it was sent before, it ends with every order,
    // reading at full speed now (what the server had sent is still in its socket buffers),
    // either from a resync SNAPSHOT on this socket or, if it was dropped, from the
    // snapshot of a new subscription.
    slow.widen_receive_buffer(4 << 20);
    let mut rows = 0;
    let mut resynced = false;
    let mut caught_up = false;
    loop {
        match slow.next().await {
            Seen::Next(_, payload) => {
                let update = &payload["data"]["myPage"];
                rows = update["rows"].as_array().map_or(0, Vec::len);
                resynced |= update["kind"] == "SNAPSHOT";
                if resynced && rows == orders.len() {
                    caught_up = true;
                    break;
                }
            }
            Seen::Closed(_) => break,
            Seen::Other(m) => panic!("unexpected {m}"),
        }
    }
    if !caught_up {
        eventually("the dropped reader's registration is released", || async {
            feed.active() == 2
        })
        .await;
        let mut again = Client::connect(&url).await;
        let snapshot = again.snapshot_of("s2", &slow_customer).await;
        rows = snapshot["rows"].as_array().map_or(0, Vec::len);
        again.close().await;
    } else {
        slow.close().await;
    }
    assert_eq!(
        rows,
        orders.len(),
        "the slow reader misses nothing in the end"
    );
    fast.close().await;
    bystander.close().await;
    eventually("every registration is released", || async {
        feed.active() == 0
    })
    .await;
    mall.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reconnecting_after_a_bff_restart_gets_a_full_snapshot_first() {
    let (mall, dir) = mall().await;
    let services = mall.services.as_ref().expect("services");
    let config = common::replica_config(&mall, dir.path());
    let customer = "restart@12st.example";
    let first_bff = start_bff(&config, services.urls.clone(), Some(services.bus.clone()))
        .await
        .expect("a BFF");
    common::register(&first_bff.url, first_bff.auth().issuer.clone());
    let mut c = Client::connect(&ws_url(&first_bff.url, "/graphql/ws")).await;
    c.snapshot_of("1", customer).await;
    let first = place_order(&first_bff.url, customer).await;
    assert_eq!(statuses(&c.update().await).0, first);
    assert_eq!(statuses(&c.update().await).2, "DELIVERY_STARTED");

    first_bff.stop().await;
    match c.next().await {
        Seen::Closed(Some((code, _))) => assert_eq!(code, 1001, "going away: reconnect"),
        other => panic!("expected the BFF to close the socket, got {other:?}"),
    }
    // While no BFF runs, the customer orders again (straight at the order service).
    let second = place_order_at_service(&services.urls[Role::Order], customer).await;
    let mypage = services.urls[Role::Mypage].to_owned();
    eventually(
        "the projection has the second order, delivery started",
        || async {
            let url = format!("{mypage}/myPages/{second}");
            let token = common::token_for(&mypage, &common::staff(), "mypage");
            let r = reqwest::Client::new()
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .expect("mypage");
            let row: Value = r.json().await.unwrap_or(Value::Null);
            row["deliveryStatus"] == "DeliveryStarted"
        },
    )
    .await;

    let second_bff = start_bff(&config, services.urls.clone(), Some(services.bus.clone()))
        .await
        .expect("the BFF again");
    common::register(&second_bff.url, second_bff.auth().issuer.clone());
    let mut again = Client::connect(&ws_url(&second_bff.url, "/graphql/ws")).await;
    let snapshot = again.snapshot_of("1", customer).await;
    let ids: Vec<i64> = snapshot["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["orderId"].as_i64().expect("orderId"))
        .collect();
    assert_eq!(ids, [first, second], "nothing missed while disconnected");
    // And it is live again.
    let third = place_order(&second_bff.url, customer).await;
    let change = again.update().await;
    assert_eq!(statuses(&change).0, third);
    assert_eq!(change["rows"].as_array().map(Vec::len), Some(3));
    again.close().await;
    second_bff.stop().await;
    mall.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_answered_with_clear_errors() {
    let (mall, _dir) = mall().await;
    let bff = mall.bff_url.clone().expect("bff");
    let url = ws_url(&bff, "/graphql/ws");
    let mut c = Client::connect(&url).await;

    // A blank customer id: one error with its code, then the subscription completes.
    c.subscribe("blank", "  ").await;
    match c.next().await {
        Seen::Next(id, payload) => {
            assert_eq!(id, "blank");
            assert_eq!(
                payload["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{payload}"
            );
            assert!(payload["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("customerId")));
        }
        other => panic!("expected an error, got {other:?}"),
    }
    match c.next().await {
        Seen::Other(m) => assert_eq!(m["type"], "complete"),
        other => panic!("expected complete, got {other:?}"),
    }
    // The connection is still usable.
    c.snapshot_of("ok", "fine@12st.example").await;

    // A malformed message closes the connection with 4400 and says what is wrong.
    c.send_text(r#"{"type":"subscribe","payload":{}}"#).await;
    match c.next().await {
        Seen::Closed(Some((code, reason))) => {
            assert_eq!(code, 4400);
            assert!(reason.contains("invalid message"), "{reason}");
        }
        other => panic!("expected a 4400 close, got {other:?}"),
    }

    // Subscribing before connection_init: 4401.
    let mut early = Client::open(&url).await;
    early.subscribe("1", "a@12st.example").await;
    match early.next().await {
        Seen::Closed(Some((code, _))) => assert_eq!(code, 4401),
        other => panic!("expected a 4401 close, got {other:?}"),
    }

    // A plain GET of /graphql/ws says what the endpoint is.
    let r = reqwest::get(format!("{bff}/graphql/ws"))
        .await
        .expect("get");
    assert_eq!(r.status(), 426);
    assert!(r
        .text()
        .await
        .expect("text")
        .contains("graphql-transport-ws"));
    mall.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_pings_and_closes_a_client_that_never_answers() {
    let (mall, _dir) = mall_with(|c| {
        c.bff.subscriptions.ping_interval = Duration::from_millis(50);
        c.bff.subscriptions.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let bff = mall.bff_url.clone().expect("bff");
    let url = ws_url(&bff, "/graphql/ws");

    // A client that answers pings stays connected past several idle timeouts.
    let mut polite = Client::connect(&url).await;
    polite.snapshot_of("1", "ping@12st.example").await;
    assert!(
        polite
            .next_within(Duration::from_millis(1600))
            .await
            .is_none(),
        "nothing but pings, and no close"
    );
    assert!(polite.pings >= 3, "pinged every 100ms: {}", polite.pings);

    // One that never answers is closed.
    let mut mute = Client::connect(&url).await;
    mute.answer_pings = false;
    mute.snapshot_of("1", "ping@12st.example").await;
    match mute.next().await {
        Seen::Closed(Some((code, _))) => assert_eq!(code, 4408),
        other => panic!("expected a 4408 close, got {other:?}"),
    }
    polite.close().await;
    mall.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bff_without_an_event_bus_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let alone = mall::start(MallConfig {
        target: Target::Bff,
        bus: BusChoice::Embedded,
        data_dir: dir.path().to_owned(),
        ports: Ports::any(),
        ..MallConfig::default()
    })
    .await
    .expect("the BFF starts alone");
    common::register_mall(&alone);
    let bff = alone.bff_url.clone().expect("bff");
    let mut c = Client::connect(&ws_url(&bff, "/graphql/ws")).await;
    c.subscribe("1", "a@12st.example").await;
    match c.next().await {
        Seen::Next(_, payload) => {
            let error = &payload["errors"][0];
            assert_eq!(error["extensions"]["code"], "SUBSCRIPTIONS_UNAVAILABLE");
            assert!(error["message"]
                .as_str()
                .is_some_and(|m| m.contains("event bus")));
        }
        other => panic!("expected an error, got {other:?}"),
    }
    c.close().await;
    alone.stop().await;
}
