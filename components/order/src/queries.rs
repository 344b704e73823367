//! The order component's mutations, typed against the BFF's schema at compile time (the
//! my-page query and subscription come from mall-kit).

use graphql_client::GraphQLQuery;

/// Places an order; the idempotency key makes a retried or double-clicked intent one order.
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema/schema.graphql",
    query_path = "src/queries/order.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct PlaceOrder;

/// Cancels an order (it stays, with status Cancelled).
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../../schema/schema.graphql",
    query_path = "src/queries/order.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
pub struct CancelOrder;
