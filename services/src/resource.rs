//! A Spring Data REST style resource: its root link, collection, items, searches and
//! profile, shared by the four services so that they all answer the same shapes.

use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

use crate::hal::{self, Hal, HalText, Paging, Params};
use crate::problem::AppError;
use crate::store::{self, Query, Store, StoreError, Stored};

/// One exported collection of a service.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    /// Path segment and `_embedded` / `_links` relation name (`orders`).
    pub collection: &'static str,
    /// Relation name of one item (`order`).
    pub item_rel: &'static str,
    /// Document fields a client may sort by.
    pub sortable: &'static [&'static str],
    /// Searches: name and the query parameters of its URI template.
    pub searches: &'static [(&'static str, &'static str)],
}

/// The fields of a document that its links are made from; a field that is absent or not a
/// whole number reads 0.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Keys {
    pub id: Whole,
    #[serde(rename = "productId")]
    pub product: Whole,
    #[serde(rename = "orderId")]
    pub order: Whole,
}

/// A whole number read leniently: anything else is 0.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Whole(pub i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Whole(Value::deserialize(d)?.as_i64().unwrap_or_default()))
    }
}

impl Keys {
    /// The keys of a document tree (none of a tree that is not an object).
    fn of(doc: &Value) -> Keys {
        Keys::deserialize(doc).unwrap_or_default()
    }
}

/// A resource's links for one document: each relation and its URL.
pub type Links = Vec<(&'static str, String)>;

/// Renders a document with its `_links`: as a tree (one item, a document just written), or
/// spliced into a listing's text straight from the stored text.
#[derive(Clone)]
pub struct Render(Arc<dyn Fn(&Keys) -> Links + Send + Sync>);

impl Render {
    pub fn new(links: impl Fn(&Keys) -> Links + Send + Sync + 'static) -> Render {
        Render(Arc::new(links))
    }

    /// `doc` with its `_links`.
    pub fn value(&self, doc: Value) -> Value {
        let links = (self.0)(&Keys::of(&doc));
        hal::with_links(
            doc,
            links
                .into_iter()
                .map(|(rel, href)| (rel, hal::link(href)))
                .collect(),
        )
    }

    /// Appends a stored document with its `_links` to `out` without building its tree: the
    /// text is read once for the keys (which also checks that it is one JSON object), then
    /// copied with the links written before its closing brace.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        collection: &str,
        stored: &Stored,
    ) -> Result<(), StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            collection: collection.into(),
            id: stored.id,
            reason,
        };
        let body = stored.body.trim();
        let keys: Keys = serde_json::from_str(body).map_err(|e| corrupt(e.to_string()))?;
        let inner = body
            .strip_prefix('{')
            .and_then(|b| b.strip_suffix('}'))
            .ok_or_else(|| corrupt("not a JSON object".into()))?;
        out.push(b'{');
        out.extend_from_slice(inner.as_bytes());
        if !inner.trim().is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(br#""_links":{"#);
        for (i, (rel, href)) in (self.0)(&keys).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            hal::json_string(out, rel);
            out.extend_from_slice(br#":{"href":"#);
            hal::json_string(out, href);
            out.push(b'}');
        }
        out.extend_from_slice(b"}}");
        Ok(())
    }
}

impl Resource {
    pub fn href(&self, base: &str) -> String {
        format!("{base}/{}", self.collection)
    }

    pub fn item_href(&self, base: &str, id: i64) -> String {
        format!("{base}/{}/{id}", self.collection)
    }

    pub fn profile_href(&self, base: &str) -> String {
        format!("{base}/profile/{}", self.collection)
    }

    pub fn search_href(&self, base: &str) -> String {
        format!("{base}/{}/search", self.collection)
    }

    /// `GET /`: the collection as a templated link, plus the profile.
    pub fn root(&self, base: &str) -> Hal {
        Hal(json!({ "_links": {
            self.collection: hal::templated(format!("{}{{?page,size,sort}}", self.href(base))),
            "profile": hal::link(format!("{base}/profile")),
        }}))
    }

    /// `GET /<collection>/search`: every search as a templated link.
    pub fn search_index(&self, base: &str) -> Hal {
        let mut links = Map::new();
        for (name, params) in self.searches {
            links.insert(
                (*name).into(),
                hal::templated(format!("{}/{name}{{?{params}}}", self.search_href(base))),
            );
        }
        links.insert("self".into(), hal::link(self.search_href(base)));
        Hal(json!({ "_links": links }))
    }

    /// `GET /profile/<collection>`: a minimal ALPS description.
    pub fn profile(&self, base: &str) -> Hal {
        Hal(json!({
            "alps": {
                "version": "1.0",
                "descriptor": [{ "id": format!("{}-representation", self.item_rel), "href": self.profile_href(base) }]
            },
            "_links": { "self": hal::link(self.profile_href(base)) }
        }))
    }

    /// A paged listing of the documents matching `query`, rendered with `render`.
    ///
    /// `href` is the listing's URL without paging (the collection, or a search with its query).
    pub async fn list(
        &self,
        store: &Arc<dyn Store>,
        base: &str,
        href: String,
        params: &Params,
        mut query: Query,
        render: Render,
    ) -> Result<HalText, AppError> {
        let paging = Paging::from_params(params, self.sortable)?;
        query.page = paging.page;
        query.size = paging.size;
        query.sort = paging.sort.clone();
        let collection = self.collection;
        let page = store::read(store, move |tx| {
            Ok::<_, AppError>(tx.list_text(collection, &query)?)
        })
        .await?;
        let body = hal::collection(
            self.collection,
            &href,
            &self.profile_href(base),
            Some(&self.search_href(base)),
            &paging,
            page.total,
            |out| {
                out.reserve(page.items.iter().map(|s| s.body.len() + 256).sum());
                for (i, stored) in page.items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    render.write(out, collection, stored)?;
                }
                Ok::<_, StoreError>(())
            },
        )?;
        Ok(HalText(body))
    }

    /// One item by id, rendered, or 404 with a problem document.
    pub async fn get(
        &self,
        store: &Arc<dyn Store>,
        raw_id: &str,
        render: Render,
    ) -> Result<Hal, AppError> {
        let id = hal::parse_id(raw_id, "id")?;
        let collection = self.collection;
        let item_rel = self.item_rel;
        let doc = store::read(store, move |tx| {
            Ok::<_, AppError>(tx.get_raw(collection, id)?)
        })
        .await?
        .ok_or_else(|| AppError::NotFound(format!("{item_rel} {id} does not exist")))?;
        Ok(Hal(render.value(doc)))
    }

    /// As [`Resource::get`], answered only if `owner` (the item's `customerId`) passes
    /// `allowed`; an item the caller may not see answers exactly as an unknown one.
    pub async fn get_owned(
        &self,
        store: &Arc<dyn Store>,
        raw_id: &str,
        render: Render,
        allowed: impl FnOnce(&str) -> Result<(), AppError>,
    ) -> Result<Hal, AppError> {
        let hal = self.get(store, raw_id, render).await?;
        let owner = hal.0["customerId"].as_str().unwrap_or_default().to_owned();
        match allowed(&owner) {
            Ok(()) => Ok(hal),
            Err(AppError::NotFound(_)) => Err(self.not_found(raw_id)),
            Err(other) => Err(other),
        }
    }

    /// The 404 of an unknown item.
    pub fn not_found(&self, raw_id: &str) -> AppError {
        AppError::NotFound(format!(
            "{} {} does not exist",
            self.item_rel,
            raw_id.trim()
        ))
    }
}

/// A listing's filter narrowed to one customer's rows when the caller may see only theirs.
pub fn owned_by(mut query: Query, owner: Option<String>) -> Query {
    if let Some(customer) = owner {
        query
            .equals
            .push(("customerId".to_owned(), Value::String(customer)));
    }
    query
}

/// `equals` filter on one field.
pub fn where_eq(field: &str, value: Value) -> Query {
    Query {
        equals: vec![(field.to_owned(), value)],
        ..Query::default()
    }
}

/// `IN` filter on one field.
pub fn where_in(field: &str, ids: Vec<i64>) -> Query {
    Query {
        within: Some((field.to_owned(), ids.into_iter().map(Value::from).collect())),
        ..Query::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_links() -> Render {
        Render::new(|keys: &Keys| {
            vec![
                ("self", format!("http://o/orders/{}", keys.id.0)),
                ("product", format!("http://p/products/{}", keys.product.0)),
            ]
        })
    }

    fn written(stored: &Stored) -> Result<Value, StoreError> {
        let mut out = Vec::new();
        order_links().write(&mut out, "orders", stored)?;
        Ok(serde_json::from_slice(&out).expect("the written item is JSON"))
    }

    #[test]
    fn a_stored_item_is_written_with_the_links_its_tree_would_get() {
        let body = r#"{"customerId":"a@b.c","id":7,"note":"say \"}\"","productId":3}"#;
        let stored = Stored {
            id: 7,
            body: body.into(),
        };
        let tree = order_links().value(serde_json::from_str(body).expect("JSON"));
        assert_eq!(written(&stored).expect("written"), tree);
        assert_eq!(tree["_links"]["product"]["href"], "http://p/products/3");
        // PostgreSQL's jsonb prints spaces; an empty object gets links only.
        let spaced = Stored {
            id: 7,
            body: r#" { "id": 7, "productId": 3 } "#.into(),
        };
        assert_eq!(written(&spaced).expect("written")["_links"], tree["_links"]);
        let empty = Stored {
            id: 1,
            body: "{ }".into(),
        };
        assert_eq!(
            written(&empty).expect("written")["_links"]["self"]["href"],
            "http://o/orders/0"
        );
    }

    #[test]
    fn a_stored_item_that_is_not_one_json_object_is_corrupt_and_writes_nothing_usable() {
        for body in [r#"{"id":1"#, r#"{"id":1}}"#, "[1,2]", "7", r#"{"id":1} x"#] {
            let stored = Stored {
                id: 1,
                body: body.into(),
            };
            let mut out = b"[".to_vec();
            let err = order_links()
                .write(&mut out, "orders", &stored)
                .expect_err(body);
            assert_eq!(out, b"[", "{body}: nothing written");
            assert!(
                matches!(err, StoreError::Corrupt { ref collection, id: 1, .. } if collection == "orders"),
                "{body}: {err}"
            );
        }
    }

    #[test]
    fn a_key_that_is_not_a_whole_number_reads_zero() {
        let keys: Keys =
            serde_json::from_str(r#"{"id":"7","productId":2.5,"orderId":null}"#).expect("read");
        assert_eq!(keys, Keys::default());
    }
}
