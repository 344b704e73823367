//! A fake shop: four [`FakeUpstream`]s serving the HAL contract of schema/rest.md from fixed
//! data (orders, products, deliveries, my-page rows), so tests can count and time the
//! BFF's upstream requests and break one upstream at will.

use std::collections::HashMap;
use std::sync::Arc;

use http::StatusCode;
use mall_bff::upstream::Upstream;
use mall_bff::BffConfig;
use serde_json::{json, Value};

use super::upstream::{FakeUpstream, Responder};

/// What the shop holds and advertises.
#[derive(Debug, Clone)]
pub struct ShopOptions {
    pub orders: i64,
    pub products: i64,
    /// Whether the batch searches (`findByIdIn`, `findByOrderIdIn`) are advertised.
    pub batch: bool,
}

impl Default for ShopOptions {
    fn default() -> Self {
        ShopOptions {
            orders: 3,
            products: 3,
            batch: true,
        }
    }
}

pub struct Shop {
    pub product: FakeUpstream,
    pub order: FakeUpstream,
    pub delivery: FakeUpstream,
    pub mypage: FakeUpstream,
}

/// The customer of order `id`.
pub fn customer_of(order: i64) -> String {
    format!("{}@uengine.org", order % 2 + 1)
}

/// One query asking `n` aliases of `orders`, each for another (unknown) customer: a call
/// each, so the count shows what the BFF's limits let through.
pub fn orders_aliases(n: usize) -> String {
    let aliases: String = (0..n)
        .map(|i| {
            format!(
                "o{i}: orders(customerId: \"{}-{i}\") {{ id }} ",
                customer_of(1)
            )
        })
        .collect();
    format!("{{ {aliases} }}")
}

/// The address deliveries of order `id` go to.
pub fn address_of(order: i64) -> String {
    format!("Seoul {order}")
}

impl Shop {
    pub async fn start(options: ShopOptions) -> Shop {
        let (pl, product_url) = FakeUpstream::bind().await;
        let (ol, order_url) = FakeUpstream::bind().await;
        let (dl, delivery_url) = FakeUpstream::bind().await;
        let (ml, mypage_url) = FakeUpstream::bind().await;
        let product_of = |o: i64| (o - 1) % options.products + 1;
        let products: Vec<Value> = (1..=options.products)
            .map(|id| json!({"id": id, "name": format!("P{id}"), "price": id * 1000, "stock": 10}))
            .collect();
        let orders: Vec<Value> = (1..=options.orders)
            .map(|id| {
                let p = product_of(id);
                json!({"id": id, "productId": p, "productName": format!("P{p}"), "quantity": id,
                       "price": p * 1000, "customerId": customer_of(id), "customerName": "Jay",
                       "customerAddr": address_of(id), "status": "Ordered",
                       "_links": {
                           "product": {"href": format!("{product_url}/products/{p}")},
                           "delivery": {"href": format!("{delivery_url}/deliveries/search/findByOrderId?orderId={id}")}}})
            })
            .collect();
        let deliveries: Vec<Value> = (1..=options.orders)
            .map(|o| {
                let p = product_of(o);
                json!({"id": o + 100, "orderId": o, "productId": p, "productName": format!("P{p}"),
                       "quantity": o, "customerId": customer_of(o), "customerName": "Jay",
                       "deliveryAddress": address_of(o), "status": "DeliveryStarted"})
            })
            .collect();
        let my_pages: Vec<Value> = (1..=options.orders)
            .map(|o| {
                let p = product_of(o);
                json!({"id": o, "orderId": o, "customerId": customer_of(o), "productId": p,
                       "productName": format!("P{p}"), "quantity": o, "price": p * 1000,
                       "orderStatus": "Ordered", "deliveryId": o + 100,
                       "deliveryStatus": "DeliveryStarted"})
            })
            .collect();
        let batch = options.batch;
        let search = |name: &'static str, param: &'static str, field: &'static str, list| Search {
            name,
            param,
            field,
            list,
        };
        let mut product_searches = vec![];
        let mut order_searches = vec![search(
            "findByCustomerId",
            "customerId",
            "customerId",
            false,
        )];
        let mut delivery_searches = vec![
            search("findByOrderId", "orderId", "orderId", false),
            search("findByCustomerId", "customerId", "customerId", false),
        ];
        if batch {
            product_searches.push(search("findByIdIn", "ids", "id", true));
            order_searches.push(search("findByIdIn", "ids", "id", true));
            delivery_searches.push(search("findByOrderIdIn", "orderIds", "orderId", true));
        }
        let collection = |rel, item, items, searches| Collection {
            rel,
            item,
            items,
            searches,
        };
        Shop {
            product: FakeUpstream::serve(
                pl,
                hal_service(
                    product_url.clone(),
                    collection("products", "product", products, product_searches),
                ),
            ),
            order: FakeUpstream::serve(
                ol,
                hal_service(
                    order_url.clone(),
                    collection("orders", "order", orders, order_searches),
                ),
            ),
            delivery: FakeUpstream::serve(
                dl,
                hal_service(
                    delivery_url.clone(),
                    collection("deliveries", "delivery", deliveries, delivery_searches),
                ),
            ),
            mypage: FakeUpstream::serve(
                ml,
                hal_service(
                    mypage_url.clone(),
                    collection(
                        "myPages",
                        "myPage",
                        my_pages,
                        vec![search(
                            "findByCustomerId",
                            "customerId",
                            "customerId",
                            false,
                        )],
                    ),
                ),
            ),
        }
    }

    /// A BFF configuration pointing at this shop.
    pub fn config(&self) -> BffConfig {
        super::config_for([
            (Upstream::Product, self.product.url.clone()),
            (Upstream::Order, self.order.url.clone()),
            (Upstream::Delivery, self.delivery.url.clone()),
            (Upstream::Mypage, self.mypage.url.clone()),
        ])
    }

    pub fn all(&self) -> [&FakeUpstream; 4] {
        [&self.product, &self.order, &self.delivery, &self.mypage]
    }

    pub fn clear_hits(&self) {
        for u in self.all() {
            u.clear_hits();
        }
    }
}

/// A search of a collection: items whose `field` equals the parameter (or is one of a
/// comma-separated list).
#[derive(Debug, Clone)]
struct Search {
    name: &'static str,
    param: &'static str,
    field: &'static str,
    list: bool,
}

struct Collection {
    rel: &'static str,
    item: &'static str,
    items: Vec<Value>,
    searches: Vec<Search>,
}

fn ok(doc: Value) -> Option<(StatusCode, String)> {
    Some((StatusCode::OK, doc.to_string()))
}

/// The responder of one service with one collection, laid out as Spring Data REST does.
fn hal_service(base: String, c: Collection) -> Responder {
    let c = Arc::new(c);
    Arc::new(move |method, path_and_query| {
        if method != "GET" {
            return None;
        }
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let rel = c.rel;
        let with_links = |item: &Value| {
            let mut item = item.clone();
            let id = item["id"].as_i64().expect("items have ids");
            let href = format!("{base}/{rel}/{id}");
            let links = item
                .as_object_mut()
                .expect("items are objects")
                .entry("_links")
                .or_insert_with(|| json!({}));
            links["self"] = json!({"href": href});
            links[c.item] = json!({"href": href});
            item
        };
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            [""] => ok(json!({"_links": {
                rel: {"href": format!("{base}/{rel}{{?page,size,sort}}"), "templated": true},
                "profile": {"href": format!("{base}/profile")}}})),
            [r] if *r == rel => {
                let size: usize = params
                    .get("size")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(20);
                let page: usize = params.get("page").and_then(|s| s.parse().ok()).unwrap_or(0);
                let total = c.items.len();
                let items: Vec<Value> = c
                    .items
                    .iter()
                    .skip(page * size)
                    .take(size)
                    .map(with_links)
                    .collect();
                let mut links = json!({
                    "self": {"href": format!("{base}/{rel}?page={page}&size={size}")},
                    "profile": {"href": format!("{base}/profile/{rel}")},
                    "search": {"href": format!("{base}/{rel}/search")}});
                if (page + 1) * size < total {
                    links["next"] =
                        json!({"href": format!("{base}/{rel}?page={}&size={size}", page + 1)});
                }
                ok(json!({"_embedded": {rel: items}, "_links": links,
                          "page": {"size": size, "totalElements": total,
                                   "totalPages": total.div_ceil(size), "number": page}}))
            }
            [r, "search"] if *r == rel => {
                let mut links = serde_json::Map::new();
                for s in &c.searches {
                    links.insert(
                        s.name.into(),
                        json!({"href": format!("{base}/{rel}/search/{}{{?{}}}", s.name, s.param),
                               "templated": true}),
                    );
                }
                links.insert(
                    "self".into(),
                    json!({"href": format!("{base}/{rel}/search")}),
                );
                ok(json!({"_links": links}))
            }
            [r, "search", name] if *r == rel => {
                let s = c.searches.iter().find(|s| s.name == *name)?;
                let wanted: Vec<String> = match params.get(s.param) {
                    Some(v) if s.list => v.split(',').map(str::to_owned).collect(),
                    Some(v) => vec![v.clone()],
                    None => vec![],
                };
                let items: Vec<Value> = c
                    .items
                    .iter()
                    .filter(|i| {
                        let v = &i[s.field];
                        let v = v
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string());
                        wanted.contains(&v)
                    })
                    .map(with_links)
                    .collect();
                ok(json!({"_embedded": {rel: items},
                          "_links": {"self": {"href": format!("{base}{path_and_query}")}}}))
            }
            [r, id] if *r == rel => {
                let id: i64 = id.parse().ok()?;
                c.items
                    .iter()
                    .find(|i| i["id"].as_i64() == Some(id))
                    .map(|i| (StatusCode::OK, with_links(i).to_string()))
            }
            _ => None,
        }
    })
}
