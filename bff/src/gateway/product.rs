//! The product service: pages of the catalogue, one product, and the products of many
//! orders at once.

use std::collections::HashMap;

use crate::error::BffError;
use crate::gateway::batch::{one_of, Loaded, Relation};
use crate::model::{items_of, Product, ProductPage};
use crate::request_context::RequestContext;
use crate::stale::{Fetched, StaleCache};
use crate::upstream::hal::{PageInfo, Var};
use crate::upstream::{Upstream, UpstreamClient};

/// The relation name of the collection (schema/rest.md).
pub const PRODUCTS: &str = "products";

/// A product to load: its id, and the link to it when an order gave one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductRef {
    pub id: i64,
    pub href: Option<String>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Products {
    client: UpstreamClient,
    /// Last-known-good products by id, for orders' `product` while the service fails.
    copies: StaleCache<i64, Product>,
}

impl Products {
    pub fn new(client: UpstreamClient, copies: u64) -> Products {
        Products {
            client,
            copies: StaleCache::new(Upstream::Product, copies),
        }
    }

    pub fn client(&self) -> &UpstreamClient {
        &self.client
    }

    pub async fn page(
        &self,
        ctx: &RequestContext,
        page: i64,
        size: i64,
    ) -> Result<Fetched<ProductPage>, BffError> {
        let link = self.client.root_link(PRODUCTS).await?;
        let url = link
            .expand(&[
                ("page", Var::One(page.to_string())),
                ("size", Var::One(size.to_string())),
            ])
            .map_err(|e| BffError::protocol(Upstream::Product, e))?;
        let doc = self
            .client
            .get(ctx, &url, |body| {
                let doc = self.client.document(body)?;
                let items: Vec<Product> = items_of(Upstream::Product, &doc, PRODUCTS)?;
                Ok((doc.page(), items))
            })
            .await?;
        if doc.stale.is_none() {
            for p in &doc.value.1 {
                self.copies.remember(p.id, p.clone());
            }
        }
        Ok(doc.map(|(info, items)| {
            let count = items.len() as i64;
            let info = info.unwrap_or(PageInfo {
                size,
                total_elements: count,
                total_pages: 1,
                number: page,
            });
            ProductPage {
                items,
                page: info.number,
                size: info.size,
                total_elements: info.total_elements,
                total_pages: info.total_pages,
            }
        }))
    }

    pub async fn get(&self, ctx: &RequestContext, id: i64) -> Result<Fetched<Product>, BffError> {
        self.client
            .item(ctx, PRODUCTS, id, &format!("product {id}"))
            .await
    }

    /// Products by id: one `findByIdIn` request per 1000 ids when the product service lists
    /// it, otherwise one concurrent GET per product link (or `products/<id>`). An order's
    /// product is promised: one that is not there is NOT_FOUND.
    pub async fn load(
        &self,
        ctx: &RequestContext,
        keys: &[ProductRef],
    ) -> HashMap<ProductRef, Loaded<Product>> {
        let relation = Relation {
            ctx,
            client: &self.client,
            rel: PRODUCTS,
            search: "findByIdIn",
            param: "ids",
            id_of: |p: &Product| p.id,
            promised: true,
            what: "product",
            copies: &self.copies,
        };
        relation.load(keys, |k| k.id, |k| self.single(ctx, k)).await
    }

    async fn single(
        &self,
        ctx: &RequestContext,
        key: &ProductRef,
    ) -> Result<Option<Product>, BffError> {
        let url = match &key.href {
            Some(href) => href.clone(),
            None => self.client.item_url(PRODUCTS, key.id).await?,
        };
        let product: Option<Product> = one_of(self.client.follow(ctx, &url, PRODUCTS).await?);
        Ok(product.map(|mut p| {
            if p.id == 0 {
                p.id = key.id;
            }
            p
        }))
    }
}
