//! The order service's REST API.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::catalog::Catalog;
use super::idempotency::IdempotencyKey;
use super::{Order, PlaceOrder, RESOURCE};
use crate::access::Access;
use crate::context::Ctx;
use crate::hal::{self, Hal, HalText, Params};
use crate::openapi::{self, Api};
use crate::problem::{AppError, Body};
use crate::resource::{owned_by, where_eq, where_in, Keys, Render};
use crate::role::Role;
use crate::store;
use mall_auth::policy::Action;

#[derive(Clone)]
struct OrderState {
    ctx: Ctx,
    catalog: Catalog,
}

pub fn router(ctx: Ctx) -> Router {
    let catalog = Catalog::new(ctx.urls[Role::Product].to_owned());
    Router::new()
        .route("/", get(root))
        .route("/profile", get(profile_index))
        .route("/profile/orders", get(profile))
        .route("/orders", get(list).post(place))
        .route("/orders/search", get(search_index))
        .route("/orders/search/findByCustomerId", get(find_by_customer))
        .route("/orders/search/findByIdIn", get(find_by_id_in))
        .route("/orders/{id}", get(item).delete(cancel))
        .route("/v3/api-docs", get(api_docs))
        .with_state(OrderState { ctx, catalog })
}

/// The routes above, as an OpenAPI document.
pub fn api() -> Api {
    Api::new::<Order>(RESOURCE)
        .write::<PlaceOrder>(
            HttpMethod::Post,
            "/orders",
            "placeOrder",
            "Places an order (OrderPlaced); delivery and stock follow by events",
            vec![IdempotencyKey::parameter()],
            &[
                (201, "the order, placed"),
                (200, "the order placed before with this `Idempotency-Key`"),
            ],
            &[
                (400, "a field is missing, misspelt or out of range"),
                (409, "the `Idempotency-Key` was used for a different order"),
                (413, "the body is too large"),
                (415, "the body is not `application/json`"),
                (422, "the product does not exist"),
                (
                    503,
                    "the product service did not answer; nothing was placed",
                ),
            ],
        )
        .delete(
            "/orders/{id}",
            "cancelOrder",
            "Cancels an order (OrderCancelled): it stays, with status Cancelled",
            &[(200, "the order, cancelled")],
            &[
                (400, "the id is not a positive integer"),
                (404, "no order has this id"),
                (409, "the order is already cancelled"),
            ],
        )
}

async fn api_docs(State(s): State<OrderState>) -> Response {
    openapi::serve(api().document("12st mall order service", &s.ctx.urls[Role::Order]))
}

fn render(ctx: &Ctx) -> Render {
    let urls = Arc::clone(&ctx.urls);
    Render::new(move |keys: &Keys| {
        let (id, product) = (keys.id.0, keys.product.0);
        let href = RESOURCE.item_href(&urls[Role::Order], id);
        vec![
            ("self", href.clone()),
            ("order", href),
            (
                "product",
                format!("{}/products/{product}", urls[Role::Product]),
            ),
            (
                "delivery",
                format!(
                    "{}/deliveries/search/findByOrderId?orderId={id}",
                    urls[Role::Delivery]
                ),
            ),
        ]
    })
}

async fn root(State(s): State<OrderState>) -> Hal {
    RESOURCE.root(&s.ctx.urls[Role::Order])
}

async fn profile_index(State(s): State<OrderState>) -> Hal {
    let base = &s.ctx.urls[Role::Order];
    Hal(json!({"_links": {
        "self": hal::link(format!("{base}/profile")),
        "orders": hal::link(RESOURCE.profile_href(base)),
    }}))
}

async fn profile(State(s): State<OrderState>) -> Hal {
    RESOURCE.profile(&s.ctx.urls[Role::Order])
}

async fn search_index(State(s): State<OrderState>) -> Hal {
    RESOURCE.search_index(&s.ctx.urls[Role::Order])
}

async fn list(
    State(s): State<OrderState>,
    Extension(access): Extension<Access>,
    RawQuery(q): RawQuery,
) -> Result<HalText, AppError> {
    let own = access.listing(Action::ListOrders, None)?;
    let params = Params::parse(q.as_deref());
    let base = &s.ctx.urls[Role::Order];
    RESOURCE
        .list(
            &s.ctx.store,
            base,
            RESOURCE.href(base),
            &params,
            owned_by(Default::default(), own),
            render(&s.ctx),
        )
        .await
}

async fn find_by_customer(
    State(s): State<OrderState>,
    Extension(access): Extension<Access>,
    RawQuery(q): RawQuery,
) -> Result<HalText, AppError> {
    let params = Params::parse(q.as_deref());
    let customer = params.require_text("customerId", 200)?.to_owned();
    access.listing(Action::ListOrders, Some(&customer))?;
    let base = &s.ctx.urls[Role::Order];
    let href = format!(
        "{}/findByCustomerId?customerId={}",
        RESOURCE.search_href(base),
        hal::encode(&customer)
    );
    RESOURCE
        .list(
            &s.ctx.store,
            base,
            href,
            &params,
            where_eq("customerId", json!(customer)),
            render(&s.ctx),
        )
        .await
}

async fn find_by_id_in(
    State(s): State<OrderState>,
    Extension(access): Extension<Access>,
    RawQuery(q): RawQuery,
) -> Result<HalText, AppError> {
    let own = access.listing(Action::ListOrders, None)?;
    let params = Params::parse(q.as_deref());
    let ids = params.ids("ids")?;
    let base = &s.ctx.urls[Role::Order];
    let href = format!(
        "{}/findByIdIn?ids={}",
        RESOURCE.search_href(base),
        hal::join(&ids)
    );
    RESOURCE
        .list(
            &s.ctx.store,
            base,
            href,
            &params,
            owned_by(where_in("id", ids), own),
            render(&s.ctx),
        )
        .await
}

async fn item(
    State(s): State<OrderState>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
) -> Result<Hal, AppError> {
    access.signed_in()?;
    RESOURCE
        .get_owned(&s.ctx.store, &id, render(&s.ctx), |owner| {
            access.allow(Action::ReadOrder { owner }, String::new())
        })
        .await
}

async fn place(
    State(s): State<OrderState>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    body: Body<PlaceOrder>,
) -> Result<Response, AppError> {
    let cmd = body.0;
    cmd.validate()?;

    // Past the ids the product service takes, its answer would be a 400, not a product.
    if cmd.product_id > hal::MAX_ID {
        return Err(AppError::BadRequest(format!(
            "`productId` must be a positive integer id (at most {})",
            hal::MAX_ID
        )));
    }
    let key = IdempotencyKey::from_headers(&headers)?;
    // Checked once the request is known to be well formed: a malformed one is a 400
    // whoever sends it.
    access.allow(
        Action::PlaceOrder {
            customer: cmd.customer_id.trim(),
        },
        String::new(),
    )?;
    let product = s.catalog.product(cmd.product_id).await?;
    let keys_kept = s.ctx.retention.idempotency_keys;
    let (order, created) = store::transact(&s.ctx.store, move |tx| {
        super::place(tx, cmd, product, key.as_ref(), keys_kept).map_err(AppError::from)
    })
    .await?;
    if created {
        s.ctx.committed();
    }
    let href = RESOURCE.item_href(&s.ctx.urls[Role::Order], order.id);
    let doc = render(&s.ctx).value(hal::to_value(&order)?);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, [(header::LOCATION, href)], Hal(doc)).into_response())
}

async fn cancel(
    State(s): State<OrderState>,
    Extension(access): Extension<Access>,
    Path(raw_id): Path<String>,
) -> Result<Hal, AppError> {
    access.signed_in()?;
    // The owner decides: another customer's order answers as an unknown one.
    RESOURCE
        .get_owned(&s.ctx.store, &raw_id, render(&s.ctx), |owner| {
            access.allow(Action::CancelOrder { owner }, String::new())
        })
        .await?;
    let id = hal::parse_id(&raw_id, "id")?;
    let order = store::transact(&s.ctx.store, move |tx| {
        super::cancel(tx, id).map_err(AppError::from)
    })
    .await?;
    s.ctx.committed();
    Ok(Hal(render(&s.ctx).value(hal::to_value(&order)?)))
}
