//! GraphiQL, served offline: its page and the files of the npm packages `graphiql`,
//! `react`, `react-dom` and `graphql-ws`, read once at start from a `node_modules` directory.
//! Queries and mutations go over HTTP to `/graphql`; subscriptions over graphql-transport-ws
//! to `/graphql/ws`, through a `graphql-ws` client the page hands GraphiQL's fetcher. No CDN: if
//! the files are missing, `GET /graphql` says what to run instead of rendering half a page.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;

/// Where the assets are served under.
pub const ASSETS: &str = "/graphql/assets";

/// The files the page needs: (name served under [`ASSETS`], path inside `node_modules`,
/// content type).
const FILES: [(&str, &str, &str); 5] = [
    (
        "react.production.min.js",
        "react/umd/react.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "react-dom.production.min.js",
        "react-dom/umd/react-dom.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "graphiql.min.js",
        "graphiql/graphiql.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "graphql-ws.min.js",
        "graphql-ws/umd/graphql-ws.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "graphiql.min.css",
        "graphiql/graphiql.min.css",
        "text/css; charset=utf-8",
    ),
];

/// The repository's `node_modules`, as seen from where this crate was built.
pub fn default_node_modules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../node_modules")
}

/// One file read: its served name, content type and bytes.
type Asset = (&'static str, &'static str, Bytes);

/// GraphiQL's files, or why they could not be read.
#[derive(Debug, Clone)]
pub struct Graphiql {
    /// The files, or `Err` when they could not be read (the reason, with its path, is
    /// logged at start; clients are told only that GraphiQL is not there).
    files: Result<Arc<Vec<Asset>>, ()>,
}

/// What a client is told when GraphiQL's files could not be read (no server path in it).
const NOT_AVAILABLE: &str = "GraphiQL is not available on this server: its files could not \
    be read at start (the server's log says which and how to fix it). GraphQL itself works: \
    POST /graphql.";

impl Graphiql {
    /// Reads the files from `node_modules`.
    pub fn load(node_modules: &Path) -> Graphiql {
        let mut files = Vec::new();
        for (name, path, content_type) in FILES {
            let full = node_modules.join(path);
            match std::fs::read(&full) {
                Ok(bytes) => files.push((name, content_type, Bytes::from(bytes))),
                Err(e) => {
                    let why = format!(
                        "GraphiQL is not available: cannot read {} ({e}). Run `npm install` at the \
                         repository root, or set the BFF's `node_modules` option to a directory \
                         holding the npm packages graphiql, react, react-dom and graphql-ws.",
                        full.display()
                    );
                    tracing::warn!("{why}");
                    return Graphiql { files: Err(()) };
                }
            }
        }
        Graphiql {
            files: Ok(Arc::new(files)),
        }
    }

    /// Whether every file was read.
    pub fn is_available(&self) -> bool {
        self.files.is_ok()
    }

    /// The page at `GET /graphql`.
    pub fn page(&self, endpoint: &str) -> Response {
        match &self.files {
            Ok(_) => Html(page(endpoint)).into_response(),
            Err(()) => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{NOT_AVAILABLE}\n"),
            )
                .into_response(),
        }
    }

    /// One asset by its served name.
    pub fn asset(&self, name: &str) -> Response {
        let start = (
            START,
            "text/javascript; charset=utf-8",
            Bytes::from_static(START_SCRIPT.as_bytes()),
        );
        let found = self.files.as_ref().ok().and_then(|fs| {
            fs.iter()
                .find(|(n, _, _)| *n == name)
                .cloned()
                .or_else(|| (name == START).then_some(start))
        });
        match found {
            Some((_, content_type, bytes)) => (
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::CACHE_CONTROL, "public, max-age=3600"),
                ],
                bytes,
            )
                .into_response(),
            None => (StatusCode::NOT_FOUND, "no such GraphiQL asset\n").into_response(),
        }
    }
}

/// The page's own script (starting GraphiQL), served as [`START`] under [`ASSETS`]: the
/// page's script policy allows no inline script.
const START_SCRIPT: &str = include_str!("../assets/graphiql-start.js");
/// [`START_SCRIPT`]'s served name.
const START: &str = "graphiql-start.js";

fn page(endpoint: &str) -> String {
    // The endpoint is ours (a constant), not user input; escape it for the attribute anyway.
    let endpoint = endpoint
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>12st mall GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{ASSETS}/graphiql.min.css">
<style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
<div id="graphiql" data-endpoint="{endpoint}">Loading GraphiQL…</div>
<script src="{ASSETS}/react.production.min.js"></script>
<script src="{ASSETS}/react-dom.production.min.js"></script>
<script src="{ASSETS}/graphiql.min.js"></script>
<script src="{ASSETS}/graphql-ws.min.js"></script>
<script src="{ASSETS}/{START}"></script>
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_explained() {
        let g = Graphiql::load(Path::new("/nonexistent/node_modules"));
        assert!(!g.is_available());
        let response = g.page("/graphql");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn the_unavailable_page_names_no_server_path() {
        let g = Graphiql::load(Path::new("/nonexistent/node_modules"));
        let body = axum::body::to_bytes(g.page("/graphql").into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("GraphiQL is not available"), "{text}");
        assert!(
            !text.contains("nonexistent") && !text.contains("node_modules"),
            "{text}"
        );
    }

    #[test]
    fn the_page_links_no_cdn() {
        let html = page("/graphql");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{html}"
        );
        assert!(html.contains("/graphql/assets/graphiql.min.js"));
        assert!(html.contains("/graphql/assets/graphql-ws.min.js"));
        assert!(html.contains("/graphql/assets/graphiql-start.js"));
    }

    #[tokio::test]
    async fn the_page_runs_no_inline_script_and_its_start_script_is_served() {
        let html = page("/graphql");
        for tag in html.split("<script").skip(1) {
            assert!(
                tag.trim_start().starts_with("src="),
                "inline script in {html}"
            );
        }
        let g = Graphiql {
            files: Ok(Arc::new(Vec::new())),
        };
        let response = g.asset("graphiql-start.js");
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        assert!(String::from_utf8_lossy(&body).contains("GraphiQL.createFetcher"));
    }
}
