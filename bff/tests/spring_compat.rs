//! The BFF against Spring Data REST as the course's Spring Boot examples answer: recorded
//! documents (fixtures/spring/*.json) with `_embedded`, templated `_links`
//! (`{?page,size,sort}`, `{?projection}`), `page` blocks and `profile` links, no ids in
//! the bodies (only in `self` links), `state` for the order status, no cross-service links
//! and no `findByIdIn`: the BFF must fall back to `<collection>/<id>` and the
//! `findByOrderId` search, fetched concurrently and de-duplicated.
//!
//! The course's own services are shaped further (fixtures/spring/course-*.json): an order's
//! `delivery` is an association link (`/orders/1/delivery`) that answers the delivery
//! resource itself (with `deliveryState`), or a collection page, or 404 when there is none;
//! repositories without query methods list no `search` link (and answer `…/search` with
//! 404). The BFF follows each link to whatever it answers.
//!
//! The recordings name the course's ports on localhost; the fixture server rewrites them
//! to the test upstreams' addresses as it answers.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::upstream::{FakeUpstream, Responder};
use common::{assert_no_errors, config_for, TestBff};
use http::StatusCode;
use mall_bff::upstream::Upstream;
use serde_json::json;

/// (path, query it must contain, fixture) per service; the first match answers.
const ORDER: &[(&str, &str, &str)] = &[
    ("/", "", "order-root"),
    ("/orders", "", "orders"),
    ("/orders/1", "", "order-1"),
    ("/orders/search", "", "orders-search"),
    (
        "/orders/search/findByCustomerId",
        "customerId=2%40uengine.org",
        "orders-by-customer-2",
    ),
];
const PRODUCT: &[(&str, &str, &str)] = &[
    ("/", "", "product-root"),
    ("/products", "", "products"),
    ("/products/1", "", "product-1"),
    ("/products/2", "", "product-2"),
];
const DELIVERY: &[(&str, &str, &str)] = &[
    ("/", "", "delivery-root"),
    ("/deliveries", "", "deliveries"),
    ("/deliveries/search", "", "deliveries-search"),
    (
        "/deliveries/search/findByOrderId",
        "orderId=1",
        "deliveries-by-order-1",
    ),
    (
        "/deliveries/search/findByOrderId",
        "orderId=2",
        "deliveries-by-order-2",
    ),
    (
        "/deliveries/search/findByOrderId",
        "orderId=3",
        "deliveries-by-order-3",
    ),
];
const MYPAGE: &[(&str, &str, &str)] = &[
    ("/", "", "mypage-root"),
    ("/myPages", "", "mypages"),
    ("/myPages/search", "", "mypages-search"),
    (
        "/myPages/search/findByCustomerId",
        "customerId=1%40uengine.org",
        "mypages-by-customer-1",
    ),
];

/// The course's order service: association links to deliveries, no searches.
const COURSE_ORDER: &[(&str, &str, &str)] = &[
    ("/", "", "order-root"),
    ("/orders", "", "course-orders"),
    ("/orders/1", "", "order-1"),
    ("/orders/1/delivery", "", "course-order-1-delivery"),
    ("/orders/2/delivery", "", "course-order-2-delivery"),
    // `/orders/3/delivery`: 404, the order has no delivery.
];
/// The course's delivery service: a repository without query methods.
const COURSE_DELIVERY: &[(&str, &str, &str)] = &[
    ("/", "", "delivery-root"),
    ("/deliveries", "", "course-deliveries"),
];
/// A delivery service whose collection lists a `search` link that answers 404.
const DELIVERY_SEARCH_GONE: &[(&str, &str, &str)] = &[
    ("/", "", "delivery-root"),
    ("/deliveries", "", "deliveries"),
];
/// A product service that lost product 2.
const PRODUCT_WITHOUT_2: &[(&str, &str, &str)] = &[
    ("/", "", "product-root"),
    ("/products", "", "products"),
    ("/products/1", "", "product-1"),
];

struct Spring {
    order: FakeUpstream,
    product: FakeUpstream,
    delivery: FakeUpstream,
    mypage: FakeUpstream,
}

fn fixture(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", "spring"]
        .iter()
        .collect::<PathBuf>()
        .join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn responder(table: &'static [(&str, &str, &str)], ports: Arc<[(String, String); 4]>) -> Responder {
    Arc::new(move |method: &str, path_and_query: &str| {
        if method != "GET" {
            return None;
        }
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let (_, _, name) = table
            .iter()
            .find(|(p, q, _)| *p == path && query.contains(q))?;
        let mut body = fixture(name);
        for (recorded, actual) in ports.iter() {
            body = body.replace(recorded.as_str(), actual);
        }
        Some((StatusCode::OK, body))
    })
}

impl Spring {
    async fn start() -> Spring {
        Spring::start_with(ORDER, DELIVERY, PRODUCT, MYPAGE).await
    }

    async fn start_with(
        order: &'static [(&'static str, &'static str, &'static str)],
        delivery: &'static [(&'static str, &'static str, &'static str)],
        product: &'static [(&'static str, &'static str, &'static str)],
        mypage: &'static [(&'static str, &'static str, &'static str)],
    ) -> Spring {
        let (ol, order_url) = FakeUpstream::bind().await;
        let (dl, delivery_url) = FakeUpstream::bind().await;
        let (pl, product_url) = FakeUpstream::bind().await;
        let (ml, mypage_url) = FakeUpstream::bind().await;
        let ports = Arc::new([
            ("http://localhost:8081".to_owned(), order_url),
            ("http://localhost:8082".to_owned(), delivery_url),
            ("http://localhost:8083".to_owned(), product_url),
            ("http://localhost:8084".to_owned(), mypage_url),
        ]);
        Spring {
            order: FakeUpstream::serve(ol, responder(order, ports.clone())),
            delivery: FakeUpstream::serve(dl, responder(delivery, ports.clone())),
            product: FakeUpstream::serve(pl, responder(product, ports.clone())),
            mypage: FakeUpstream::serve(ml, responder(mypage, ports)),
        }
    }

    async fn bff(&self) -> TestBff {
        TestBff::start(config_for([
            (Upstream::Order, self.order.url.clone()),
            (Upstream::Delivery, self.delivery.url.clone()),
            (Upstream::Product, self.product.url.clone()),
            (Upstream::Mypage, self.mypage.url.clone()),
        ]))
        .await
    }
}

#[tokio::test]
async fn get_orders_reads_a_spring_collection() {
    let spring = Spring::start().await;
    let bff = spring.bff().await;
    let r = bff
        .query("query getOrders { orders { id productId productName quantity price status } }")
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["orders"],
        json!([
            {"id": 1, "productId": 1, "productName": "TV", "quantity": 2, "price": 10000, "status": "ORDERED"},
            {"id": 2, "productId": 2, "productName": "MASK", "quantity": 1, "price": 20000, "status": "ORDERED"},
            {"id": 3, "productId": 1, "productName": "TV", "quantity": 5, "price": 10000, "status": "CANCELLED"},
        ])
    );
}

#[tokio::test]
async fn get_order_by_id_reads_the_item_under_its_collection() {
    let spring = Spring::start().await;
    let bff = spring.bff().await;
    let r = bff
        .query("query getOrderById { order(orderId: 1) { productId productName quantity price } }")
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["order"],
        json!({"productId": 1, "productName": "TV", "quantity": 2, "price": 10000})
    );
    assert_eq!(spring.order.hits_to("/orders/1").len(), 1);
}

#[tokio::test]
async fn composite_falls_back_to_single_fetches_once_per_product() {
    let spring = Spring::start().await;
    let bff = spring.bff().await;
    let r = bff
        .query("query Composite { orders { quantity customerId state product { price name } delivery { deliveryAddress } } }")
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["orders"],
        json!([
            {"quantity": 2, "customerId": "1@uengine.org", "state": "Ordered",
             "product": {"price": 10000, "name": "TV"}, "delivery": {"deliveryAddress": "Seoul 1"}},
            {"quantity": 1, "customerId": "2@uengine.org", "state": "Ordered",
             "product": {"price": 20000, "name": "MASK"}, "delivery": {"deliveryAddress": "Seoul 2"}},
            {"quantity": 5, "customerId": "1@uengine.org", "state": "Cancelled",
             "product": {"price": 10000, "name": "TV"}, "delivery": null},
        ])
    );
    assert_eq!(
        spring.product.hits_to("/products/1").len(),
        1,
        "product 1 of two orders is fetched once"
    );
    assert_eq!(spring.product.hits_to("/products/2").len(), 1);
    assert_eq!(
        spring.delivery.hits_to("findByOrderId").len(),
        3,
        "one search per order"
    );
}

#[tokio::test]
async fn products_page_takes_ids_from_self_links() {
    let spring = Spring::start().await;
    let bff = spring.bff().await;
    let r = bff
        .query("{ products(page: 0, size: 20) { items { id name price stock } page size totalElements totalPages } }")
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["products"],
        json!({"items": [{"id": 1, "name": "TV", "price": 10000, "stock": 8},
                         {"id": 2, "name": "MASK", "price": 20000, "stock": 9}],
               "page": 0, "size": 20, "totalElements": 2, "totalPages": 1})
    );
}

#[tokio::test]
async fn a_customers_orders_come_from_the_advertised_search() {
    let spring = Spring::start().await;
    let bff = spring.bff().await;
    let r = bff
        .query(r#"{ orders(customerId: "2@uengine.org") { id productName } }"#)
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["orders"],
        json!([{"id": 2, "productName": "MASK"}])
    );
    assert_eq!(spring.order.hits_to("findByCustomerId").len(), 1);
}

#[tokio::test]
async fn my_page_reads_the_projection_search() {
    let spring = Spring::start().await;
    let bff = spring.bff().await;
    let r = bff
        .query(r#"{ myPage(customerId: "1@uengine.org") { orderId productName orderStatus deliveryId deliveryStatus } }"#)
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["myPage"],
        json!([
            {"orderId": 1, "productName": "TV", "orderStatus": "ORDERED", "deliveryId": 1,
             "deliveryStatus": "DELIVERY_STARTED"},
            {"orderId": 3, "productName": "TV", "orderStatus": "CANCELLED", "deliveryId": null,
             "deliveryStatus": null},
        ])
    );
}

const COURSE_COMPOSITE: &str = "query Composite { orders { quantity customerId state product { price name } delivery { deliveryAddress status } } }";

#[tokio::test]
async fn composite_follows_each_delivery_link_to_what_it_answers() {
    let spring = Spring::start_with(COURSE_ORDER, COURSE_DELIVERY, PRODUCT, MYPAGE).await;
    let bff = spring.bff().await;
    let r = bff.query(COURSE_COMPOSITE).await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["orders"],
        json!([
            {"quantity": 2, "customerId": "1@uengine.org", "state": "Ordered",
             "product": {"price": 10000, "name": "TV"},
             "delivery": {"deliveryAddress": "Seoul 1", "status": "DELIVERY_STARTED"}},
            {"quantity": 1, "customerId": "2@uengine.org", "state": "Ordered",
             "product": {"price": 20000, "name": "MASK"},
             "delivery": {"deliveryAddress": "Seoul 2", "status": "DELIVERY_COMPLETED"}},
            {"quantity": 5, "customerId": "1@uengine.org", "state": "Cancelled",
             "product": {"price": 10000, "name": "TV"}, "delivery": null},
        ]),
        "a resource, a page, and a 404 (no delivery yet, no error)"
    );
    for order in 1..=3 {
        assert_eq!(
            spring
                .order
                .hits_to(&format!("/orders/{order}/delivery"))
                .len(),
            1,
            "order {order}'s delivery link is followed once"
        );
    }
    assert!(
        spring.delivery.hits_to("/search").is_empty(),
        "no search is asked of a service that lists none"
    );
}

#[tokio::test]
async fn a_customers_orders_are_filtered_when_the_service_lists_no_search() {
    let spring = Spring::start_with(COURSE_ORDER, COURSE_DELIVERY, PRODUCT, MYPAGE).await;
    let bff = spring.bff().await;
    let r = bff
        .query(r#"{ orders(customerId: "1@uengine.org") { id delivery { deliveryAddress } } }"#)
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["orders"],
        json!([{"id": 1, "delivery": {"deliveryAddress": "Seoul 1"}},
               {"id": 3, "delivery": null}])
    );
    assert!(spring.order.hits_to("/search").is_empty());
}

#[tokio::test]
async fn a_search_listing_that_answers_404_means_no_searches() {
    let spring = Spring::start_with(COURSE_ORDER, DELIVERY_SEARCH_GONE, PRODUCT, MYPAGE).await;
    let bff = spring.bff().await;
    let r = bff
        .query("{ orders { id delivery { deliveryAddress } } }")
        .await;
    assert_no_errors(&r);
    assert_eq!(
        r["data"]["orders"],
        json!([{"id": 1, "delivery": {"deliveryAddress": "Seoul 1"}},
               {"id": 2, "delivery": {"deliveryAddress": "Seoul 2"}},
               {"id": 3, "delivery": null}])
    );
}

#[tokio::test]
async fn a_missing_product_is_null_with_a_not_found_error() {
    let spring = Spring::start_with(COURSE_ORDER, COURSE_DELIVERY, PRODUCT_WITHOUT_2, MYPAGE).await;
    let bff = spring.bff().await;
    let r = bff.query("{ orders { id product { name } } }").await;
    assert_eq!(
        r["data"]["orders"],
        json!([{"id": 1, "product": {"name": "TV"}},
               {"id": 2, "product": null},
               {"id": 3, "product": {"name": "TV"}}])
    );
    let errors = common::errors(&r);
    assert_eq!(errors.len(), 1, "{r:#}");
    assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(errors[0]["extensions"]["upstream"], "product");
    assert_eq!(errors[0]["path"], json!(["orders", 1, "product"]));
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("product 2"),
        "{r:#}"
    );
}
