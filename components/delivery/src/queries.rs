//! The delivery component's query and mutation, typed against the BFF's schema at compile time.

use graphql_client::GraphQLQuery;

/// The customer's deliveries.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema/schema.graphql",
    query_path = "src/queries/delivery.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct Deliveries;

/// The delivery team marks a delivery completed.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema/schema.graphql",
    query_path = "src/queries/delivery.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct CompleteDelivery;
