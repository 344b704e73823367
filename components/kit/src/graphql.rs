//! The typed GraphQL HTTP client. Queries are `graphql_client` derives against
//! schema/schema.graphql, so a query that does not match the contract fails to compile. Only
//! the derive is used at run time: the request goes through the browser's `fetch` and
//! `JSON.parse`, and the answer is decoded by [`crate::js`] (serde_json and gloo-net made up
//! about a third of each bundle).

use graphql_client::GraphQLQuery;
use js_sys::Reflect;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit};

use crate::js;

/// Why a request gave no usable answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphQlError {
    #[error("the mall could not be reached ({0})")]
    Network(String),
    #[error("the mall answered HTTP {0}")]
    Http(u16),
    #[error("{}", .0.first().map(|e| e.message.as_str()).unwrap_or("the request failed"))]
    Errors(Vec<FieldError>),
}

impl GraphQlError {
    /// The first error's `extensions.code`, if the BFF gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphQlError::Errors(errors) => errors.iter().find_map(|e| e.code.as_deref()),
            _ => None,
        }
    }
}

/// One GraphQL error, with its stable `extensions.code` (UPSTREAM_TIMEOUT, CIRCUIT_OPEN, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub message: String,
    pub code: Option<String>,
    /// Whether the BFF answered last-known-good data marked stale.
    pub stale: bool,
}

/// Data (possibly partial) with the errors that came with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer<T> {
    pub data: Option<T>,
    pub errors: Vec<FieldError>,
}

impl<T> Answer<T> {
    /// The data, or the errors when there is none.
    pub fn into_result(self) -> Result<(T, Vec<FieldError>), GraphQlError> {
        match self.data {
            Some(data) => Ok((data, self.errors)),
            None => Err(GraphQlError::Errors(self.errors)),
        }
    }
}

#[derive(Deserialize)]
struct WireError {
    message: String,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct Extensions {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    stale: Option<bool>,
}

/// Decodes a GraphQL response (`{data, errors}` as the browser parsed it) into an [`Answer`].
/// Only `data` is decoded per query type; the envelope and the errors share one decoder.
pub(crate) fn decode<T: DeserializeOwned>(response: JsValue) -> Result<Answer<T>, js::Error> {
    let (data, errors) = envelope(&response)?;
    let data = if data.is_null() || data.is_undefined() {
        None
    } else {
        Some(js::from_js::<T>(data)?)
    };
    Ok(Answer { data, errors })
}

/// The response's `data` (undecoded) and its errors.
fn envelope(response: &JsValue) -> Result<(JsValue, Vec<FieldError>), js::Error> {
    if !response.is_object() {
        return Err(js::Error::UNEXPECTED);
    }
    let field = |name: &str| Reflect::get(response, &JsValue::from_str(name)).unwrap_or_default();
    let errors = js::from_js::<Option<Vec<WireError>>>(field("errors"))?
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            let (code, stale) = e
                .extensions
                .map(|x| (x.code, x.stale.unwrap_or(false)))
                .unwrap_or_default();
            FieldError {
                message: e.message,
                code,
                stale,
            }
        })
        .collect();
    Ok((field("data"), errors))
}

/// Sends the request `body` (`{query, operationName, variables}`) to `url`: the GET the
/// document preloaded for exactly this request (see [`preloaded`]), else a POST of it as
/// JSON; the status and the parsed JSON body (the browser parses it). One function for every
/// query type, so its code is in the bundle once.
async fn exchange(url: &str, body: &JsValue) -> Result<(u16, Result<JsValue, JsValue>), JsValue> {
    let request = match preloaded(body) {
        // As `fetch(url)` does by default (mode `cors`, credentials `same-origin`): what a
        // `<link rel="preload" as="fetch" crossorigin>` of the same URL fetched, so the
        // browser answers it with that preload's response.
        Some(href) => Request::new_with_str(&href)?,
        None => {
            let headers = Headers::new()?;
            headers.set("content-type", "application/json")?;
            let init = RequestInit::new();
            init.set_method("POST");
            init.set_headers(&headers);
            init.set_body(&js_sys::JSON::stringify(body)?.into());
            Request::new_with_str_and_init(url, &init)?
        }
    };
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await?
        .dyn_into()?;
    let json = JsFuture::from(response.json()?).await;
    Ok((response.status(), json))
}

/// The attribute that marks the document's preload of a component's first query, naming its
/// operation (the BFF renders it from the bundle's declared first queries).
pub const PRELOAD_MARK: &str = "data-mall-query";
/// The attribute of that preload giving its variables, as JSON text with the keys sorted.
pub const PRELOAD_VARIABLES: &str = "data-mall-variables";

/// The document's preload of this request, taken once: its URL, to GET. The BFF has the
/// browser fetch each mounted component's declared first queries with the document
/// (`<link rel="preload" as="fetch" crossorigin href="graphql?query=…&operationName=…&variables=…"
/// data-mall-query=OPERATION data-mall-variables=JSON>`), so the data arrives while the
/// bundle compiles. Its query is the text this bundle was built with (the build writes the
/// declaration from the same file); it is used only when its variables are this request's
/// (the same JSON text: the components' operations declare their variables in sorted order,
/// which `cargo xtask build` checks). The mark goes either way, so a refresh (or a Retry's
/// fresh instance) asks afresh.
fn preloaded(body: &JsValue) -> Option<String> {
    let field = |key: &str| Reflect::get(body, &JsValue::from_str(key)).ok();
    let operation = field("operationName")?.as_string()?;
    let document = web_sys::window()?.document()?;
    let mut selector = String::from("link[");
    selector.push_str(PRELOAD_MARK);
    selector.push_str("=\"");
    selector.push_str(&operation);
    selector.push_str("\"]");
    let link = document.query_selector(&selector).ok()??;
    let _ = link.remove_attribute(PRELOAD_MARK);
    let variables = js_sys::JSON::stringify(&field("variables")?).ok()?;
    (link.get_attribute(PRELOAD_VARIABLES) == variables.as_string())
        .then(|| link.get_attribute("href"))
        .flatten()
}

/// The `extensions.code` of an error that means "sign in first".
pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";

fn unauthenticated(error: &FieldError) -> bool {
    error.code.as_deref() == Some(UNAUTHENTICATED)
}

/// Announces `mall:session-ended`: the shell then shows the sign-in page instead of the
/// components that need a customer.
pub(crate) fn session_ended() {
    crate::events::emit(&crate::events::SessionEnded {});
}

/// Sends `Q` with `variables` to `url` and decodes the typed answer: a POST, or the GET the
/// document preloaded for exactly this request (see [`preloaded`]). The request carries the
/// page's session cookie (same origin); an `UNAUTHENTICATED` answer announces the session's end.
pub async fn send<Q: GraphQLQuery>(
    url: &str,
    variables: Q::Variables,
) -> Result<Answer<Q::ResponseData>, GraphQlError>
where
    Q::ResponseData: for<'de> Deserialize<'de>,
{
    let body =
        js::to_js(&Q::build_query(variables)).map_err(|e| GraphQlError::Network(e.to_string()))?;
    let (status, json) = exchange(url, &body)
        .await
        .map_err(|e| GraphQlError::Network(js::message(&e)))?;
    // GraphQL over HTTP may answer errors with a 4xx/5xx and a JSON body; prefer the body.
    let decoded = json
        .map_err(|e| js::message(&e))
        .and_then(|json| decode::<Q::ResponseData>(json).map_err(|e| e.to_string()));
    if status == 401
        || decoded
            .as_ref()
            .is_ok_and(|a| a.errors.iter().any(unauthenticated))
    {
        session_ended();
    }
    match decoded {
        Ok(answer) => Ok(answer),
        Err(_) if !(200..300).contains(&status) => Err(GraphQlError::Http(status)),
        Err(e) => Err(GraphQlError::Network(e)),
    }
}

/// Like [`send`], but an answer without data is an error.
pub async fn fetch<Q: GraphQLQuery>(
    url: &str,
    variables: Q::Variables,
) -> Result<Q::ResponseData, GraphQlError>
where
    Q::ResponseData: for<'de> Deserialize<'de>,
{
    send::<Q>(url, variables)
        .await?
        .into_result()
        .map(|(data, _)| data)
}
