//! Serving the shell, `components.json` and the versioned wasm bundles from `dist/`.
//!
//! Versioned paths (`/components/<name>/<version>/…`, `/shell/<version>/…`) never change once
//! published, so browsers may keep them forever; the shell's index and the manifest are what a
//! deploy changes, so browsers revalidate them on every load. Bundles are served precompressed
//! when the build left `.br`/`.gz` files beside them, anything else is compressed on the fly.

use std::path::Path;

use axum::{
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::Response,
    Router,
};
use tower_http::{compression::CompressionLayer, services::ServeDir};

/// Cache policy of files under a version directory.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of everything else (the index, components.json): always revalidate.
pub const NO_CACHE: &str = "no-cache";

/// The router serving `dist/`: the BFF mounts it as its fallback.
pub fn router(dist: &Path) -> Router {
    let files = ServeDir::new(dist)
        .append_index_html_on_directories(true)
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
        .layer(CompressionLayer::new())
}

/// Whether `path` names a file inside a version directory.
pub fn is_versioned(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["components", name, version, _, ..] => !name.is_empty() && starts_with_digit(version),
        ["shell", version, _, ..] => starts_with_digit(version),
        _ => false,
    }
}

fn starts_with_digit(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_digit())
}

async fn cache_headers(request: Request, next: Next) -> Response {
    let versioned = is_versioned(request.uri().path());
    let mut response = next.run(request).await;
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let policy = if versioned { IMMUTABLE } else { NO_CACHE };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    fn dist() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let bundle = dir.path().join("components/product/0.1.0");
        std::fs::create_dir_all(&bundle).expect("bundle dir");
        std::fs::write(bundle.join("product_component_bg.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
        std::fs::write(dir.path().join("components.json"), b"{}").expect("manifest");
        std::fs::write(dir.path().join("index.html"), b"<!doctype html>").expect("index");
        dir
    }

    async fn get(dist: &Path, path: &str) -> Response {
        router(dist)
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    #[test]
    fn only_files_under_a_version_are_immutable() {
        assert!(is_versioned(
            "/components/product/0.1.0/product_component.js"
        ));
        assert!(is_versioned(
            "/components/product/0.2.0/snippets/x/inline0.js"
        ));
        assert!(is_versioned("/shell/0.1.0/mall_shell_bg.wasm"));
        assert!(!is_versioned("/components.json"));
        assert!(!is_versioned("/"));
        assert!(!is_versioned("/index.html"));
        assert!(!is_versioned("/components/product/latest.js"));
    }

    #[tokio::test]
    async fn wasm_is_served_as_wasm_and_kept_forever() {
        let dir = dist();
        let response = get(
            dir.path(),
            "/components/product/0.1.0/product_component_bg.wasm",
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(response.headers()[header::CACHE_CONTROL], IMMUTABLE);
    }

    #[tokio::test]
    async fn the_index_and_the_manifest_are_revalidated() {
        let dir = dist();
        for path in ["/", "/components.json"] {
            let response = get(dir.path(), path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                response.headers()[header::CACHE_CONTROL],
                NO_CACHE,
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn a_missing_bundle_is_a_404() {
        let dir = dist();
        let response = get(dir.path(), "/components/product/9.9.9/product_component.js").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
