//! The product component's queries, typed against the BFF's schema at compile time.

use graphql_client::GraphQLQuery;

/// A page of the catalogue.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema/schema.graphql",
    query_path = "src/queries/products.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct Products;
