//! Our documents have the Spring Data REST shapes the BFF (and any HAL client) relies on.

mod common;

use common::{eventually, start};
use mall_services::Role;
use serde_json::Value;

fn href(v: &Value) -> &str {
    v["href"].as_str().expect("href")
}

#[tokio::test]
async fn documents_follow_spring_data_rest_conventions() {
    let mall = start().await;
    let u = mall.system.urls.clone();

    for (base, rel) in [
        (&u[Role::Order], "orders"),
        (&u[Role::Delivery], "deliveries"),
        (&u[Role::Product], "products"),
        (&u[Role::Mypage], "myPages"),
    ] {
        let r = mall
            .http
            .get(format!("{base}/"))
            .send()
            .await
            .expect("root");
        assert_eq!(r.headers()["content-type"], "application/hal+json");
        let root: Value = r.json().await.expect("json");
        let link = &root["_links"][rel];
        assert_eq!(href(link), format!("{base}/{rel}{{?page,size,sort}}"));
        assert_eq!(link["templated"], true);
        assert!(root["_links"]["profile"]["href"].is_string());
        let (_, search) = mall.get(&format!("{base}/{rel}/search")).await;
        assert!(
            search["_links"]["self"]["href"].is_string(),
            "{rel} search index"
        );
    }

    // A paged collection with next/prev only where they exist.
    let (_, first) = mall
        .get(&format!("{}/products?page=0&size=2", u[Role::Product]))
        .await;
    assert_eq!(
        first["_embedded"]["products"]
            .as_array()
            .expect("items")
            .len(),
        2
    );
    assert_eq!(first["page"]["size"], 2);
    assert_eq!(first["page"]["number"], 0);
    assert_eq!(first["page"]["totalElements"], 6);
    assert_eq!(first["page"]["totalPages"], 3);
    assert!(first["_links"]["prev"].is_null());
    assert_eq!(
        href(&first["_links"]["next"]),
        format!("{}/products?page=1&size=2", u[Role::Product])
    );
    assert_eq!(
        href(&first["_links"]["search"]),
        format!("{}/products/search", u[Role::Product])
    );
    assert!(first["_links"]["profile"]["href"].is_string());
    let (_, last) = mall.get(href(&first["_links"]["last"])).await;
    assert!(last["_links"]["next"].is_null());
    assert!(last["_links"]["prev"].is_object());

    // Items link themselves and, across services, with absolute URLs.
    let order = mall.place(2, 1, "1@uengine.org").await;
    let id = order["id"].as_i64().expect("id");
    assert_eq!(
        href(&order["_links"]["self"]),
        format!("{}/orders/{id}", u[Role::Order])
    );
    assert_eq!(
        href(&order["_links"]["order"]),
        format!("{}/orders/{id}", u[Role::Order])
    );
    assert_eq!(
        href(&order["_links"]["product"]),
        format!("{}/products/2", u[Role::Product])
    );
    let delivery_link = href(&order["_links"]["delivery"]).to_owned();
    assert_eq!(
        delivery_link,
        format!(
            "{}/deliveries/search/findByOrderId?orderId={id}",
            u[Role::Delivery]
        )
    );
    let (_, product) = mall.get(href(&order["_links"]["product"])).await;
    assert_eq!(product["name"], "MASK");
    let found = eventually("delivery link answers the delivery", || async {
        let (_, d) = mall.get(&delivery_link).await;
        d["_embedded"]["deliveries"]
            .as_array()
            .filter(|a| !a.is_empty())
            .cloned()
    })
    .await;
    assert_eq!(
        href(&found[0]["_links"]["order"]),
        format!("{}/orders/{id}", u[Role::Order])
    );

    // Searches are listed as templates and answer collections.
    let (_, searches) = mall.get(&format!("{}/orders/search", u[Role::Order])).await;
    assert_eq!(
        href(&searches["_links"]["findByCustomerId"]),
        format!(
            "{}/orders/search/findByCustomerId{{?customerId,page,size,sort}}",
            u[Role::Order]
        )
    );
    assert_eq!(searches["_links"]["findByIdIn"]["templated"], true);
    let (_, batch) = mall
        .get(&format!(
            "{}/products/search/findByIdIn?ids=1,3&ids=5",
            u[Role::Product]
        ))
        .await;
    let names: Vec<&str> = batch["_embedded"]["products"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["TV", "NOTEBOOK", "CAMERA"]);
    let (_, mine) = mall
        .get(&format!(
            "{}/orders/search/findByCustomerId?customerId=1@uengine.org",
            u[Role::Order]
        ))
        .await;
    assert_eq!(mine["page"]["totalElements"], 1);
    mall.system.stop().await;
}

#[tokio::test]
async fn a_batch_search_takes_a_page_size_so_a_caller_gets_it_in_one_page() {
    let mall = start().await;
    let u = &mall.system.urls;
    let mut orders = Vec::new();
    for _ in 0..25 {
        orders.push(
            mall.place(2, 1, "batch@uengine.org").await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    let ids: Vec<String> = orders.iter().map(i64::to_string).collect();
    let (_, searches) = mall
        .get(&format!("{}/deliveries/search", u[Role::Delivery]))
        .await;
    assert_eq!(
        href(&searches["_links"]["findByOrderIdIn"]),
        format!(
            "{}/deliveries/search/findByOrderIdIn{{?orderIds,page,size,sort}}",
            u[Role::Delivery]
        )
    );
    let url = format!(
        "{}/deliveries/search/findByOrderIdIn?orderIds={}&size={}",
        u[Role::Delivery],
        ids.join(","),
        ids.len()
    );
    let page = eventually("every delivery started", || async {
        let (_, page) = mall.get(&url).await;
        (page["page"]["totalElements"] == 25).then_some(page)
    })
    .await;
    assert_eq!(
        page["_embedded"]["deliveries"].as_array().map(Vec::len),
        Some(25),
        "one page holds the whole batch"
    );
    assert!(page["_links"].get("next").is_none(), "{:#}", page["_links"]);
    mall.system.stop().await;
}
