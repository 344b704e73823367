//! Each service publishes an OpenAPI 3.1 document at `/v3/api-docs`, and its real answers
//! (status, content type, body) over real sockets match that document: every documented
//! operation is exercised, successes and problems alike, and every method a documented path
//! does not take answers 405 with an `Allow` naming exactly the documented ones.

mod common;

use mall_services::Role;
use std::collections::BTreeSet;

use common::{eventually, start, Mall};
use serde_json::{json, Value};

/// One service's document and what the test has checked against it.
struct Doc {
    base: String,
    doc: Value,
    seen: BTreeSet<(String, String)>,
}

impl Doc {
    async fn load(mall: &Mall, base: &str) -> Doc {
        let r = mall
            .http
            .get(format!("{base}/v3/api-docs"))
            .send()
            .await
            .expect("api docs");
        assert_eq!(r.status(), 200, "{base}/v3/api-docs");
        assert_eq!(r.headers()["content-type"], "application/json");
        let doc: Value = r.json().await.expect("json");
        assert!(
            doc["openapi"].as_str().expect("openapi").starts_with("3.1"),
            "OpenAPI 3.1"
        );
        assert_eq!(doc["servers"][0]["url"], base, "server is the public URL");
        Doc {
            base: base.to_owned(),
            doc,
            seen: BTreeSet::new(),
        }
    }

    /// The documented operations as (method, path template).
    fn operations(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
        out
    }

    /// The template a concrete path matches (`/orders/7` -> `/orders/{id}`).
    fn template(&self, path: &str) -> String {
        let segments: Vec<&str> = path.split('/').collect();
        self.doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .find(|t| {
                let ts: Vec<&str> = t.split('/').collect();
                ts.len() == segments.len()
                    && ts
                        .iter()
                        .zip(&segments)
                        .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}')))
            })
            .unwrap_or_else(|| panic!("{path} is not in the document of {}", self.base))
            .clone()
    }

    /// Sends a request and checks the answer against the document.
    async fn check(
        &mut self,
        mall: &Mall,
        method: &str,
        path_and_query: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let path = path_and_query.split('?').next().unwrap_or_default();
        let template = self.template(path);
        let op = &self.doc["paths"][&template][method.to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let mut req = mall.http.request(
            method.parse().expect("method"),
            format!("{}{path_and_query}", self.base),
        );
        if let Some(b) = &body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default();
        let location = r.headers().get("location").is_some();
        let text = r.text().await.expect("body");
        let response = &op["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{method} {path_and_query} answered {status}, which its operation does not document: {text}"
        );
        let content = response["content"].as_object().expect("content");
        let (media, media_doc) = content.iter().next().expect("one media type");
        assert_eq!(&content_type, media, "{method} {path_and_query}");
        if response["headers"]["Location"].is_object() {
            assert!(location, "{method} {path_and_query} has a Location");
        }
        let value: Value = serde_json::from_str(&text).expect("JSON body");
        let mut schema = media_doc["schema"].clone();
        schema["components"] = self.doc["components"].clone();
        let validator = jsonschema::draft202012::new(&schema).expect("valid schema");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path_and_query} ({status}) does not match the document: {errors:?}\n{text}"
        );
        self.seen.insert((method.to_owned(), template));
        (status, value)
    }

    fn assert_all_seen(&self) {
        let missing: Vec<_> = self.operations().difference(&self.seen).cloned().collect();
        assert!(
            missing.is_empty(),
            "{}: operations the test did not exercise: {missing:?}",
            self.base
        );
    }

    /// Every method a documented path does not take answers a 405 problem whose `Allow`
    /// lists exactly the documented methods (and HEAD, which GET brings).
    async fn assert_other_methods_refused(&self, mall: &Mall) {
        for (template, item) in self.doc["paths"].as_object().expect("paths") {
            let path = template.replace("{id}", "1");
            let mut documented: BTreeSet<String> = item
                .as_object()
                .expect("item")
                .keys()
                .map(|m| m.to_uppercase())
                .collect();
            if documented.contains("GET") {
                documented.insert("HEAD".into());
            }
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
                if documented.contains(method) {
                    continue;
                }
                let r = mall
                    .http
                    .request(method.parse().expect("m"), format!("{}{path}", self.base))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(r.status(), 405, "{method} {path}");
                let allow: BTreeSet<String> = r.headers()["allow"]
                    .to_str()
                    .expect("ascii")
                    .split(',')
                    .map(|m| m.trim().to_owned())
                    .collect();
                assert_eq!(allow, documented, "Allow of {path}");
                assert_eq!(r.headers()["content-type"], "application/problem+json");
            }
        }
    }
}

#[tokio::test]
async fn every_answer_matches_the_openapi_document_of_its_service() {
    let mall = start().await;
    let u = mall.system.urls.clone();
    let mut product = Doc::load(&mall, &u[Role::Product]).await;
    let mut order = Doc::load(&mall, &u[Role::Order]).await;
    let mut delivery = Doc::load(&mall, &u[Role::Delivery]).await;
    let mut mypage = Doc::load(&mall, &u[Role::Mypage]).await;

    // Writes first, so that every collection has items to show.
    let good = json!({"productId": 1, "quantity": 2, "customerId": "1@uengine.org",
                      "customerName": "Jay", "customerAddr": "Seoul"});
    let (_, placed) = order
        .check(
            &mall,
            "POST",
            "/orders",
            Some(good.clone()),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    let id = placed["id"].as_i64().expect("id");
    let (again, _) = order
        .check(
            &mall,
            "POST",
            "/orders",
            Some(good.clone()),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    assert_eq!(again, 200, "a repeated key answers the first order");
    let mut other = good.clone();
    other["quantity"] = json!(3);
    let (conflict, _) = order
        .check(
            &mall,
            "POST",
            "/orders",
            Some(other),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    assert_eq!(conflict, 409);
    let mut unknown = good.clone();
    unknown["productId"] = json!(999);
    assert_eq!(
        order
            .check(&mall, "POST", "/orders", Some(unknown), &[])
            .await
            .0,
        422
    );
    assert_eq!(
        order
            .check(&mall, "POST", "/orders", Some(json!({"productId": 1})), &[])
            .await
            .0,
        400
    );
    let (status, second) = order.check(&mall, "POST", "/orders", Some(good), &[]).await;
    assert_eq!(status, 201);
    let second = second["id"].as_i64().expect("id");

    let started = eventually("deliveries started", || async {
        let d = mall.deliveries_of(second).await;
        (!d.is_empty() && !mall.deliveries_of(id).await.is_empty()).then_some(d)
    })
    .await;
    let delivery_id = started[0]["id"].as_i64().expect("delivery id");
    eventually("my page rows", || async {
        mall.my_page(second).await["deliveryStatus"]
            .is_string()
            .then_some(())
    })
    .await;

    let done = json!({"status": "DeliveryCompleted"});
    let path = format!("/deliveries/{delivery_id}");
    assert_eq!(
        delivery
            .check(&mall, "PATCH", &path, Some(done.clone()), &[])
            .await
            .0,
        200
    );
    for (body, status) in [
        (json!({"status": "Lost"}), 400),
        (json!({"status": "DeliveryCompleted", "x": 1}), 400),
    ] {
        assert_eq!(
            delivery
                .check(&mall, "PATCH", &path, Some(body), &[])
                .await
                .0,
            status
        );
    }
    assert_eq!(
        delivery
            .check(&mall, "PATCH", "/deliveries/999", Some(done), &[])
            .await
            .0,
        404
    );

    let cancel = format!("/orders/{id}");
    assert_eq!(
        order.check(&mall, "DELETE", &cancel, None, &[]).await.0,
        200
    );
    assert_eq!(
        order.check(&mall, "DELETE", &cancel, None, &[]).await.0,
        409
    );
    assert_eq!(
        order
            .check(&mall, "DELETE", "/orders/999", None, &[])
            .await
            .0,
        404
    );
    assert_eq!(
        order.check(&mall, "DELETE", "/orders/x", None, &[]).await.0,
        400
    );

    let new_product = json!({"name": "KEYBOARD", "price": 5000, "stock": 4});
    assert_eq!(
        product
            .check(&mall, "POST", "/products", Some(new_product), &[])
            .await
            .0,
        201
    );
    assert_eq!(
        product
            .check(
                &mall,
                "POST",
                "/products",
                Some(json!({"name": " ", "price": 1})),
                &[]
            )
            .await
            .0,
        400
    );

    // Reads of every service: root, profiles, listing (and a bad page), search index,
    // every search (and one with its parameter missing), an item, a missing and a bad id.
    let reads: [(&mut Doc, &str, i64, Vec<String>); 4] = [
        (
            &mut product,
            "products",
            1,
            vec!["findByIdIn?ids=1,2".into()],
        ),
        (
            &mut order,
            "orders",
            id,
            vec![
                "findByCustomerId?customerId=1%40uengine.org&size=1".into(),
                format!("findByIdIn?ids={id},{second}"),
            ],
        ),
        (
            &mut delivery,
            "deliveries",
            delivery_id,
            vec![
                format!("findByOrderId?orderId={second}"),
                format!("findByOrderIdIn?orderIds={id},{second}"),
                "findByCustomerId?customerId=1%40uengine.org".into(),
                format!("findByIdIn?ids={delivery_id}"),
            ],
        ),
        (
            &mut mypage,
            "myPages",
            id,
            vec!["findByCustomerId?customerId=1%40uengine.org&sort=orderId,desc".into()],
        ),
    ];
    for (doc, rel, item, searches) in reads {
        for path in [
            "/".to_owned(),
            "/profile".into(),
            format!("/profile/{rel}"),
            format!("/{rel}"),
            format!("/{rel}?page=0&size=1&sort=id,desc"),
            format!("/{rel}/search"),
            format!("/{rel}/{item}"),
        ] {
            assert_eq!(
                doc.check(&mall, "GET", &path, None, &[]).await.0,
                200,
                "{path}"
            );
        }
        for (path, status) in [
            (format!("/{rel}?size=0"), 400),
            (format!("/{rel}?sort=secret"), 400),
            (format!("/{rel}/999999"), 404),
            (format!("/{rel}/0"), 400),
        ] {
            assert_eq!(
                doc.check(&mall, "GET", &path, None, &[]).await.0,
                status,
                "{path}"
            );
        }
        for search in searches {
            let path = format!("/{rel}/search/{search}");
            let (status, page) = doc.check(&mall, "GET", &path, None, &[]).await;
            assert_eq!(status, 200, "{path}");
            assert!(
                !page["_embedded"][rel].as_array().expect("items").is_empty(),
                "{path} finds something"
            );
            let bare = format!(
                "/{rel}/search/{}",
                search.split('?').next().unwrap_or_default()
            );
            assert_eq!(
                doc.check(&mall, "GET", &bare, None, &[]).await.0,
                400,
                "{bare}"
            );
        }
    }

    for doc in [&product, &order, &delivery, &mypage] {
        doc.assert_all_seen();
        doc.assert_other_methods_refused(&mall).await;
    }
    mall.system.stop().await;
}

#[tokio::test]
async fn profile_still_answers_as_spring_data_rest_does() {
    let mall = start().await;
    let u = &mall.system.urls;
    for (base, rel) in [
        (&u[Role::Order], "orders"),
        (&u[Role::Delivery], "deliveries"),
        (&u[Role::Product], "products"),
        (&u[Role::Mypage], "myPages"),
    ] {
        let (status, index) = mall.get(&format!("{base}/profile")).await;
        assert_eq!(status, 200);
        assert_eq!(
            index["_links"][rel]["href"],
            format!("{base}/profile/{rel}")
        );
        let (status, alps) = mall.get(&format!("{base}/profile/{rel}")).await;
        assert_eq!(status, 200);
        assert_eq!(alps["alps"]["version"], "1.0");
        assert!(alps["alps"]["descriptor"].is_array());
    }
    mall.system.stop().await;
}
