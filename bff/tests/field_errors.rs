//! Field errors as the GraphQL specification handles them: a failed nullable field is
//! there as `null` beside its error, and only a failed non-null field propagates to its
//! parent (for a root field: `data` is null). Every root field and every cross-upstream
//! field, against real HTTP upstreams.

mod common;

use common::shop::{Shop, ShopOptions};
use common::upstream::{FakeUpstream, Mode};
use common::{codes, errors, TestBff};
use mall_bff::BffConfig;
use serde_json::{json, Value};

/// The fake shop with no stale copies (so failures show) and no retries to wait for.
async fn shop_and_bff() -> (Shop, TestBff) {
    let shop = Shop::start(ShopOptions::default()).await;
    let bff = TestBff::start(without_stale(shop.config())).await;
    (shop, bff)
}

fn without_stale(mut config: BffConfig) -> BffConfig {
    config.resilience.all.stale.enabled = false;
    config
}

/// The path of the only error, as JSON.
fn only_error_path(r: &Value) -> Value {
    let errors = errors(r);
    assert_eq!(errors.len(), 1, "{r:#}");
    errors[0]["path"].clone()
}

#[tokio::test]
async fn a_failed_nullable_root_field_is_null_beside_its_error() {
    let (_shop, bff) = shop_and_bff().await;
    for (query, field) in [
        (
            "{ order(orderId: 999) { id } products { totalElements } }",
            "order",
        ),
        (
            "{ product(productId: 999) { id } products { totalElements } }",
            "product",
        ),
    ] {
        let r = bff.query(query).await;
        let data = r["data"].as_object().expect("data stays");
        assert_eq!(data.get(field), Some(&Value::Null), "{query}: {r:#}");
        assert_eq!(r["data"]["products"]["totalElements"], 3, "{r:#}");
        assert_eq!(codes(&r), vec!["NOT_FOUND"], "{r:#}");
        assert_eq!(only_error_path(&r), json!([field]));
    }
    // Alone, too: the answer is `{"product": null}`, not `data: null`.
    let r = bff.query("{ product(productId: 999) { id } }").await;
    assert_eq!(r["data"], json!({"product": null}), "{r:#}");
}

/// Each non-null root field with its upstream down: `data` is null, one error on the field.
#[tokio::test]
async fn a_failed_non_null_root_field_nulls_the_data() {
    let (shop, bff) = shop_and_bff().await;
    let cases: [(&str, &str, &FakeUpstream); 4] = [
        (
            "{ products { totalElements } upstreams { name } }",
            "products",
            &shop.product,
        ),
        (
            "{ orders { id } upstreams { name } }",
            "orders",
            &shop.order,
        ),
        (
            r#"{ deliveries(customerId: "1@uengine.org") { id } upstreams { name } }"#,
            "deliveries",
            &shop.delivery,
        ),
        (
            r#"{ myPage(customerId: "1@uengine.org") { orderId } upstreams { name } }"#,
            "myPage",
            &shop.mypage,
        ),
    ];
    for (query, field, upstream) in cases {
        upstream.set_mode(Mode::Unavailable);
        let r = bff.query(query).await;
        upstream.set_mode(Mode::Up);
        assert!(r["data"].is_null(), "{query}: {r:#}");
        assert_eq!(only_error_path(&r), json!([field]), "{r:#}");
        assert_eq!(codes(&r), vec!["UPSTREAM_UNAVAILABLE"], "{r:#}");
    }
}

#[tokio::test]
async fn a_failed_non_null_mutation_nulls_the_data() {
    let (_shop, bff) = shop_and_bff().await;
    let r = bff
        .query("mutation { cancelOrder(orderId: 999) { id } }")
        .await;
    assert!(r["data"].is_null(), "{r:#}");
    assert_eq!(only_error_path(&r), json!(["cancelOrder"]));
}

/// The cross-upstream fields: every order is there, with `null` where its product or
/// delivery could not be read, and one error per null naming its path.
#[tokio::test]
async fn failed_cross_upstream_fields_are_null_in_every_order() {
    let (shop, bff) = shop_and_bff().await;
    for (field, upstream) in [("product", &shop.product), ("delivery", &shop.delivery)] {
        upstream.set_mode(Mode::Unavailable);
        let r = bff
            .query("{ orders { id product { name } delivery { deliveryAddress } } }")
            .await;
        upstream.set_mode(Mode::Up);
        let orders = r["data"]["orders"].as_array().expect("orders stay");
        assert_eq!(orders.len(), 3, "{r:#}");
        for o in orders {
            let o = o.as_object().expect("an order");
            assert_eq!(o.get(field), Some(&Value::Null), "{field}: {r:#}");
        }
        let paths: Vec<Value> = errors(&r).iter().map(|e| e["path"].clone()).collect();
        assert_eq!(
            paths,
            (0..3)
                .map(|i| json!(["orders", i, field]))
                .collect::<Vec<_>>(),
            "{r:#}"
        );
    }
}

/// A non-null field inside a nullable one nulls that one only.
#[tokio::test]
async fn a_non_null_field_failing_inside_a_nullable_object_nulls_that_object() {
    let (_shop, bff) = shop_and_bff().await;
    // `upstreams` cannot fail; `order` is nullable and its `id` non-null: with the order
    // missing the whole `order` is null, and the siblings stay.
    let r = bff
        .query("{ a: order(orderId: 999) { id } b: order(orderId: 1) { id } upstreams { name } }")
        .await;
    assert_eq!(r["data"]["a"], Value::Null, "{r:#}");
    assert_eq!(r["data"]["b"]["id"], 1, "{r:#}");
    assert!(r["data"]["upstreams"].is_array(), "{r:#}");
    assert_eq!(only_error_path(&r), json!(["a"]));
}
