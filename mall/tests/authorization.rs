//! The shop's authorization matrix over real sockets (issue: sign-in): anonymous, two
//! customers and staff against every query, mutation and subscription of the BFF, and
//! against the services' REST routes reached directly. Customers sign up and act through
//! their session cookie, as the browser does; staff use a bearer token as scripts do.

mod common;

use common::{customer, eventually, mall, sign_up, staff, token_for, ws_url, SignedUp};
use futures::{SinkExt, StreamExt};
use mall_auth::http::BFF_AUDIENCE;
use mall_services::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const C1: &str = "c1@12st.example";
const C2: &str = "c2@12st.example";

/// Who sends a request.
#[derive(Clone)]
enum Who {
    Anonymous,
    /// A browser with this session cookie (`mall_session=…`).
    Cookie(String),
    Bearer(String),
}

struct Shop {
    bff: String,
    order: String,
    delivery: String,
    product: String,
    mypage: String,
    http: reqwest::Client,
}

impl Shop {
    fn with(&self, rb: reqwest::RequestBuilder, who: &Who) -> reqwest::RequestBuilder {
        match who {
            Who::Anonymous => rb,
            Who::Cookie(c) => rb.header("cookie", c),
            Who::Bearer(t) => rb.bearer_auth(t),
        }
    }

    async fn gql(&self, who: &Who, query: &str, variables: Value) -> Value {
        self.with(self.http.post(format!("{}/graphql", self.bff)), who)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("graphql")
            .json()
            .await
            .expect("json")
    }

    async fn signup(&self, email: &str) -> Who {
        let SignedUp { set_cookie, cookie } = sign_up(&self.bff, email, "Customer").await;
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
            "{set_cookie}"
        );
        Who::Cookie(cookie)
    }

    /// A REST call straight at a service; the status and the body.
    async fn rest(
        &self,
        method: &str,
        url: String,
        who: &Who,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.with(self.http.request(method, url), who);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("rest");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

fn code(r: &Value) -> String {
    r["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn ids(list: &Value) -> Vec<i64> {
    let mut v: Vec<i64> = list
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|o| o["id"].as_i64().or(o["orderId"].as_i64()).expect("id"))
        .collect();
    v.sort();
    v
}

const PLACE: &str = "mutation($c: String) { placeOrder(input: {productId: 1, quantity: 1, \
    customerId: $c, customerName: \"N\", customerAddr: \"Seoul\"}) { id customerId } }";

#[tokio::test]
async fn every_caller_gets_exactly_what_the_rules_give() {
    let (mall, _dir) = mall().await;
    let urls = mall.services.as_ref().expect("services").urls.clone();
    let shop = Shop {
        bff: mall.bff_url.clone().expect("bff"),
        order: urls[Role::Order].to_owned(),
        delivery: urls[Role::Delivery].to_owned(),
        product: urls[Role::Product].to_owned(),
        mypage: urls[Role::Mypage].to_owned(),
        http: reqwest::Client::new(),
    };
    let anon = Who::Anonymous;
    let c1 = shop.signup(C1).await;
    let c2 = shop.signup(C2).await;
    let staff = Who::Bearer(token_for(&shop.bff, &staff(), BFF_AUDIENCE));

    // Each customer orders for themselves (customerId from the session).
    let r = shop.gql(&c1, PLACE, json!({})).await;
    assert_eq!(r["data"]["placeOrder"]["customerId"], C1, "{r}");
    let a = r["data"]["placeOrder"]["id"].as_i64().expect("order A");
    let r = shop.gql(&c2, PLACE, json!({"c": C2})).await;
    let b = r["data"]["placeOrder"]["id"].as_i64().expect("order B");

    // -- queries --
    let products = "{ products { totalElements } }";
    for who in [&anon, &c1, &c2, &staff] {
        let r = shop.gql(who, products, json!({})).await;
        assert!(r["errors"].is_null(), "the catalogue is open to all: {r}");
    }
    let orders = "query($c: String) { orders(customerId: $c) { id } }";
    assert_eq!(
        code(&shop.gql(&anon, orders, json!({})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        ids(&shop.gql(&c1, orders, json!({})).await["data"]["orders"]),
        vec![a]
    );
    assert_eq!(
        ids(&shop.gql(&c2, orders, json!({})).await["data"]["orders"]),
        vec![b]
    );
    assert_eq!(
        ids(&shop.gql(&staff, orders, json!({})).await["data"]["orders"]),
        vec![a, b]
    );
    assert_eq!(
        code(&shop.gql(&c1, orders, json!({"c": C2})).await),
        "FORBIDDEN"
    );
    assert_eq!(
        ids(&shop.gql(&staff, orders, json!({"c": C2})).await["data"]["orders"]),
        vec![b]
    );

    let order = "query($id: Int!) { order(orderId: $id) { id customerName } }";
    assert_eq!(
        code(&shop.gql(&anon, order, json!({"id": b})).await),
        "UNAUTHENTICATED"
    );
    let theirs = shop.gql(&c1, order, json!({"id": b})).await;
    let unknown = shop.gql(&c1, order, json!({"id": 999_999})).await;
    assert_eq!(code(&theirs), "NOT_FOUND", "{theirs}");
    assert_eq!(
        theirs["errors"][0]["message"]
            .as_str()
            .map(|m| m.replace(&b.to_string(), "N")),
        unknown["errors"][0]["message"]
            .as_str()
            .map(|m| m.replace("999999", "N")),
        "another customer's order reads exactly as an unknown one"
    );
    assert_eq!(
        shop.gql(&c2, order, json!({"id": b})).await["data"]["order"]["id"],
        b
    );
    assert_eq!(
        shop.gql(&staff, order, json!({"id": b})).await["data"]["order"]["id"],
        b
    );

    let deliveries = "query($c: String) { deliveries(customerId: $c) { orderId } }";
    eventually("c1's delivery started", || async {
        shop.gql(&c1, deliveries, json!({})).await["data"]["deliveries"]
            .as_array()
            .is_some_and(|d| d.len() == 1)
    })
    .await;
    assert_eq!(
        code(&shop.gql(&anon, deliveries, json!({"c": C1})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        code(&shop.gql(&c1, deliveries, json!({"c": C2})).await),
        "FORBIDDEN"
    );
    assert_eq!(
        ids(&shop.gql(&staff, deliveries, json!({"c": C1})).await["data"]["deliveries"]),
        vec![a]
    );

    let my_page = "query($c: String) { myPage(customerId: $c) { orderId } }";
    assert_eq!(
        code(&shop.gql(&anon, my_page, json!({"c": C1})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        code(&shop.gql(&c1, my_page, json!({"c": C2})).await),
        "FORBIDDEN"
    );
    eventually("c1's my-page has A", || async {
        shop.gql(&c1, my_page, json!({})).await["data"]["myPage"]
            .as_array()
            .is_some_and(|rows| rows.len() == 1)
    })
    .await;
    assert!(shop.gql(&staff, my_page, json!({"c": C2})).await["errors"].is_null());

    // -- mutations --
    assert_eq!(
        code(&shop.gql(&anon, PLACE, json!({"c": C1})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        code(&shop.gql(&c1, PLACE, json!({"c": C2})).await),
        "FORBIDDEN"
    );
    assert_eq!(
        code(&shop.gql(&staff, PLACE, json!({"c": C1})).await),
        "FORBIDDEN"
    );
    let cancel = "mutation($id: Int!) { cancelOrder(orderId: $id) { id status } }";
    assert_eq!(
        code(&shop.gql(&anon, cancel, json!({"id": b})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        code(&shop.gql(&c1, cancel, json!({"id": b})).await),
        "NOT_FOUND"
    );
    let status = "query($id: Int!) { order(orderId: $id) { status } }";
    assert_eq!(
        shop.gql(&staff, status, json!({"id": b})).await["data"]["order"]["status"],
        "ORDERED",
        "a refused cancel changes nothing"
    );
    let d = shop
        .gql(
            &staff,
            "query($c: String) { deliveries(customerId: $c) { id } }",
            json!({"c": C1}),
        )
        .await;
    let delivery_a = d["data"]["deliveries"][0]["id"]
        .as_i64()
        .expect("delivery of A");
    let complete = "mutation($id: Int!) { completeDelivery(deliveryId: $id) { status } }";
    assert_eq!(
        code(&shop.gql(&anon, complete, json!({"id": delivery_a})).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        code(&shop.gql(&c1, complete, json!({"id": delivery_a})).await),
        "FORBIDDEN"
    );
    let done = shop.gql(&staff, complete, json!({"id": delivery_a})).await;
    assert_eq!(
        done["data"]["completeDelivery"]["status"], "DELIVERY_COMPLETED",
        "{done}"
    );
    let mine = shop.gql(&c2, cancel, json!({"id": b})).await;
    assert_eq!(mine["data"]["cancelOrder"]["status"], "CANCELLED", "{mine}");

    // Nothing the refused calls asked for happened: still two orders, A not cancelled.
    let all = shop
        .gql(&staff, "{ orders { id status } }", json!({}))
        .await;
    assert_eq!(ids(&all["data"]["orders"]), vec![a, b], "{all}");
    let order_a = all["data"]["orders"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["id"] == a))
        .expect("order A");
    assert_eq!(order_a["status"], "ORDERED", "{all}");

    // -- cross-site writes: a cookie-signed POST that a form can send changes nothing --
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let Who::Cookie(cookie) = &c1 else {
            unreachable!()
        };
        let r = shop
            .http
            .post(format!("{}/graphql", shop.bff))
            .header("cookie", cookie)
            .header("content-type", content_type)
            .body(json!({"query": "mutation { placeOrder(input: {productId: 1, quantity: 1, customerName: \"N\", customerAddr: \"S\"}) { id } }"}).to_string())
            .send()
            .await
            .expect("post");
        assert!(
            matches!(r.status().as_u16(), 403 | 415),
            "{content_type}: {}",
            r.status()
        );
    }
    assert_eq!(
        ids(&shop.gql(&c1, orders, json!({})).await["data"]["orders"]),
        vec![a]
    );

    // -- the services reached directly --
    let c1_at = |aud: &str| Who::Bearer(token_for(&shop.bff, &customer(C1), aud));
    let staff_at = |aud: &str| Who::Bearer(token_for(&shop.bff, &common::staff(), aud));
    let (s, _) = shop
        .rest("GET", format!("{}/orders", shop.order), &anon, None)
        .await;
    assert_eq!(s, 401, "anonymous lists no orders");
    let (s, body) = shop
        .rest(
            "GET",
            format!("{}/orders", shop.order),
            &c1_at("order"),
            None,
        )
        .await;
    assert_eq!(
        (s, body["page"]["totalElements"].as_i64()),
        (200, Some(1)),
        "{body}"
    );
    let (s, body) = shop
        .rest(
            "GET",
            format!("{}/orders", shop.order),
            &staff_at("order"),
            None,
        )
        .await;
    assert_eq!(
        (s, body["page"]["totalElements"].as_i64()),
        (200, Some(2)),
        "{body}"
    );
    let (s, _) = shop
        .rest(
            "GET",
            format!("{}/orders/{b}", shop.order),
            &c1_at("order"),
            None,
        )
        .await;
    assert_eq!(s, 404, "another customer's order is unknown");
    let (s, _) = shop
        .rest(
            "GET",
            format!(
                "{}/orders/search/findByCustomerId?customerId={C2}",
                shop.order
            ),
            &c1_at("order"),
            None,
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = shop
        .rest(
            "POST",
            format!("{}/orders", shop.order),
            &c1_at("order"),
            Some(json!({"productId": 1, "quantity": 1, "customerId": C2,
                          "customerName": "N", "customerAddr": "S"})),
        )
        .await;
    assert_eq!(s, 403, "no order in another's name");
    let (s, _) = shop
        .rest(
            "DELETE",
            format!("{}/orders/{a}", shop.order),
            &Who::Bearer(token_for(&shop.bff, &customer(C2), "order")),
            None,
        )
        .await;
    assert_eq!(s, 404, "nor a cancel of another's");
    let (s, _) = shop
        .rest(
            "GET",
            format!("{}/orders", shop.order),
            &c1_at(BFF_AUDIENCE),
            None,
        )
        .await;
    assert_eq!(s, 401, "a token for another audience is refused");
    let Who::Bearer(good) = c1_at("order") else {
        unreachable!()
    };
    let tampered = format!("{}x", &good[..good.len() - 1]);
    let (s, _) = shop
        .rest(
            "GET",
            format!("{}/orders", shop.order),
            &Who::Bearer(tampered),
            None,
        )
        .await;
    assert_eq!(s, 401, "a tampered token is refused");
    let (s, _) = shop
        .rest("GET", format!("{}/products", shop.product), &anon, None)
        .await;
    assert_eq!(s, 200, "the catalogue is open");
    let new_product = json!({"name": "X", "price": 1, "stock": 1});
    let (s, _) = shop
        .rest(
            "POST",
            format!("{}/products", shop.product),
            &anon,
            Some(new_product.clone()),
        )
        .await;
    assert_eq!(s, 401);
    let (s, _) = shop
        .rest(
            "POST",
            format!("{}/products", shop.product),
            &c1_at("product"),
            Some(new_product),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = shop
        .rest("GET", format!("{}/deliveries", shop.delivery), &anon, None)
        .await;
    assert_eq!(s, 401);
    let (s, _) = shop
        .rest(
            "PATCH",
            format!("{}/deliveries/{delivery_a}", shop.delivery),
            &c1_at("delivery"),
            Some(json!({"status": "DeliveryCompleted"})),
        )
        .await;
    assert_eq!(s, 403, "customers complete no delivery");
    let (s, _) = shop
        .rest(
            "GET",
            format!(
                "{}/myPages/search/findByCustomerId?customerId={C2}",
                shop.mypage
            ),
            &c1_at("mypage"),
            None,
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = shop
        .rest(
            "GET",
            format!(
                "{}/myPages/search/findByCustomerId?customerId={C1}",
                shop.mypage
            ),
            &c1_at("mypage"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    mall.stop().await;
}

/// Opens a subscription socket with these headers; the refusal status if it is refused.
async fn socket(
    url: &str,
    headers: &[(&'static str, &str)],
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    u16,
> {
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("h"),
    );
    for (k, v) in headers {
        request.headers_mut().insert(*k, v.parse().expect("header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("handshake: {e}"),
    }
}

async fn next_json<S>(ws: &mut S) -> Result<Value, (u16, String)>
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let m = tokio::time::timeout(common::DEADLINE, ws.next())
            .await
            .expect("a message in time");
        match m {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).expect("json");
                if v["type"] == "ping" {
                    continue;
                }
                return Ok(v);
            }
            Some(Ok(Message::Close(Some(f)))) => return Err((f.code.into(), f.reason.to_string())),
            Some(Ok(_)) => continue,
            other => return Err((0, format!("{other:?}"))),
        }
    }
}

#[tokio::test]
async fn subscriptions_need_a_caller_stay_theirs_and_end_with_the_session() {
    let (mall, _dir) = mall().await;
    let bff = mall.bff_url.clone().expect("bff");
    let http = reqwest::Client::new();
    let cookie = sign_up(&bff, C1, "One").await.cookie;
    let ws = ws_url(&bff, "/graphql/ws");
    let origin = bff.clone();

    // Another site's page may not open a socket on the shop's cookie.
    let refused = socket(
        &ws,
        &[("cookie", &cookie), ("origin", "http://evil.example")],
    )
    .await;
    assert_eq!(refused.err(), Some(403));

    // No cookie and no token: connection_init is refused with 4403.
    let mut anon = socket(&ws, &[("origin", &origin)]).await.expect("upgrade");
    anon.send(Message::Text(
        json!({"type": "connection_init"}).to_string().into(),
    ))
    .await
    .expect("send");
    assert_eq!(next_json(&mut anon).await.err().map(|e| e.0), Some(4403));

    // The signed-in customer follows their own my-page, not another's.
    let mut own = socket(&ws, &[("cookie", &cookie), ("origin", &origin)])
        .await
        .expect("upgrade");
    own.send(Message::Text(
        json!({"type": "connection_init"}).to_string().into(),
    ))
    .await
    .expect("send");
    assert_eq!(
        next_json(&mut own).await.expect("ack")["type"],
        "connection_ack"
    );
    let sub = "subscription($c: String) { myPage(customerId: $c) { kind } }";
    own.send(Message::Text(
        json!({"id": "x", "type": "subscribe", "payload": {"query": sub, "variables": {"c": C2}}})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    let theirs = next_json(&mut own).await.expect("an answer");
    let text = theirs.to_string();
    assert!(text.contains("FORBIDDEN"), "{text}");
    own.send(Message::Text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": sub}})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    loop {
        let m = next_json(&mut own).await.expect("snapshot");
        if m["id"] == "1" {
            assert_eq!(m["payload"]["data"]["myPage"]["kind"], "SNAPSHOT", "{m}");
            break;
        }
    }

    // Signing out closes the socket (4403), and the cookie opens nothing any more.
    let out = http
        .post(format!("{bff}/auth/logout"))
        .header("cookie", &cookie)
        .header("content-type", "application/json")
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let closed = loop {
        match next_json(&mut own).await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert_eq!(closed.0, 4403, "{closed:?}");
    let me = http
        .get(format!("{bff}/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    mall.stop().await;
}
