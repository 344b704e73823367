//! The baseline resolver strategy: the Composite query resolved one upstream call per field,
//! in sequence, following the same links the BFF follows (root, the orders collection page
//! by page, then each order's `product` and `delivery` links one after the other).

use anyhow::{Context as _, Result};
use serde_json::{json, Value};

/// The href of a `_links` entry, its URI template (`{?page,size,sort}`) dropped.
pub fn link(doc: &Value, rel: &str) -> Option<String> {
    let href = doc.pointer(&format!("/_links/{rel}/href"))?.as_str()?;
    Some(href.split('{').next().unwrap_or(href).to_owned())
}

async fn get(client: &reqwest::Client, url: &str) -> Result<Value> {
    client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?
        .error_for_status()?
        .json()
        .await
        .with_context(|| format!("GET {url}: not JSON"))
}

/// The Composite result, as the BFF would shape it, and the number of upstream calls made.
pub async fn composite(client: &reqwest::Client, order_root: &str) -> Result<(Vec<Value>, u32)> {
    let mut calls = 1;
    let root = get(client, order_root).await?;
    let mut page_url = Some(link(&root, "orders").context("the order root links no orders")?);
    let mut out = Vec::new();
    while let Some(url) = page_url {
        let page = get(client, &url).await?;
        calls += 1;
        let empty = Vec::new();
        let orders = page
            .pointer("/_embedded/orders")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        for order in orders {
            let product = match link(order, "product") {
                Some(u) => {
                    calls += 1;
                    let p = get(client, &u).await?;
                    json!({ "price": p["price"], "name": p["name"] })
                }
                None => Value::Null,
            };
            let delivery = match link(order, "delivery") {
                Some(u) => {
                    calls += 1;
                    let d = get(client, &u).await?;
                    d.pointer("/_embedded/deliveries/0/deliveryAddress")
                        .map_or(Value::Null, |a| json!({ "deliveryAddress": a }))
                }
                None => Value::Null,
            };
            out.push(json!({
                "quantity": order["quantity"],
                "customerId": order["customerId"],
                "state": order["status"],
                "product": product,
                "delivery": delivery,
            }));
        }
        page_url = link(&page, "next");
    }
    Ok((out, calls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_drop_their_templates() {
        let doc = json!({"_links": {
            "orders": {"href": "http://127.0.0.1:1/orders{?page,size,sort}", "templated": true},
            "next": {"href": "http://127.0.0.1:1/orders?page=1&size=20"}
        }});
        assert_eq!(
            link(&doc, "orders").as_deref(),
            Some("http://127.0.0.1:1/orders")
        );
        assert_eq!(
            link(&doc, "next").as_deref(),
            Some("http://127.0.0.1:1/orders?page=1&size=20")
        );
        assert_eq!(link(&doc, "prev"), None);
    }
}
