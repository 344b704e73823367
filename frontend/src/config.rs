//! The shell's configuration, read from the page: `<meta name="mall:graphql">`,
//! `<meta name="mall:graphql-ws">` (paths or URLs, resolved against the page), and the optional
//! `?loadTimeout=<ms>` page parameter.

use alloc::borrow::ToOwned;
use alloc::string::String;

use web_sys::Url;

use crate::text::concat;

const DEFAULT_GRAPHQL: &str = "/graphql";
const DEFAULT_GRAPHQL_WS: &str = "/graphql/ws";
/// How long a component may take to import, initialise and mount before its slot gives up.
pub const DEFAULT_LOAD_TIMEOUT_MS: u32 = 8_000;

/// Where the components find the BFF, and how patient the loader is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub graphql_url: String,
    pub graphql_ws_url: String,
    pub load_timeout_ms: u32,
}

fn meta(name: &str) -> Option<String> {
    let document = web_sys::window()?.document()?;
    let selector = concat(&["meta[name=\"", name, "\"]"]);
    document
        .query_selector(&selector)
        .ok()??
        .get_attribute("content")
}

/// Resolves `path` against the page's URL.
pub fn absolute(path: &str) -> String {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .unwrap_or_default();
    Url::new_with_base(path, &base)
        .map(|u| u.href())
        .unwrap_or_else(|_| path.to_owned())
}

impl Config {
    /// Reads the configuration from the current page.
    pub fn from_page() -> Self {
        let graphql_url = absolute(&meta("mall:graphql").unwrap_or_else(|| DEFAULT_GRAPHQL.into()));
        let ws = absolute(&meta("mall:graphql-ws").unwrap_or_else(|| DEFAULT_GRAPHQL_WS.into()));
        let graphql_ws_url = if let Some(rest) = ws.strip_prefix("https://") {
            concat(&["wss://", rest])
        } else if let Some(rest) = ws.strip_prefix("http://") {
            concat(&["ws://", rest])
        } else {
            ws
        };
        let load_timeout_ms = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
            .and_then(|params| params.get("loadTimeout"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_LOAD_TIMEOUT_MS);
        Config {
            graphql_url,
            graphql_ws_url,
            load_timeout_ms,
        }
    }
}
