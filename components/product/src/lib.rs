//! The product micro-frontend: the catalogue with paging, price and stock (backordered below
//! zero); selecting a product announces `mall:product-selected` for the order component.
//!
//! - [`catalogue`]: the view
//! - [`queries`]: the typed GraphQL queries (checked against schema/schema.graphql)

pub mod catalogue;
pub mod queries;

mall_kit::export_component!("product", catalogue::STYLE, |ctx| {
    leptos::prelude::view! { <catalogue::Catalogue ctx=ctx/> }
});
