//! A Spring Data REST style resource: its root link, collection, items, searches and
//! profile, shared by the four services so that they all answer the same shapes.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::hal::{self, Hal, Paging, Params};
use crate::problem::AppError;
use crate::store::{self, Query, Store};

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

/// Renders one stored document with its `_links`.
pub type Render = Arc<dyn Fn(Value) -> Value + Send + Sync>;

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
    ) -> Result<Hal, AppError> {
        let paging = Paging::from_params(params, self.sortable)?;
        query.page = paging.page;
        query.size = paging.size;
        query.sort = paging.sort.clone();
        let collection = self.collection;
        let page = store::read(store, move |tx| {
            Ok::<_, AppError>(tx.list_raw(collection, &query)?)
        })
        .await?;
        let items = page.items.into_iter().map(|v| render(v)).collect();
        Ok(Hal(hal::collection(
            self.collection,
            &href,
            &self.profile_href(base),
            Some(&self.search_href(base)),
            items,
            &paging,
            page.total,
        )))
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
        Ok(Hal(render(doc)))
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
