//! Serving the shop's document, `components.json` and the versioned wasm bundles from `dist/`.
//!
//! Versioned paths (`/components/<name>/<version>/…`, `/shell/<version>/…`) never change once
//! published, so browsers may keep them forever; the manifest is what a deploy changes, so
//! browsers revalidate it on every load. The document is rendered for its caller (the
//! manifest, the preload hints, and who is signed in), so no cache shares it between callers:
//! `private` and `Vary: Cookie`, and `no-store` when it carries an account (as `/auth/me`).
//! Bundles are served precompressed when the build left `.br`/`.gz` files beside them,
//! anything else is compressed on the fly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
    routing::get,
    Router,
};
use mall_auth::http::{AuthState, Me};
use serde::Deserialize;
use tower_http::{compression::CompressionLayer, services::ServeDir};

use crate::security_headers;

/// Cache policy of files under a version directory.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of everything else (components.json): always revalidate.
pub const NO_CACHE: &str = "no-cache";
/// Cache policy of a document for a caller nobody signed in: theirs only, revalidated.
pub const DOCUMENT_SIGNED_OUT: &str = "private, no-cache";
/// Cache policy of a document that carries the caller's account: kept nowhere, as
/// `/auth/me`'s answer.
pub const DOCUMENT_SIGNED_IN: &str = "private, no-store";

/// The built document template, in `dist/`.
pub const DOCUMENT: &str = "index.html";
/// The manifest, in `dist/`.
pub const MANIFEST: &str = "components.json";
/// Where the document's preload hints go (a comment in the template).
pub const PRELOAD_MARK: &str = "<!--mall:preload-->";
/// Where the document's inlined manifest goes (a comment in the template).
pub const MANIFEST_MARK: &str = "<!--mall:manifest-->";
/// Where the document's inlined `/auth/me` answer goes (a comment in the template).
pub const SESSION_MARK: &str = "<!--mall:session-->";
/// The id of the inlined `/auth/me` answer's `<script type="application/json">`.
pub const SESSION_ID: &str = "mall-session";
/// Where the signed-in header's name goes (a comment in the template).
pub const ACCOUNT_NAME_MARK: &str = "<!--mall:account-name-->";
/// An element of the template hidden until someone is signed in (the header's greeting):
/// shown in a signed-in caller's document.
pub const SIGNED_IN_HIDDEN: &str = "data-signed-in hidden";
/// The file in a bundle's directory that declares the component's first queries (read here,
/// never by the browser; written by `cargo xtask build` from the component's crate).
pub const FIRST_QUERIES: &str = "first-queries.json";
/// The attribute naming the operation of a first query's preload, which the component's
/// GraphQL client looks for (mall-kit's `graphql::PRELOAD_MARK`).
pub const QUERY_MARK: &str = "data-mall-query";
/// The attribute giving that preload's variables as JSON text (keys sorted), which the
/// client compares with its own request's (mall-kit's `graphql::PRELOAD_VARIABLES`).
pub const QUERY_VARIABLES: &str = "data-mall-variables";
/// A slot that needs a customer, as the template marks it.
const NEEDS_ACCOUNT: &str = r#"data-needs="account""#;

/// What the document handler needs: the built files and who is signed in.
#[derive(Clone)]
struct Site {
    dist: PathBuf,
    auth: AuthState,
}

/// The router serving `dist/`: the BFF mounts it as its fallback. `auth` says who is signed
/// in, for the document.
pub fn router(dist: &Path, auth: AuthState) -> Router {
    let files = ServeDir::new(dist)
        .append_index_html_on_directories(false)
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .route("/", get(document))
        .route("/index.html", get(document))
        .with_state(Site {
            dist: dist.to_path_buf(),
            auth,
        })
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
        .layer(CompressionLayer::new())
}

/// Why the document could not be rendered with the manifest.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the shop is not built: cannot read {} ({source}); run `cargo xtask build`", path.display())]
    Template {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {} ({source})", path.display())]
    Manifest {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a valid manifest: {source}", path.display())]
    Invalid {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: the entry of {component} ({entry:?}) is not a path inside the site", path.display())]
    Entry {
        path: PathBuf,
        component: String,
        entry: String,
    },
}

/// `GET /`: the template with the current manifest inlined, the bundles' preload hints and
/// what `/auth/me` would answer this caller (so the shell need not ask before it mounts the
/// components that need a customer), under a script policy that allows its inline start
/// script by hash. A manifest that cannot be read or is invalid leaves the manifest and the
/// hints out (the shell then fetches components.json itself and shows the problem in each
/// slot); a caller `/auth/me` would refuse (a bearer token not accepted, the store
/// unreachable) leaves the answer out (the shell then asks `/auth/me`); the page still loads.
async fn document(State(site): State<Site>, headers: HeaderMap) -> Response {
    let path = site.dist.join(DOCUMENT);
    let template = match tokio::fs::read_to_string(&path).await {
        Ok(template) => template,
        Err(source) => {
            let error = DocumentError::Template { path, source };
            tracing::warn!("{error}");
            return (
                StatusCode::NOT_FOUND,
                "The shop is not built: run `cargo xtask build`.\n",
            )
                .into_response();
        }
    };
    // The template's own inline scripts, never what the manifest put into the document.
    let policy = security_headers::policy_for_document(&template);
    let me = match site.auth.me_of(&headers).await {
        Ok(me) => Some(me),
        Err(e) => {
            tracing::info!(error = %e, "the document goes without who is signed in");
            None
        }
    };
    let signed_in = matches!(me, Some(Me::SignedIn(_)));
    let dist = site.dist.clone();
    let rendered = tokio::task::spawn_blocking(move || render(&template, &dist, me.as_ref()));
    match rendered.await {
        Ok(html) => {
            let mut response = Html(html).into_response();
            let h = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&policy) {
                h.insert(header::CONTENT_SECURITY_POLICY, value);
            }
            let cache = if signed_in {
                DOCUMENT_SIGNED_IN
            } else {
                DOCUMENT_SIGNED_OUT
            };
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            h.insert(header::VARY, HeaderValue::from_static("cookie"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering the shop's document");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// One components.json entry, as far as the document needs it.
#[derive(Debug, Deserialize)]
struct ManifestEntry {
    entry: String,
}

/// The template with the manifest of `dist` inlined and the hints for its bundles (without
/// them, logged, when the manifest cannot be used), and who is signed in (`me`, what
/// `/auth/me` would answer; `None` when that is not known: the shell asks). The bundles of
/// the template's slots that need a customer (`data-needs="account"`) are hinted only for a
/// signed-in caller: a signed-out page does not mount them, and hides those slots.
pub fn render(template: &str, dist: &Path, me: Option<&Me>) -> String {
    let (skip, customer) = match me {
        Some(Me::SignedIn(profile)) => (Vec::new(), Some(profile.customer_id.as_str())),
        _ => (account_slots(template), None),
    };
    // The caller first, into the template alone: nothing the manifest brings is read as a mark.
    let template = match me {
        Some(me) => with_session(template, me),
        None => template.to_owned(),
    };
    match manifest_parts(dist, &skip, customer) {
        Ok((manifest, hints)) => {
            template
                .replacen(PRELOAD_MARK, &hints, 1)
                .replacen(MANIFEST_MARK, &manifest, 1)
        }
        Err(e) => {
            tracing::warn!("serving the shop without an inlined manifest: {e}");
            template
        }
    }
}

/// The template with `me` inlined (`<script type="application/json" id="mall-session">`)
/// and the frame in that state: a signed-in caller's header greets them, a signed-out
/// caller's page hides the slots that need a customer.
fn with_session(template: &str, me: &Me) -> String {
    let script = format!(
        "<script type=\"application/json\" id=\"{SESSION_ID}\">{}</script>",
        script_json(&me.body())
    );
    let html = template.replacen(SESSION_MARK, &script, 1);
    match me {
        Me::SignedIn(profile) => html.replace(SIGNED_IN_HIDDEN, "data-signed-in").replacen(
            ACCOUNT_NAME_MARK,
            &escape_html(&profile.name),
            1,
        ),
        Me::SignedOut(_) => html.replace(NEEDS_ACCOUNT, &format!("{NEEDS_ACCOUNT} hidden")),
    }
}

/// The names of the template's slots that need a signed-in customer: every
/// `<section data-slot="NAME" … data-needs="account">`.
fn account_slots(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    for tag in template.split("<section").skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        if !tag.contains(NEEDS_ACCOUNT) {
            continue;
        }
        if let Some((_, rest)) = tag.split_once(r#"data-slot=""#) {
            if let Some((name, _)) = rest.split_once('"') {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// The `<script>` carrying the manifest and the preload hints of every bundle it names but
/// those of the components in `skip`, with their first queries (as `customer` asks them).
fn manifest_parts(
    dist: &Path,
    skip: &[String],
    customer: Option<&str>,
) -> Result<(String, String), DocumentError> {
    let path = dist.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|source| DocumentError::Manifest {
        path: path.clone(),
        source,
    })?;
    let entries: BTreeMap<String, ManifestEntry> =
        serde_json::from_str(&text).map_err(|source| DocumentError::Invalid {
            path: path.clone(),
            source,
        })?;
    let mut hints = String::new();
    for (component, ManifestEntry { entry }) in &entries {
        if !is_site_path(entry) || !entry.ends_with(".js") {
            return Err(DocumentError::Entry {
                path,
                component: component.clone(),
                entry: entry.clone(),
            });
        }
        if skip.contains(component) {
            continue;
        }
        let module = entry.trim_start_matches("./");
        hints.push_str(&module_hint(module));
        let dir = module.rsplit_once('/').map_or("", |(dir, _)| dir);
        for snippet in snippets(&dist.join(dir).join("snippets")) {
            hints.push_str(&module_hint(&join(dir, &format!("snippets/{snippet}"))));
        }
        let wasm = format!("{}_bg.wasm", module.trim_end_matches(".js"));
        hints.push_str(&format!(
            "<link rel=\"preload\" href=\"./{}\" as=\"fetch\" crossorigin>\n",
            escape_html(&wasm)
        ));
        hints.push_str(&query_hints(&dist.join(dir), customer));
    }
    // Valid JSON as read, re-serialised so that nothing in it can end the <script> early.
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| DocumentError::Invalid {
            path: path.clone(),
            source,
        })?;
    let manifest = format!(
        "<script type=\"application/json\" id=\"mall-manifest\">{}</script>",
        script_json(&value)
    );
    Ok((manifest, hints))
}

/// One first query of a component, as its bundle declares it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FirstQuery {
    operation_name: String,
    /// The query document exactly as the component sends it.
    query: String,
    /// The variables; `{"$mall": "customerId"}` stands for the signed-in customer's id.
    #[serde(default)]
    variables: serde_json::Map<String, serde_json::Value>,
}

/// A preload of each first query the bundle in `dir` declares, as the component will GET it
/// (`graphql?query=…&operationName=…&variables=…`, marked with its operation): the answer
/// arrives while the bundle compiles, and the component's first request takes it. A query
/// that needs a customer is preloaded only for a signed-in `customer`. No declaration, or one
/// that cannot be read (logged), preloads nothing: the component then asks by itself.
fn query_hints(dir: &Path, customer: Option<&str>) -> String {
    let path = dir.join(FIRST_QUERIES);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return String::new();
    };
    let queries: Vec<FirstQuery> = match serde_json::from_str(&text) {
        Ok(queries) => queries,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "a bundle's first queries are not valid; not preloading them");
            return String::new();
        }
    };
    let mut hints = String::new();
    for query in queries {
        let Some(variables) = bind(query.variables, customer) else {
            continue;
        };
        // serde_json's maps are sorted by key: the JSON text the client compares.
        let variables = serde_json::Value::Object(variables).to_string();
        let search = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("query", &query.query)
            .append_pair("operationName", &query.operation_name)
            .append_pair("variables", &variables)
            .finish();
        hints.push_str(&format!(
            "<link rel=\"preload\" href=\"./graphql?{}\" as=\"fetch\" crossorigin {QUERY_MARK}=\"{}\" {QUERY_VARIABLES}=\"{}\">\n",
            escape_html(&search),
            escape_html(&query.operation_name),
            escape_html(&variables)
        ));
    }
    hints
}

/// The variables with each `{"$mall": "customerId"}` as `customer`; `None` when one needs a
/// customer and nobody is signed in, or stands for anything else.
fn bind(
    variables: serde_json::Map<String, serde_json::Value>,
    customer: Option<&str>,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    variables
        .into_iter()
        .map(|(name, value)| {
            let value = match value.as_object().and_then(|o| o.get("$mall")) {
                Some(serde_json::Value::String(what)) if what == "customerId" => {
                    serde_json::Value::String(customer?.to_owned())
                }
                Some(_) => return None,
                None => value,
            };
            Some((name, value))
        })
        .collect()
}

fn module_hint(module: &str) -> String {
    format!(
        "<link rel=\"modulepreload\" href=\"./{}\">\n",
        escape_html(module)
    )
}

fn join(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_owned()
    } else {
        format!("{dir}/{file}")
    }
}

/// A relative path inside the site: no scheme, not absolute, no `..`.
fn is_site_path(entry: &str) -> bool {
    !entry.is_empty()
        && !entry.contains(':')
        && !entry.starts_with('/')
        && !entry.contains('\\')
        && entry.split('/').all(|part| part != "..")
}

/// The `.js` files under a bundle's `snippets/` (wasm-bindgen's inline JS, which the module
/// imports statically), relative to it, sorted.
fn snippets(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let Ok(items) = std::fs::read_dir(&dir) else {
            continue;
        };
        for item in items.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let relative = join(&prefix, &name);
            match item.file_type() {
                Ok(t) if t.is_dir() => pending.push((item.path(), relative)),
                Ok(_) if name.ends_with(".js") => found.push(relative),
                _ => {}
            }
        }
    }
    found.sort();
    found
}

/// JSON for a `<script type="application/json">`: `<`, `>` and `&` (which JSON has only
/// inside strings) as `\u` escapes, so no `</script>` or `<!--` in a value can end the
/// script or change how the HTML parser reads it; `JSON.parse` reads the same value.
fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Escapes what would end or break a double-quoted attribute or an element's text.
fn escape_html(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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

/// The cache policy of a file, unless its handler set one (the document).
async fn cache_headers(request: Request, next: Next) -> Response {
    let versioned = is_versioned(request.uri().path());
    let mut response = next.run(request).await;
    let status = response.status();
    let set = response.headers().contains_key(header::CACHE_CONTROL);
    if !set && (status.is_success() || status == StatusCode::NOT_MODIFIED) {
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

    /// Accounts and sessions in a store of their own (not under `dist`, which is served).
    struct Accounts {
        auth: AuthState,
        _store: tempfile::TempDir,
    }

    impl Accounts {
        fn open() -> Accounts {
            let store = tempfile::tempdir().expect("temp dir");
            let auth = AuthState::open(
                &mall_auth::store::StoreLocation::Embedded(store.path().to_owned()),
                &Default::default(),
                "http://127.0.0.1:8088",
            )
            .expect("identity store");
            Accounts {
                auth,
                _store: store,
            }
        }

        /// Signs a customer called `name` up; the `Cookie` header of their session.
        async fn sign_up(&self, name: &str) -> String {
            let opened = self
                .auth
                .identity
                .sign_up(mall_auth::identity::SignUp {
                    email: "ada@test.example".into(),
                    name: name.into(),
                    address: "1 Main St".into(),
                    password: mall_auth::account::Password::new("a long password")
                        .expect("password"),
                })
                .await
                .expect("sign-up");
            format!("theme=dark; mall_session={}", opened.id.expose())
        }

        /// `GET path` with these `Cookie` headers.
        async fn get(&self, dist: &Path, path: &str, cookie: Option<&str>) -> Response {
            let mut request = Request::get(path);
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            router(dist, self.auth.clone())
                .oneshot(request.body(Body::empty()).expect("request"))
                .await
                .expect("infallible")
        }
    }

    async fn get(dist: &Path, path: &str) -> Response {
        Accounts::open().get(dist, path, None).await
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
    async fn the_manifest_is_revalidated() {
        let dir = dist();
        let response = get(dir.path(), "/components.json").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], NO_CACHE);
    }

    #[tokio::test]
    async fn no_cache_shares_a_document_and_none_keeps_an_account() {
        let dir = dist();
        let accounts = Accounts::open();
        let cookie = accounts.sign_up("Ada").await;
        let signed_out = accounts.get(dir.path(), "/", None).await;
        let signed_in = accounts.get(dir.path(), "/", Some(&cookie)).await;
        // Kept by the caller's browser only; revalidated, and never stored with an account.
        for (response, policy) in [
            (&signed_out, "private, no-cache"),
            (&signed_in, "private, no-store"),
        ] {
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()[header::CACHE_CONTROL], policy);
            let vary: Vec<_> = response.headers().get_all(header::VARY).iter().collect();
            assert!(
                vary.iter().any(|v| v
                    .to_str()
                    .is_ok_and(|v| v.to_ascii_lowercase().contains("cookie"))),
                "{vary:?}"
            );
        }
    }

    async fn text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    const TEMPLATE: &str = "<head><!--mall:preload--><!--mall:manifest--></head><body>frame</body>";

    #[tokio::test]
    async fn the_document_inlines_the_current_manifest_and_preloads_every_bundle() {
        let dir = dist();
        std::fs::write(dir.path().join(DOCUMENT), TEMPLATE).expect("template");
        let snippets = dir
            .path()
            .join("components/product/0.1.0/snippets/kit-1a2b");
        std::fs::create_dir_all(&snippets).expect("snippets");
        std::fs::write(snippets.join("inline0.js"), "export function f() {}").expect("snippet");
        let manifest = r#"{"product":{"version":"0.1.0","entry":"components/product/0.1.0/product_component.js","contract":1}}"#;
        std::fs::write(dir.path().join(MANIFEST), manifest).expect("manifest");

        let response = get(dir.path(), "/").await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = text(response).await;
        assert!(html.contains(r#"<script type="application/json" id="mall-manifest">{"product":{"contract":1,"entry":"components/product/0.1.0/product_component.js","version":"0.1.0"}}</script>"#), "{html}");
        assert!(html.contains(r#"<link rel="modulepreload" href="./components/product/0.1.0/product_component.js">"#), "{html}");
        assert!(html.contains(r#"<link rel="modulepreload" href="./components/product/0.1.0/snippets/kit-1a2b/inline0.js">"#), "{html}");
        assert!(html.contains(r#"<link rel="preload" href="./components/product/0.1.0/product_component_bg.wasm" as="fetch" crossorigin>"#), "{html}");
        assert!(html.contains("<body>frame</body>"));

        // A deploy rewrites the manifest: the next document names the new version.
        let deployed = manifest.replace("0.1.0", "0.2.0");
        std::fs::write(dir.path().join(MANIFEST), deployed).expect("manifest");
        let html = text(get(dir.path(), "/index.html").await).await;
        assert!(
            html.contains(r#"href="./components/product/0.2.0/product_component_bg.wasm""#),
            "{html}"
        );
        assert!(!html.contains("0.1.0"), "{html}");
    }

    #[tokio::test]
    async fn the_document_allows_its_start_script_by_hash_and_nothing_the_manifest_brings() {
        let dir = dist();
        let template = "<head><!--mall:manifest--><script type=\"module\">run();</script></head>";
        std::fs::write(dir.path().join(DOCUMENT), template).expect("template");
        let manifest = r#"{"x<script>alert(1)</script>":{"entry":"components/x/1.0.0/x.js"}}"#;
        std::fs::write(dir.path().join(MANIFEST), manifest).expect("manifest");
        let response = get(dir.path(), "/").await;
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_eq!(
            policy,
            security_headers::policy_for_document("<script>run();</script>")
        );
        assert_eq!(policy.matches("'sha256-").count(), 1, "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
    }

    #[tokio::test]
    async fn a_signed_out_document_preloads_only_what_it_mounts() {
        let dir = dist();
        let template = r#"<head><!--mall:preload--><!--mall:manifest--></head><body>
            <section class="slot" data-slot="product" aria-label="Products"></section>
            <section class="slot" data-slot="order" data-needs="account"></section></body>"#;
        std::fs::write(dir.path().join(DOCUMENT), template).expect("template");
        let manifest = r#"{"product":{"entry":"components/product/0.1.0/product_component.js"},
            "order":{"entry":"components/order/0.1.0/order_component.js"}}"#;
        std::fs::write(dir.path().join(MANIFEST), manifest).expect("manifest");

        let signed_out = text(get(dir.path(), "/").await).await;
        assert!(
            signed_out.contains(r#"href="./components/product/0.1.0/product_component_bg.wasm""#),
            "{signed_out}"
        );
        assert!(
            !signed_out.contains(r#"href="./components/order/"#),
            "{signed_out}"
        );
        // The manifest is whole: signing in on the page mounts the order component from it.
        assert!(signed_out.contains("order_component.js\"}"), "{signed_out}");

        // A cookie whose session is unknown (ended, or made up) is signed out too.
        let accounts = Accounts::open();
        let stale = accounts
            .get(dir.path(), "/", Some("mall_session=abc"))
            .await;
        let stale = text(stale).await;
        assert!(!stale.contains(r#"href="./components/order/"#), "{stale}");

        let cookie = accounts.sign_up("Ada").await;
        let response = accounts.get(dir.path(), "/", Some(&cookie)).await;
        let signed_in = text(response).await;
        for module in [
            "product/0.1.0/product_component",
            "order/0.1.0/order_component",
        ] {
            assert!(
                signed_in.contains(&format!(
                    r#"<link rel="modulepreload" href="./components/{module}.js">"#
                )),
                "{signed_in}"
            );
            assert!(
                signed_in.contains(&format!(r#"href="./components/{module}_bg.wasm""#)),
                "{signed_in}"
            );
        }
    }

    #[tokio::test]
    async fn a_broken_manifest_still_serves_the_frame() {
        let dir = dist();
        std::fs::write(dir.path().join(DOCUMENT), TEMPLATE).expect("template");
        for broken in [
            "{not json",
            r#"{"product":{"entry":"https://cdn.example/p.js"}}"#,
            r#"{"product":{"entry":"../../etc/p.js"}}"#,
        ] {
            std::fs::write(dir.path().join(MANIFEST), broken).expect("manifest");
            let response = get(dir.path(), "/").await;
            assert_eq!(response.status(), StatusCode::OK, "{broken}");
            let html = text(response).await;
            assert!(html.contains("<body>frame</body>"), "{broken}");
            assert!(
                !html.contains("mall-manifest") && !html.contains("<link"),
                "{broken}: {html}"
            );
        }
    }

    #[test]
    fn nothing_in_the_manifest_can_close_its_script() {
        let dir = dist();
        let manifest = r#"{"x</script><script>alert(1)":{"entry":"components/x/1.0.0/x.js"}}"#;
        std::fs::write(dir.path().join(MANIFEST), manifest).expect("manifest");
        let html = render(TEMPLATE, dir.path(), None);
        assert_eq!(html.matches("</script>").count(), 1, "{html}");
    }

    /// A template with the marks and the frame the document handler fills in (as
    /// frontend/index.html has them).
    const FRAME: &str = r#"<head><!--mall:preload--><!--mall:manifest--><!--mall:session--></head><body>
        <div class="account" id="account" data-signed-in hidden><strong id="account-name"><!--mall:account-name--></strong></div>
        <section class="slot" data-slot="product"></section>
        <section class="slot" data-slot="order" data-needs="account"></section></body>"#;

    /// A `dist` whose template is [`FRAME`].
    fn framed() -> tempfile::TempDir {
        let dir = dist();
        std::fs::write(dir.path().join(DOCUMENT), FRAME).expect("template");
        dir
    }

    /// The `/auth/me` answer a document carries, as the browser's `JSON.parse` reads it.
    fn inlined(html: &str) -> Option<serde_json::Value> {
        let open = format!(r#"<script type="application/json" id="{SESSION_ID}">"#);
        let (_, rest) = html.split_once(&open)?;
        let (json, _) = rest.split_once("</script>")?;
        Some(serde_json::from_str(json).expect("the inlined answer is JSON"))
    }

    #[tokio::test]
    async fn a_signed_in_document_carries_the_account_and_greets_it() {
        let dir = framed();
        let accounts = Accounts::open();
        let cookie = accounts.sign_up("Ada Lovelace").await;
        let html = text(accounts.get(dir.path(), "/", Some(&cookie)).await).await;
        assert_eq!(
            inlined(&html),
            Some(serde_json::json!({
                "customerId": "ada@test.example",
                "name": "Ada Lovelace",
                "address": "1 Main St",
                "roles": ["customer"],
            })),
            "{html}"
        );
        // The header greets the account in the frame itself; the slots are shown.
        assert!(
            html.contains(r#"<div class="account" id="account" data-signed-in><strong id="account-name">Ada Lovelace</strong></div>"#),
            "{html}"
        );
        assert!(!html.contains(" hidden"), "{html}");
    }

    #[tokio::test]
    async fn a_signed_out_document_carries_nobodys_account() {
        let dir = framed();
        let accounts = Accounts::open();
        let _someone = accounts.sign_up("Ada Lovelace").await;
        for cookie in [None, Some("mall_session=not-a-session")] {
            let html = text(accounts.get(dir.path(), "/", cookie).await).await;
            let me = inlined(&html).expect("a signed-out answer");
            // What `/auth/me` answers nobody: a 401 problem, no account.
            assert_eq!(me["status"], 401, "{cookie:?}: {me}");
            assert_eq!(me.get("customerId"), None, "{cookie:?}: {me}");
            assert!(!html.contains("Ada") && !html.contains("ada@"), "{html}");
            // The greeting stays hidden; the slots that need a customer are hidden too.
            assert!(html.contains("data-signed-in hidden"), "{html}");
            assert!(
                html.contains(r#"data-slot="order" data-needs="account" hidden"#),
                "{html}"
            );
        }
    }

    #[tokio::test]
    async fn a_signed_out_document_offers_the_external_sign_in() {
        let dir = framed();
        let mut accounts = Accounts::open();
        accounts.auth = accounts.auth.clone().offer_sign_in_with("Example ID");
        let html = text(accounts.get(dir.path(), "/", None).await).await;
        let me = inlined(&html).expect("a signed-out answer");
        assert_eq!(me["signInWith"], "Example ID", "{me}");
        assert_eq!(me["signInAt"], "/auth/oidc/login", "{me}");
    }

    #[tokio::test]
    async fn a_refused_bearer_token_leaves_the_question_to_the_shell() {
        let dir = framed();
        let request = Request::get("/")
            .header(header::AUTHORIZATION, "Bearer not-a-token")
            .body(Body::empty())
            .expect("request");
        let response = router(dir.path(), Accounts::open().auth)
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        let html = text(response).await;
        assert_eq!(inlined(&html), None, "{html}");
        assert!(html.contains("data-signed-in hidden"), "{html}");
    }

    #[tokio::test]
    async fn nothing_in_an_account_can_close_its_script_or_break_the_frame() {
        let dir = framed();
        let accounts = Accounts::open();
        let name = "</script><script>alert(1)</script><!--<script>&amp;";
        let cookie = accounts.sign_up(name).await;
        let html = text(accounts.get(dir.path(), "/", Some(&cookie)).await).await;
        assert_eq!(html.matches("<script").count(), 2, "{html}");
        assert_eq!(html.matches("</script>").count(), 2, "{html}");
        assert!(!html.contains("<!--<"), "{html}");
        // The browser reads the name back as it was given.
        assert_eq!(inlined(&html).expect("inlined")["name"], name);
        assert!(
            html.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--&lt;script&gt;&amp;amp;"),
            "{html}"
        );
    }

    /// The GETs a document preloads for first queries: (operation, the request's parameters).
    fn query_preloads(html: &str) -> Vec<(String, BTreeMap<String, String>)> {
        html.lines()
            .filter_map(|line| {
                let rest = line.strip_prefix(r#"<link rel="preload" href="./graphql?"#)?;
                let (search, rest) = rest.split_once('"')?;
                let (_, rest) = rest.split_once(&format!(r#"{QUERY_MARK}=""#))?;
                let (operation, rest) = rest.split_once('"')?;
                let (_, variables) = rest.split_once(&format!(r#"{QUERY_VARIABLES}=""#))?;
                let variables = variables.trim_end_matches("\">").replace("&quot;", "\"");
                let search = search.replace("&amp;", "&");
                let params: BTreeMap<String, String> =
                    url::form_urlencoded::parse(search.as_bytes())
                        .into_owned()
                        .collect();
                // The attribute repeats the URL's variables, for the client to compare.
                assert_eq!(params["variables"], variables, "{line}");
                Some((operation.to_owned(), params))
            })
            .collect()
    }

    #[tokio::test]
    async fn the_document_preloads_the_first_queries_of_what_it_mounts() {
        let dir = dist();
        let template = r#"<head><!--mall:preload--><!--mall:manifest--><!--mall:session--></head><body>
            <section class="slot" data-slot="product"></section>
            <section class="slot" data-slot="order" data-needs="account"></section></body>"#;
        std::fs::write(dir.path().join(DOCUMENT), template).expect("template");
        let manifest = r#"{"product":{"entry":"components/product/0.1.0/product_component.js"},
            "order":{"entry":"components/order/0.1.0/order_component.js"}}"#;
        std::fs::write(dir.path().join(MANIFEST), manifest).expect("manifest");
        let products =
            "query Products($page: Int!) { products(page: $page) { page } }\nmutation X { y }";
        std::fs::write(
            dir.path().join("components/product/0.1.0").join(FIRST_QUERIES),
            serde_json::json!([{"operationName": "Products", "query": products, "variables": {"page": 0}}]).to_string(),
        )
        .expect("product's first queries");
        let order = dir.path().join("components/order/0.1.0");
        std::fs::create_dir_all(&order).expect("order bundle");
        std::fs::write(
            order.join(FIRST_QUERIES),
            serde_json::json!([
                {"operationName": "MyPage", "query": "query MyPage($customerId: String) { myPage(customerId: $customerId) { orderId } }",
                 "variables": {"customerId": {"$mall": "customerId"}}},
                {"operationName": "Other", "query": "query Other($a: String) { x }",
                 "variables": {"a": {"$mall": "address"}}}
            ])
            .to_string(),
        )
        .expect("order's first queries");

        let accounts = Accounts::open();
        let signed_out = text(accounts.get(dir.path(), "/", None).await).await;
        let preloads = query_preloads(&signed_out);
        assert_eq!(preloads.len(), 1, "{signed_out}");
        let (operation, params) = &preloads[0];
        assert_eq!(operation, "Products");
        assert_eq!(params["query"], products);
        assert_eq!(params["operationName"], "Products");
        assert_eq!(params["variables"], r#"{"page":0}"#);
        // Fetched as wasm-bindgen's loader and the kit's GET fetch: CORS mode, same-origin
        // credentials (the session cookie rides along).
        assert!(
            signed_out.contains(&format!(
                r#"as="fetch" crossorigin {QUERY_MARK}="Products" {QUERY_VARIABLES}="{{&quot;page&quot;:0}}">"#
            )),
            "{signed_out}"
        );

        let cookie = accounts.sign_up("Ada").await;
        let signed_in = text(accounts.get(dir.path(), "/", Some(&cookie)).await).await;
        let preloads = query_preloads(&signed_in);
        let operations: Vec<&str> = preloads.iter().map(|(o, _)| o.as_str()).collect();
        // Only the signed-in customer's id stands for `$mall`; nothing else is made up.
        assert_eq!(operations, ["MyPage", "Products"], "{signed_in}");
        assert_eq!(
            preloads[0].1["variables"],
            r#"{"customerId":"ada@test.example"}"#
        );

        // A declaration that cannot be read preloads nothing; the page still loads.
        std::fs::write(order.join(FIRST_QUERIES), "[{not json").expect("broken");
        let response = accounts.get(dir.path(), "/", Some(&cookie)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = text(response).await;
        let operations: Vec<String> = query_preloads(&html).into_iter().map(|(o, _)| o).collect();
        assert_eq!(operations, ["Products"], "{html}");
        assert!(html.contains("order_component_bg.wasm"), "{html}");
    }

    #[test]
    fn the_shops_template_has_every_mark_the_document_fills_in() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend/index.html");
        let template = std::fs::read_to_string(&path).expect("frontend/index.html");
        for mark in [
            PRELOAD_MARK,
            MANIFEST_MARK,
            SESSION_MARK,
            ACCOUNT_NAME_MARK,
            SIGNED_IN_HIDDEN,
            NEEDS_ACCOUNT,
        ] {
            assert!(template.contains(mark), "{mark}");
        }
        assert_eq!(
            template.matches(SESSION_MARK).count(),
            1,
            "one inlined answer"
        );
    }

    #[tokio::test]
    async fn an_unbuilt_shop_says_what_to_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let response = get(dir.path(), "/").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(text(response).await.contains("cargo xtask build"));
    }

    #[tokio::test]
    async fn a_missing_bundle_is_a_404() {
        let dir = dist();
        let response = get(dir.path(), "/components/product/9.9.9/product_component.js").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
