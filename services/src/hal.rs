//! HAL documents in the Spring Data REST style: links, collections, pages, query parameters.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::problem::AppError;
use crate::store::Sort;

pub const HAL_JSON: &str = "application/hal+json";
pub const MAX_PAGE_SIZE: u64 = 1000;
pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_BATCH: usize = 1000;
/// The largest id a service takes (JavaScript's largest safe integer: every client can hold
/// it exactly); the OpenAPI documents say so.
pub const MAX_ID: i64 = 9_007_199_254_740_991;

/// A `application/hal+json` response.
pub struct Hal(pub Value);

impl IntoResponse for Hal {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, HAL_JSON)], self.0.to_string()).into_response()
    }
}

/// A `application/hal+json` response already written out: a listing, whose items' stored
/// text is spliced in without being parsed into `Value` trees and printed again.
pub struct HalText(pub Vec<u8>);

impl IntoResponse for HalText {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, HAL_JSON)], self.0).into_response()
    }
}

pub fn link(href: impl Into<String>) -> Value {
    json!({ "href": href.into() })
}

pub fn templated(href: impl Into<String>) -> Value {
    json!({ "href": href.into(), "templated": true })
}

/// The query string as ordered pairs (repeated names allowed: `?ids=1&ids=2`).
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Params {
        Params(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A required, non-empty parameter.
    pub fn require(&self, name: &str) -> Result<&str, AppError> {
        match self.get(name).map(str::trim) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(AppError::BadRequest(format!(
                "query parameter `{name}` is required"
            ))),
        }
    }

    /// A required positive integer id.
    pub fn require_id(&self, name: &str) -> Result<i64, AppError> {
        match self.get(name) {
            Some(raw) if !raw.is_empty() => parse_id(raw, name),
            _ => Err(AppError::BadRequest(format!(
                "query parameter `{name}` is required"
            ))),
        }
    }

    /// A required text parameter, held to the rule of the text fields it is compared with
    /// (`domain_error::require_text`), trimmed.
    pub fn require_text(&self, name: &str, max: usize) -> Result<&str, AppError> {
        let raw = self.get(name).unwrap_or_default();
        crate::domain_error::require_text(name, raw, max)?;
        Ok(raw.trim())
    }

    /// A list of ids, given comma-separated and/or repeated.
    pub fn ids(&self, name: &str) -> Result<Vec<i64>, AppError> {
        let mut out = Vec::new();
        for (_, v) in self.0.iter().filter(|(k, _)| k == name) {
            for part in v.split(',') {
                out.push(parse_id(part, name)?);
            }
        }
        if out.is_empty() {
            return Err(AppError::BadRequest(format!(
                "query parameter `{name}` needs at least one id (e.g. `?{name}=1,2`)"
            )));
        }
        if out.len() > MAX_BATCH {
            return Err(AppError::BadRequest(format!(
                "query parameter `{name}` takes at most {MAX_BATCH} ids"
            )));
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

/// A whole number written with digits only: no sign, no spaces, as the OpenAPI document
/// describes it (Rust's own parser also takes `+5`).
fn digits<T: std::str::FromStr>(raw: &str) -> Option<T> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

pub fn parse_id(raw: &str, what: &str) -> Result<i64, AppError> {
    match digits::<i64>(raw) {
        Some(id) if (1..=MAX_ID).contains(&id) => Ok(id),
        _ => Err(AppError::BadRequest(format!(
            "`{what}` must be a positive integer id (at most {MAX_ID}), got `{raw}`"
        ))),
    }
}

/// Validated paging: `page` (zero-based), `size` and `sort` (`field` or `field,desc`).
#[derive(Debug, Clone)]
pub struct Paging {
    pub page: u64,
    pub size: u64,
    pub sort: Option<Sort>,
    raw_sort: Option<String>,
}

impl Paging {
    pub fn from_params(params: &Params, sortable: &[&str]) -> Result<Paging, AppError> {
        let page = match params.get("page") {
            None => 0,
            Some(p) => digits::<u64>(p)
                .filter(|p| *p <= 1_000_000)
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "`page` must be a whole number from 0 to 1000000, got `{p}`"
                    ))
                })?,
        };
        let size = match params.get("size") {
            None => DEFAULT_PAGE_SIZE,
            Some(s) => digits::<u64>(s)
                .filter(|s| (1..=MAX_PAGE_SIZE).contains(s))
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "`size` must be a whole number from 1 to {MAX_PAGE_SIZE}, got `{s}`"
                    ))
                })?,
        };
        let sort = match params.get("sort") {
            None => None,
            Some(raw) => {
                let mut parts = raw.split(',');
                let field = parts.next().unwrap_or_default();
                if !sortable.contains(&field) {
                    return Err(AppError::BadRequest(format!(
                        "cannot sort by `{field}`; sortable fields are: {}",
                        sortable.join(", ")
                    )));
                }
                let descending = match parts.next() {
                    None => false,
                    Some(d) if d.eq_ignore_ascii_case("asc") => false,
                    Some(d) if d.eq_ignore_ascii_case("desc") => true,
                    Some(d) => {
                        return Err(AppError::BadRequest(format!(
                            "sort direction must be `asc` or `desc`, got `{d}`"
                        )))
                    }
                };
                if parts.next().is_some() {
                    return Err(AppError::BadRequest(format!(
                        "`sort` is `field` or `field,desc`, got `{raw}`"
                    )));
                }
                Some(Sort {
                    field: field.to_owned(),
                    descending,
                })
            }
        };
        Ok(Paging {
            page,
            size,
            sort,
            raw_sort: params.get("sort").map(str::to_owned),
        })
    }
}

/// Writes a collection document with `_embedded`, `page` and the paging links; `items`
/// writes the embedded items, comma-separated, between the array's brackets.
///
/// `href` is the absolute URL of the listing without paging parameters (it may carry a
/// query of its own, e.g. a search's `?customerId=…`).
pub fn collection<E>(
    rel: &str,
    href: &str,
    profile: &str,
    search: Option<&str>,
    paging: &Paging,
    total: u64,
    items: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<Vec<u8>, E> {
    let total_pages = total.div_ceil(paging.size);
    let page_href = |n: u64| {
        let sep = if href.contains('?') { '&' } else { '?' };
        let mut h = format!("{href}{sep}page={n}&size={}", paging.size);
        if let Some(s) = &paging.raw_sort {
            h.push_str("&sort=");
            h.push_str(&url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>());
        }
        h
    };
    let mut links = Map::new();
    links.insert("first".into(), link(page_href(0)));
    if paging.page > 0 {
        links.insert(
            "prev".into(),
            link(page_href(
                (paging.page - 1).min(total_pages.saturating_sub(1)),
            )),
        );
    }
    links.insert("self".into(), link(page_href(paging.page)));
    if paging.page + 1 < total_pages {
        links.insert("next".into(), link(page_href(paging.page + 1)));
    }
    links.insert(
        "last".into(),
        link(page_href(total_pages.saturating_sub(1))),
    );
    links.insert("profile".into(), link(profile));
    if let Some(search) = search {
        links.insert("search".into(), link(search));
    }
    let page = json!({
        "size": paging.size,
        "totalElements": total,
        "totalPages": total_pages,
        "number": paging.page,
    });
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"_embedded\":{");
    json_string(&mut out, rel);
    out.extend_from_slice(b":[");
    items(&mut out)?;
    out.extend_from_slice(b"]},\"_links\":");
    write_json(&mut out, &Value::Object(links));
    out.extend_from_slice(b",\"page\":");
    write_json(&mut out, &page);
    out.push(b'}');
    Ok(out)
}

/// `s` written as a JSON string.
pub fn json_string(out: &mut Vec<u8>, s: &str) {
    write_json(out, s);
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Writing into a Vec cannot fail, and strings and trees always serialise.
    let _ = serde_json::to_writer(&mut *out, v);
}

/// Adds `_links` to an item document.
pub fn with_links(mut doc: Value, links: Vec<(&str, Value)>) -> Value {
    if let Value::Object(map) = &mut doc {
        let links: Map<String, Value> = links.into_iter().map(|(k, v)| (k.into(), v)).collect();
        map.insert("_links".into(), Value::Object(links));
    }
    doc
}

/// `v` as a JSON document (a resource's state before its links are added).
pub fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, AppError> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.to_string()))
}

/// `s` percent-encoded for a query string (a customer id in a search link).
pub fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Ids as a search link writes them: `1,2,3`.
pub fn join(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_links_follow_spring_data_rest() {
        let params = Params::parse(Some("page=1&size=2&sort=price,desc"));
        let paging = Paging::from_params(&params, &["price"]).expect("valid");
        let doc = collection(
            "products",
            "http://h/products",
            "http://h/profile/products",
            Some("http://h/products/search"),
            &paging,
            5,
            |_| Ok::<_, ()>(()),
        )
        .expect("written");
        let doc: Value = serde_json::from_slice(&doc).expect("a JSON document");
        assert_eq!(doc["page"]["totalPages"], 3);
        assert_eq!(
            doc["_links"]["next"]["href"],
            "http://h/products?page=2&size=2&sort=price%2Cdesc"
        );
        assert!(doc["_links"]["prev"].is_object());
        assert!(doc["_embedded"]["products"].is_array());
    }

    #[test]
    fn bad_paging_is_explained() {
        for q in [
            "page=-1",
            "size=0",
            "size=5000",
            "page=x",
            "sort=nope",
            "sort=price,up",
            "sort=price,desc,id",
            "page=+1",
            "size= 5",
        ] {
            let err = Paging::from_params(&Params::parse(Some(q)), &["price"]).expect_err(q);
            assert!(matches!(err, AppError::BadRequest(_)), "{q}");
        }
    }
}
