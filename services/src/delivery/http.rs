//! The delivery service's REST API.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;
use utoipa::openapi::path::HttpMethod;

use super::{Delivery, DeliveryPatch, RESOURCE};
use crate::access::Access;
use crate::context::Ctx;
use crate::hal::{self, Hal, HalText, Params};
use crate::openapi::{self, Api};
use crate::problem::{AppError, Body};
use crate::resource::{owned_by, where_eq, where_in, Keys, Render};
use crate::role::Role;
use crate::store;
use mall_auth::policy::Action;

pub fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/profile", get(profile_index))
        .route("/profile/deliveries", get(profile))
        .route("/deliveries", get(list))
        .route("/deliveries/search", get(search_index))
        .route("/deliveries/search/findByOrderId", get(find_by_order))
        .route("/deliveries/search/findByOrderIdIn", get(find_by_order_in))
        .route("/deliveries/search/findByCustomerId", get(find_by_customer))
        .route("/deliveries/search/findByIdIn", get(find_by_id_in))
        .route("/deliveries/{id}", get(item).patch(complete))
        .route("/v3/api-docs", get(api_docs))
        .with_state(ctx)
}

/// The routes above, as an OpenAPI document.
pub fn api() -> Api {
    Api::new::<Delivery>(RESOURCE).write::<DeliveryPatch>(
        HttpMethod::Patch,
        "/deliveries/{id}",
        "completeDelivery",
        "Completes a delivery (DeliveryCompleted); completing it again changes nothing",
        vec![],
        &[(200, "the delivery, completed")],
        &[
            (400, "the id or the body is not valid"),
            (404, "no delivery has this id"),
            (409, "the delivery was cancelled"),
            (413, "the body is too large"),
            (415, "the body is not `application/json`"),
        ],
    )
}

async fn api_docs(State(ctx): State<Ctx>) -> Response {
    openapi::serve(api().document("12st mall delivery service", &ctx.urls[Role::Delivery]))
}

fn render(ctx: &Ctx) -> Render {
    let urls = Arc::clone(&ctx.urls);
    Render::new(move |keys: &Keys| {
        let href = RESOURCE.item_href(&urls[Role::Delivery], keys.id.0);
        vec![
            ("self", href.clone()),
            ("delivery", href),
            (
                "order",
                format!("{}/orders/{}", urls[Role::Order], keys.order.0),
            ),
        ]
    })
}

async fn root(State(ctx): State<Ctx>) -> Hal {
    RESOURCE.root(&ctx.urls[Role::Delivery])
}

async fn profile_index(State(ctx): State<Ctx>) -> Hal {
    let base = &ctx.urls[Role::Delivery];
    Hal(json!({"_links": {
        "self": hal::link(format!("{base}/profile")),
        "deliveries": hal::link(RESOURCE.profile_href(base)),
    }}))
}

async fn profile(State(ctx): State<Ctx>) -> Hal {
    RESOURCE.profile(&ctx.urls[Role::Delivery])
}

async fn search_index(State(ctx): State<Ctx>) -> Hal {
    RESOURCE.search_index(&ctx.urls[Role::Delivery])
}

async fn list(
    State(ctx): State<Ctx>,
    Extension(access): Extension<Access>,
    RawQuery(q): RawQuery,
) -> Result<HalText, AppError> {
    let params = Params::parse(q.as_deref());
    let own = access.listing(Action::ListDeliveries, None)?;
    let base = &ctx.urls[Role::Delivery];
    RESOURCE
        .list(
            &ctx.store,
            base,
            RESOURCE.href(base),
            &params,
            owned_by(Default::default(), own),
            render(&ctx),
        )
        .await
}

async fn find_by_order(
    State(ctx): State<Ctx>,
    Extension(access): Extension<Access>,
    RawQuery(q): RawQuery,
) -> Result<HalText, AppError> {
    let params = Params::parse(q.as_deref());
    let own = access.listing(Action::ListDeliveries, None)?;
    let order = params.require_id("orderId")?;
    let base = &ctx.urls[Role::Delivery];
    let href = format!(
        "{}/findByOrderId?orderId={order}",
        RESOURCE.search_href(base)
    );
    RESOURCE
        .list(
            &ctx.store,
            base,
            href,
            &params,
            owned_by(where_eq("orderId", json!(order)), own),
            render(&ctx),
        )
        .await
}

async fn find_by_order_in(
    State(ctx): State<Ctx>,
    Extension(access): Extension<Access>,
    RawQuery(q): RawQuery,
) -> Result<HalText, AppError> {
    let params = Params::parse(q.as_deref());
    let own = access.listing(Action::ListDeliveries, None)?;
    let ids = params.ids("orderIds")?;
    let base = &ctx.urls[Role::Delivery];
    let href = format!(
        "{}/findByOrderIdIn?orderIds={}",
        RESOURCE.search_href(base),
        hal::join(&ids)
    );
    RESOURCE
        .list(
            &ctx.store,
            base,
            href,
            &params,
            owned_by(where_in("orderId", ids), own),
            render(&ctx),
        )
        .await
}

async fn find_by_customer(
    State(ctx): State<Ctx>,
    Extension(access): Extension<Access>,
    RawQuery(q): RawQuery,
) -> Result<HalText, AppError> {
    let params = Params::parse(q.as_deref());
    let customer = params.require_text("customerId", 200)?.to_owned();
    access.listing(Action::ListDeliveries, Some(&customer))?;
    let base = &ctx.urls[Role::Delivery];
    let href = format!(
        "{}/findByCustomerId?customerId={}",
        RESOURCE.search_href(base),
        hal::encode(&customer)
    );
    RESOURCE
        .list(
            &ctx.store,
            base,
            href,
            &params,
            where_eq("customerId", json!(customer)),
            render(&ctx),
        )
        .await
}

async fn find_by_id_in(
    State(ctx): State<Ctx>,
    Extension(access): Extension<Access>,
    RawQuery(q): RawQuery,
) -> Result<HalText, AppError> {
    let params = Params::parse(q.as_deref());
    let own = access.listing(Action::ListDeliveries, None)?;
    let ids = params.ids("ids")?;
    let base = &ctx.urls[Role::Delivery];
    let href = format!(
        "{}/findByIdIn?ids={}",
        RESOURCE.search_href(base),
        hal::join(&ids)
    );
    RESOURCE
        .list(
            &ctx.store,
            base,
            href,
            &params,
            owned_by(where_in("id", ids), own),
            render(&ctx),
        )
        .await
}

async fn item(
    State(ctx): State<Ctx>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
) -> Result<Hal, AppError> {
    access.signed_in()?;
    RESOURCE
        .get_owned(&ctx.store, &id, render(&ctx), |owner| {
            access.allow(Action::ReadDelivery { owner }, String::new())
        })
        .await
}

async fn complete(
    State(ctx): State<Ctx>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    body: Body<DeliveryPatch>,
) -> Result<Hal, AppError> {
    access.allow(Action::CompleteDelivery, String::new())?;
    let id = hal::parse_id(&id, "id")?;
    let patch = body.0;
    let delivery = store::transact(&ctx.store, move |tx| {
        super::complete(tx, id, patch).map_err(AppError::from)
    })
    .await?;
    ctx.committed();
    Ok(Hal(render(&ctx).value(hal::to_value(&delivery)?)))
}
