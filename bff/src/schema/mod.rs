//! The GraphQL schema: types, queries, mutations. It knows nothing of HTTP serving; the
//! axum wiring lives in [`crate::server`].
//!
//! - [`types`]: the GraphQL objects, each exposing a type of [`crate::model`]
//! - [`errors`]: [`BffError`] as GraphQL errors (`extensions.code`, `upstream`)
//! - [`field_errors`]: failed fields answered as the specification says (null, propagation),
//!   on the finished response
//! - [`document_limits`], [`variables`]: what a request may ask, checked before it runs
//! - [`parsed`]: parsed documents kept by their text (a query sent again is not parsed again)
//! - [`selections`]: the fields a selection runs, fragments inlined
//! - [`cost`]: what a query is expected to bring back (list fields count their rows)
//! - [`loaders`]: per-request DataLoaders and the stale marks
//! - [`subscription`]: the `myPage` subscription, fed by [`crate::live`]
//! - [`rendered`]: a subscription's CHANGE resolved once per selection, for all its subscribers
//!
//! [`builder`] returns the schema builder so more data can be added before `finish()`
//! (the live feed: [`crate::live::Live`]).

pub mod access;
pub mod cost;
pub mod document_limits;
pub mod errors;
pub mod field_errors;
pub mod loaders;
pub mod parsed;
pub mod rendered;
pub mod selections;
pub mod subscription;
pub mod types;
pub mod variables;

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Context, Object, Schema, SchemaBuilder};
use futures::stream::BoxStream;
use futures::StreamExt;

use crate::config::Limits;
use crate::error::BffError;
use crate::gateway::Gateway;
use crate::request_context::RequestContext;
use crate::upstream::Upstream;
use errors::extend_errors;
use loaders::{unwrap_fetched, RequestData};
use mall_auth::policy::Action;
pub use subscription::Subscription;
use types::{Delivery, MyPageRow, Order, PlaceOrderInput, Product, ProductPage, UpstreamStatus};

/// The schema the BFF serves.
pub type BffSchema = Schema<Query, Mutation, Subscription>;

/// The largest page of products one query may ask for (the upstreams' limit).
pub const MAX_PAGE_SIZE: i64 = 1000;

pub struct Query;

fn gateway<'a>(ctx: &Context<'a>) -> Result<&'a Arc<Gateway>, BffError> {
    ctx.data::<Arc<Gateway>>()
        .map_err(|_| BffError::Internal("the schema was built without a gateway".into()))
}

fn positive_id(name: &str, id: i64) -> Result<i64, BffError> {
    if id < 1 {
        return Err(BffError::bad_input(format!(
            "{name} must be a positive id, not {id}"
        )));
    }
    Ok(id)
}

/// The longest text argument (a customer id, an idempotency key) the BFF passes on, in
/// characters: the services' own limit. Checked here, before anything is fetched or
/// remembered, so a client cannot make the BFF carry (or keep stale copies under) huge keys.
pub const MAX_TEXT_ARGUMENT: usize = 200;

fn not_blank<'a>(name: &str, value: &'a str) -> Result<&'a str, BffError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(BffError::bad_input(format!("{name} must not be blank")));
    }
    within_limit(name, v)
}

fn within_limit<'a>(name: &str, value: &'a str) -> Result<&'a str, BffError> {
    if value.chars().count() > MAX_TEXT_ARGUMENT {
        return Err(BffError::bad_input(format!(
            "{name} must be at most {MAX_TEXT_ARGUMENT} characters"
        )));
    }
    Ok(value)
}

#[Object]
impl Query {
    /// Products, paged (page is zero-based).
    #[graphql(complexity = "cost::page(size, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 0)] page: i64,
        #[graphql(default = 20)] size: i64,
    ) -> Result<ProductPage, BffError> {
        if page < 0 {
            return Err(BffError::bad_input("page must be 0 or more"));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(BffError::bad_input(format!(
                "size must be between 1 and {MAX_PAGE_SIZE}"
            )));
        }
        let fetched = gateway(ctx)?
            .products
            .page(access::request(ctx)?, page, size)
            .await?;
        Ok(ProductPage(unwrap_fetched(ctx, fetched)))
    }

    async fn product(
        &self,
        ctx: &Context<'_>,
        product_id: i64,
    ) -> Result<Option<Product>, BffError> {
        let id = positive_id("productId", product_id)?;
        let fetched = gateway(ctx)?
            .products
            .get(access::request(ctx)?, id)
            .await?;
        Ok(Some(Product(unwrap_fetched(ctx, fetched))))
    }

    /// Every order (staff), or one customer's orders. A signed-in customer sees only their
    /// own, with or without `customerId`.
    #[graphql(complexity = "cost::list(child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        customer_id: Option<String>,
    ) -> Result<Vec<Order>, BffError> {
        let asked = customer_id
            .as_deref()
            .map(|c| not_blank("customerId", c))
            .transpose()?;
        let scope = access::listing(access::caller(ctx)?, Action::ListOrders, asked, "orders")?;
        let request = access::request(ctx)?;
        let orders = unwrap_fetched(
            ctx,
            gateway(ctx)?.orders.list(request, scope.customer()).await?,
        );
        loaders::prefetch(ctx, &orders).await;
        Ok(orders.into_iter().map(Order).collect())
    }

    async fn order(&self, ctx: &Context<'_>, order_id: i64) -> Result<Option<Order>, BffError> {
        let id = positive_id("orderId", order_id)?;
        let caller = access::caller(ctx)?;
        access::signed_in(caller)?;
        let fetched = gateway(ctx)?.orders.get(access::request(ctx)?, id).await?;
        access::allow(
            caller,
            Action::ReadOrder {
                owner: &fetched.value.customer_id,
            },
            Upstream::Order,
            || format!("order {id}"),
        )?;
        Ok(Some(Order(unwrap_fetched(ctx, fetched))))
    }

    /// A customer's deliveries (the signed-in customer's when `customerId` is left out).
    #[graphql(complexity = "cost::list(child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        customer_id: Option<String>,
    ) -> Result<Vec<Delivery>, BffError> {
        let asked = customer_id
            .as_deref()
            .map(|c| not_blank("customerId", c))
            .transpose()?;
        let caller = access::caller(ctx)?;
        let scope = access::listing(caller, Action::ListDeliveries, asked, "deliveries")?;
        let customer = access::customer_of(caller, scope.customer())?;
        let fetched = gateway(ctx)?
            .deliveries
            .of_customer(access::request(ctx)?, &customer)
            .await?;
        Ok(unwrap_fetched(ctx, fetched)
            .into_iter()
            .map(Delivery)
            .collect())
    }

    /// A customer's my-page rows, from the CQRS projection (the signed-in customer's when
    /// `customerId` is left out).
    #[graphql(complexity = "cost::list(child_complexity)")]
    async fn my_page(
        &self,
        ctx: &Context<'_>,
        customer_id: Option<String>,
    ) -> Result<Vec<MyPageRow>, BffError> {
        let asked = customer_id
            .as_deref()
            .map(|c| not_blank("customerId", c))
            .transpose()?;
        let caller = access::caller(ctx)?;
        let customer = access::customer_of(caller, asked)?;
        access::allow(
            caller,
            Action::ReadMyPage {
                customer: &customer,
            },
            Upstream::Mypage,
            || format!("the my-page of {customer}"),
        )?;
        let fetched = gateway(ctx)?
            .my_pages
            .of_customer(access::request(ctx)?, &customer)
            .await?;
        Ok(unwrap_fetched(ctx, fetched)
            .into_iter()
            .map(MyPageRow)
            .collect())
    }

    /// Each upstream's circuit state.
    #[graphql(complexity = "cost::fixed(cost::UPSTREAMS, child_complexity)")]
    async fn upstreams(&self, ctx: &Context<'_>) -> Result<Vec<UpstreamStatus>, BffError> {
        Ok(gateway(ctx)?
            .clients()
            .iter()
            .map(|c| UpstreamStatus {
                name: c.upstream().as_str().to_owned(),
                state: c.circuit_state().into(),
                ready: c.is_discovered(),
            })
            .collect())
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Places an order for the signed-in customer (`customerId`, when given, must be
    /// theirs). A retried call with the same idempotencyKey returns the first order instead
    /// of placing another.
    async fn place_order(
        &self,
        ctx: &Context<'_>,
        input: PlaceOrderInput,
        idempotency_key: Option<String>,
    ) -> Result<Order, BffError> {
        positive_id("productId", input.product_id)?;
        if input.quantity < 1 {
            return Err(BffError::bad_input("quantity must be at least 1"));
        }
        let asked = input
            .customer_id
            .as_deref()
            .map(|c| not_blank("customerId", c))
            .transpose()?;
        if let Some(key) = &idempotency_key {
            within_limit("idempotencyKey", key)?;
        }
        let caller = access::caller(ctx)?;
        let customer = access::customer_of(caller, asked)?;
        access::allow(
            caller,
            Action::PlaceOrder {
                customer: &customer,
            },
            Upstream::Order,
            || format!("an order in the name of {customer}"),
        )
        .map_err(|e| match e {
            BffError::Forbidden(_) => BffError::Forbidden(
                "orders are placed in your own name: leave customerId out (or give your own)"
                    .into(),
            ),
            other => other,
        })?;
        let order = gateway(ctx)?
            .orders
            .place(
                access::request(ctx)?,
                &input.into_new_order(caller.id().unwrap_or(&customer)),
                idempotency_key.as_deref(),
            )
            .await?;
        Ok(Order(order))
    }

    /// Cancels an order (it stays, with status CANCELLED). With an idempotencyKey, a
    /// retried call answers the cancelled order instead of an error.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        order_id: i64,
        idempotency_key: Option<String>,
    ) -> Result<Order, BffError> {
        let id = positive_id("orderId", order_id)?;
        if let Some(key) = &idempotency_key {
            within_limit("idempotencyKey", key)?;
        }
        let caller = access::caller(ctx)?;
        access::signed_in(caller)?;
        let order = gateway(ctx)?
            .orders
            .cancel(
                access::request(ctx)?,
                id,
                idempotency_key.as_deref(),
                |order| {
                    access::allow(
                        caller,
                        Action::CancelOrder {
                            owner: &order.customer_id,
                        },
                        Upstream::Order,
                        || format!("order {id}"),
                    )
                },
            )
            .await?;
        Ok(Order(order))
    }

    /// Marks a delivery completed.
    async fn complete_delivery(
        &self,
        ctx: &Context<'_>,
        delivery_id: i64,
    ) -> Result<Delivery, BffError> {
        let id = positive_id("deliveryId", delivery_id)?;
        access::allow(
            access::caller(ctx)?,
            Action::CompleteDelivery,
            Upstream::Delivery,
            || format!("delivery {id}"),
        )?;
        Ok(Delivery(
            gateway(ctx)?
                .deliveries
                .complete(access::request(ctx)?, id)
                .await?,
        ))
    }
}

/// The schema builder with the gateway and the limits; call `finish()` (or add more first).
pub fn builder(
    gateway: Arc<Gateway>,
    limits: &Limits,
) -> SchemaBuilder<Query, Mutation, Subscription> {
    let builder = Schema::build(Query, Mutation, Subscription)
        .data(gateway)
        .data(rendered::RenderedChanges::new(rendered::DEFAULT_MAX_BYTES))
        .data(parsed::ParsedDocuments::new(parsed::DEFAULT_MAX_BYTES))
        .data(document_limits::DocumentLimits {
            max_depth: limits.max_depth,
            introspection: limits.introspection,
            max_root_fields: limits.max_root_fields,
            max_mutations: limits.max_mutations,
            max_complexity: limits.max_complexity,
        })
        .data(field_errors::FieldTypes::of::<Query, Mutation, Subscription>())
        .limit_complexity(limits.max_complexity);
    if limits.introspection {
        builder
    } else {
        builder.disable_introspection()
    }
}

/// The SDL of the schema (what schema/schema.graphql holds).
pub fn sdl() -> String {
    Schema::build(Query, Mutation, Subscription).finish().sdl()
}

/// The document of `query`, parsed (or a copy of the one kept for its text: see [`parsed`]);
/// `None` when it does not parse.
fn parse(schema: &BffSchema, query: &str) -> Option<ExecutableDocument> {
    match schema.data::<parsed::ParsedDocuments>() {
        Some(kept) => kept.parse(query),
        None => async_graphql::parser::parse_query(query).ok(),
    }
}

/// The request with its document parsed once for async-graphql to run; the refusal of a
/// document past the [`document_limits`] or of a required variable it lacks instead. A
/// document that does not parse is left to async-graphql, which reports why.
fn prepare(
    schema: &BffSchema,
    mut request: async_graphql::Request,
) -> Result<async_graphql::Request, async_graphql::ServerError> {
    if let Some(document) = parse(schema, &request.query) {
        if let Some(limits) = schema.data::<document_limits::DocumentLimits>() {
            limits.check(&document)?;
        }
        if let Some(missing) = variables::missing_required(&document, &request) {
            return Err(missing);
        }
        request.set_parsed_query(document);
    }
    Ok(request)
}

/// Puts a response in the specification's shape ([`field_errors`]) and gives a refusal for
/// cost its code ([`document_limits`]). The document is looked up again only when the
/// response has a field error.
fn finish(
    schema: &BffSchema,
    query: &str,
    operation: Option<&str>,
    response: &mut async_graphql::Response,
) {
    if let Some(limits) = schema.data::<document_limits::DocumentLimits>() {
        limits.explain(response);
    }
    if response.errors.iter().any(|e| !e.path.is_empty()) {
        if let (Some(types), Some(document)) = (
            schema.data::<field_errors::FieldTypes>(),
            parse(schema, query),
        ) {
            field_errors::shape(response, &document, operation, types);
        }
    }
}

/// Executes one request with fresh per-request loaders, then gives errors their codes and
/// the response its `extensions.stale` marks.
pub async fn execute(
    schema: &BffSchema,
    gateway: &Arc<Gateway>,
    context: RequestContext,
    request: async_graphql::Request,
) -> async_graphql::Response {
    tracing::debug!("executing");
    let request = match prepare(schema, request) {
        Ok(request) => request,
        Err(missing) => return async_graphql::Response::from_errors(vec![missing]),
    };
    let query = request.query.clone();
    let operation = request.operation_name.clone();
    let data = RequestData::new(gateway.clone(), context);
    let stale = data.stale.clone();
    let mut response = schema.execute(request.data(data)).await;
    finish(schema, &query, operation.as_deref(), &mut response);
    extend_errors(&mut response);
    errors::code_request_errors(&mut response, &query);
    if let Some(marks) = stale.take() {
        if let Ok(v) = async_graphql::Value::from_json(marks) {
            response.extensions.insert("stale".to_owned(), v);
        }
    }
    tracing::debug!("executed");
    response
}

/// Runs one request of a WebSocket (a subscription, or a query sent over the socket): its
/// responses, with fresh per-request loaders and each error with its code (a request that
/// does not parse or validate included), as [`execute`] gives them to queries.
pub fn execute_stream(
    schema: &BffSchema,
    gateway: &Arc<Gateway>,
    context: RequestContext,
    request: async_graphql::Request,
    session: Option<Arc<async_graphql::Data>>,
) -> BoxStream<'static, async_graphql::Response> {
    let request = match prepare(schema, request) {
        Ok(request) => request,
        Err(missing) => {
            return futures::stream::once(async move {
                async_graphql::Response::from_errors(vec![missing])
            })
            .boxed()
        }
    };
    let query = request.query.clone();
    let operation = request.operation_name.clone();
    let selection = rendered::Selection::of(&request);
    let request = request
        .data(RequestData::new(gateway.clone(), context))
        .data(selection);
    let responses = match session {
        Some(data) => schema
            .execute_stream_with_session_data(request, data)
            .boxed(),
        None => schema.execute_stream(request).boxed(),
    };
    let schema = schema.clone();
    responses
        .map(move |mut response| {
            finish(&schema, &query, operation.as_deref(), &mut response);
            extend_errors(&mut response);
            errors::code_request_errors(&mut response, &query);
            response
        })
        .boxed()
}
