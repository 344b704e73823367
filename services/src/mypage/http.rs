//! The mypage service's REST API (read-only).

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::{MyPageRow, RESOURCE};
use crate::access::Access;
use crate::context::Ctx;
use crate::hal::{self, Hal, HalText, Params};
use crate::openapi::{self, Api};
use crate::problem::AppError;
use crate::resource::{owned_by, where_eq, Keys, Render};
use crate::role::Role;
use mall_auth::policy::Action;

pub fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/profile", get(profile_index))
        .route("/profile/myPages", get(profile))
        .route("/myPages", get(list))
        .route("/myPages/search", get(search_index))
        .route("/myPages/search/findByCustomerId", get(find_by_customer))
        .route("/myPages/{id}", get(item))
        .route("/v3/api-docs", get(api_docs))
        .with_state(ctx)
}

/// The routes above, as an OpenAPI document.
pub fn api() -> Api {
    Api::new::<MyPageRow>(RESOURCE)
}

async fn api_docs(State(ctx): State<Ctx>) -> Response {
    openapi::serve(api().document("12st mall my-page projection", &ctx.urls[Role::Mypage]))
}

fn render(ctx: &Ctx) -> Render {
    let urls = Arc::clone(&ctx.urls);
    Render::new(move |keys: &Keys| {
        let id = keys.id.0;
        let href = RESOURCE.item_href(&urls[Role::Mypage], id);
        vec![
            ("self", href.clone()),
            ("myPage", href),
            ("order", format!("{}/orders/{id}", urls[Role::Order])),
        ]
    })
}

async fn root(State(ctx): State<Ctx>) -> Hal {
    RESOURCE.root(&ctx.urls[Role::Mypage])
}

async fn profile_index(State(ctx): State<Ctx>) -> Hal {
    let base = &ctx.urls[Role::Mypage];
    Hal(json!({"_links": {
        "self": hal::link(format!("{base}/profile")),
        "myPages": hal::link(RESOURCE.profile_href(base)),
    }}))
}

async fn profile(State(ctx): State<Ctx>) -> Hal {
    RESOURCE.profile(&ctx.urls[Role::Mypage])
}

async fn search_index(State(ctx): State<Ctx>) -> Hal {
    RESOURCE.search_index(&ctx.urls[Role::Mypage])
}

async fn list(
    State(ctx): State<Ctx>,
    Extension(access): Extension<Access>,
    RawQuery(q): RawQuery,
) -> Result<HalText, AppError> {
    let own = access.listing(Action::ListOrders, None)?;
    let params = Params::parse(q.as_deref());
    let base = &ctx.urls[Role::Mypage];
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

async fn find_by_customer(
    State(ctx): State<Ctx>,
    Extension(access): Extension<Access>,
    RawQuery(q): RawQuery,
) -> Result<HalText, AppError> {
    let params = Params::parse(q.as_deref());
    let customer = params.require_text("customerId", 200)?.to_owned();
    access.allow(
        Action::ReadMyPage {
            customer: &customer,
        },
        String::new(),
    )?;
    let base = &ctx.urls[Role::Mypage];
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

async fn item(
    State(ctx): State<Ctx>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
) -> Result<Hal, AppError> {
    access.signed_in()?;
    RESOURCE
        .get_owned(&ctx.store, &id, render(&ctx), |owner| {
            access.allow(Action::ReadOrder { owner }, String::new())
        })
        .await
}
