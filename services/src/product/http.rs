//! The product service's REST API.

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::path::HttpMethod;

use super::{NewProduct, Product, RESOURCE};
use crate::access::Access;
use crate::context::Ctx;
use crate::hal::{self, Hal, HalText, Params};
use crate::openapi::{self, Api};
use crate::problem::{AppError, Body};
use crate::resource::{where_in, Keys, Render};
use crate::role::Role;
use crate::store;
use mall_auth::policy::Action;

pub fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/profile", get(profile_index))
        .route("/profile/products", get(profile))
        .route("/products", get(list).post(create))
        .route("/products/search", get(search_index))
        .route("/products/search/findByIdIn", get(find_by_id_in))
        .route("/products/{id}", get(item))
        .route("/v3/api-docs", get(api_docs))
        .with_state(ctx)
}

/// The routes above, as an OpenAPI document.
pub fn api() -> Api {
    Api::new::<Product>(RESOURCE).write::<NewProduct>(
        HttpMethod::Post,
        "/products",
        "createProduct",
        "Adds a product to the catalogue",
        vec![],
        &[(201, "the new product")],
        &[
            (400, "a field is missing, misspelt or out of range"),
            (413, "the body is too large"),
            (415, "the body is not `application/json`"),
        ],
    )
}

async fn api_docs(State(ctx): State<Ctx>) -> Response {
    openapi::serve(api().document("12st mall product service", &ctx.urls[Role::Product]))
}

fn render(ctx: &Ctx) -> Render {
    let base = ctx.urls[Role::Product].to_owned();
    Render::new(move |keys: &Keys| {
        let href = RESOURCE.item_href(&base, keys.id.0);
        vec![("self", href.clone()), ("product", href)]
    })
}

async fn root(State(ctx): State<Ctx>) -> Hal {
    RESOURCE.root(&ctx.urls[Role::Product])
}

async fn profile_index(State(ctx): State<Ctx>) -> Hal {
    let base = &ctx.urls[Role::Product];
    Hal(serde_json::json!({"_links": {
        "self": hal::link(format!("{base}/profile")),
        "products": hal::link(RESOURCE.profile_href(base)),
    }}))
}

async fn profile(State(ctx): State<Ctx>) -> Hal {
    RESOURCE.profile(&ctx.urls[Role::Product])
}

async fn search_index(State(ctx): State<Ctx>) -> Hal {
    RESOURCE.search_index(&ctx.urls[Role::Product])
}

async fn list(State(ctx): State<Ctx>, RawQuery(q): RawQuery) -> Result<HalText, AppError> {
    let params = Params::parse(q.as_deref());
    let base = &ctx.urls[Role::Product];
    RESOURCE
        .list(
            &ctx.store,
            base,
            RESOURCE.href(base),
            &params,
            Default::default(),
            render(&ctx),
        )
        .await
}

async fn find_by_id_in(State(ctx): State<Ctx>, RawQuery(q): RawQuery) -> Result<HalText, AppError> {
    let params = Params::parse(q.as_deref());
    let ids = params.ids("ids")?;
    let base = &ctx.urls[Role::Product];
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
            where_in("id", ids),
            render(&ctx),
        )
        .await
}

async fn item(State(ctx): State<Ctx>, Path(id): Path<String>) -> Result<Hal, AppError> {
    RESOURCE.get(&ctx.store, &id, render(&ctx)).await
}

async fn create(
    State(ctx): State<Ctx>,
    Extension(access): Extension<Access>,
    body: Body<NewProduct>,
) -> Result<Response, AppError> {
    access.allow(Action::ManageProducts, String::new())?;
    let new = body.0;
    let product = store::transact(&ctx.store, move |tx| {
        super::create(tx, new).map_err(AppError::from)
    })
    .await?;
    let href = RESOURCE.item_href(&ctx.urls[Role::Product], product.id);
    let doc = render(&ctx)
        .value(serde_json::to_value(&product).map_err(|e| AppError::Internal(e.to_string()))?);
    Ok((StatusCode::CREATED, [(header::LOCATION, href)], Hal(doc)).into_response())
}
