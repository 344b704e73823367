//! Reading HAL documents the way Spring Data REST writes them, and expanding link templates
//! (RFC 6570, through `iri-string`).

use std::collections::BTreeMap;

use iri_string::spec::UriSpec;
use iri_string::template::simple_context::{SimpleContext, Value as TemplateValue};
use iri_string::template::UriTemplateStr;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One link of `_links`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Link {
    pub href: String,
    #[serde(default)]
    pub templated: bool,
}

/// A variable of a link template.
#[derive(Debug, Clone)]
pub enum Var {
    One(String),
    /// Expanded as a comma-separated list (`{?ids}` with `[1,2]` gives `?ids=1,2`).
    List(Vec<String>),
}

impl Link {
    /// Expands the template with `vars` (variables not given are left out, as RFC 6570
    /// says), or returns the href as it is when the link is not templated.
    pub fn expand(&self, vars: &[(&str, Var)]) -> Result<String, String> {
        if !self.templated {
            return Ok(self.href.clone());
        }
        let template = template(&self.href)?;
        let reserved = reserved_variables(&self.href);
        let mut context = SimpleContext::new();
        for (name, var) in vars {
            let given = |v: &String| {
                if reserved.contains(name) {
                    encode_non_ascii(v)
                } else {
                    v.clone()
                }
            };
            let value = match var {
                Var::One(v) => TemplateValue::String(given(v)),
                Var::List(vs) => TemplateValue::List(vs.iter().map(given).collect()),
            };
            context.insert(*name, value);
        }
        template
            .expand::<UriSpec, _>(&context)
            .map(|e| e.to_string())
            .map_err(|e| format!("cannot expand `{}`: {e}", self.href))
    }

    /// Whether the template has a variable of this name.
    pub fn has_var(&self, name: &str) -> bool {
        template(&self.href)
            .map(|t| t.variables().any(|v| v.as_str() == name))
            .unwrap_or(false)
    }
}

/// `href` read as an RFC 6570 template. A `%` must start a percent-encoded byte (`%HH`) and a
/// prefix modifier (`{var:N}`) has at most 4 digits (N < 10000), as the RFC says; both are
/// checked first because iri-string 0.7.14 panics on a `%` before a non-ASCII character and
/// on a prefix past 65535 instead of refusing the template.
fn template(href: &str) -> Result<&UriTemplateStr, String> {
    let long_prefix = expressions(href)
        .flat_map(|expression| expression.split(','))
        .filter_map(|varspec| varspec.split_once(':').map(|(_, prefix)| prefix))
        .any(|prefix| prefix.len() > 4);
    if long_prefix {
        return Err(format!(
            "bad link template `{href}`: a prefix modifier must be below 10000"
        ));
    }
    let bytes = href.as_bytes();
    let stray = bytes.iter().enumerate().any(|(i, b)| {
        *b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if stray {
        return Err(format!(
            "bad link template `{href}`: a `%` that does not start a percent-encoded byte"
        ));
    }
    UriTemplateStr::new(href).map_err(|e| format!("bad link template `{href}`: {e}"))
}

/// The expressions of a template: what stands between each `{` and its `}`.
fn expressions(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(expression, _)| expression))
}

/// The variables of a template's reserved expansions (`{+var}`, `{#var}`).
///
/// iri-string 0.7.14 panics expanding those when a value has a `%` (or a percent-encoded byte
/// that does not end a character) right before a non-ASCII character: it takes that
/// character for one byte. Both operators write a non-ASCII character as its UTF-8
/// percent-encoded bytes anyway, so [`Link::expand`] gives them their values already encoded
/// ([`encode_non_ascii`]): the same expansion, without the panic. (A variable that is also in
/// a simple expansion of the same template would be encoded twice there; Spring Data REST
/// writes only `{?…}` and `{&…}` templates.)
fn reserved_variables(template: &str) -> Vec<&str> {
    expressions(template)
        .filter_map(|e| e.strip_prefix('+').or_else(|| e.strip_prefix('#')))
        .flat_map(|names| names.split(','))
        .map(|name| name.split(':').next().unwrap_or(name).trim_end_matches('*'))
        .collect()
}

/// `value` with every non-ASCII character written as its UTF-8 bytes, percent-encoded.
fn encode_non_ascii(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// The `_links` of a document. HAL allows an array of links per relation; the first is used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links(pub BTreeMap<String, Link>);

impl Links {
    pub fn get(&self, rel: &str) -> Option<&Link> {
        self.0.get(rel)
    }

    /// The `_links` of `doc`, with relative hrefs resolved against `base`.
    pub fn of(doc: &Value, base: &str) -> Links {
        let mut links = doc
            .get("_links")
            .cloned()
            .and_then(|l| serde_json::from_value::<Links>(l).ok())
            .unwrap_or_default();
        for link in links.0.values_mut() {
            link.href = resolve(base, &link.href);
        }
        links
    }
}

impl<'de> Deserialize<'de> for Links {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(Link),
            Many(Vec<Link>),
        }
        let map = BTreeMap::<String, OneOrMany>::deserialize(d)?;
        Ok(Links(
            map.into_iter()
                .filter_map(|(rel, l)| match l {
                    OneOrMany::One(l) => Some((rel, l)),
                    OneOrMany::Many(ls) => ls.into_iter().next().map(|l| (rel, l)),
                })
                .collect(),
        ))
    }
}

/// Resolves a possibly relative href against the URL of the document it came from. Template
/// expressions are kept as they are.
pub fn resolve(base: &str, href: &str) -> String {
    if href.contains("://") {
        return href.to_owned();
    }
    match url::Url::parse(base) {
        Ok(b) if href.starts_with('/') => {
            let origin = b.origin().ascii_serialization();
            format!("{origin}{href}")
        }
        Ok(b) => b
            .join(href)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| href.to_owned()),
        Err(_) => href.to_owned(),
    }
}

/// The items embedded in a collection document: `_embedded.<rel>`, or when the relation is
/// named otherwise, the first array under `_embedded`. An empty collection may leave
/// `_embedded` out altogether.
pub fn embedded(doc: &Value, rel: &str) -> Vec<Value> {
    let Some(embedded) = doc.get("_embedded").and_then(Value::as_object) else {
        return vec![];
    };
    let list = embedded
        .get(rel)
        .or_else(|| embedded.values().find(|v| v.is_array()));
    match list {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => vec![],
    }
}

/// Whether `doc` is a collection page rather than one resource: it embeds items or has a
/// `page` block, or holds nothing but links (Spring Data REST may leave `_embedded` out of
/// an empty collection).
pub fn is_collection(doc: &Value) -> bool {
    let Some(obj) = doc.as_object() else {
        return false;
    };
    obj.contains_key("_embedded") || obj.contains_key("page") || obj.keys().all(|k| k == "_links")
}

/// The `page` block of a Spring Data REST collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PageInfo {
    pub size: i64,
    pub total_elements: i64,
    pub total_pages: i64,
    pub number: i64,
}

impl PageInfo {
    pub fn of(doc: &Value) -> Option<PageInfo> {
        doc.get("page")
            .cloned()
            .and_then(|p| serde_json::from_value(p).ok())
    }
}

/// Deserializes an item's `_links` (for `#[serde(deserialize_with)]` in the model types).
pub fn item_links<'de, D: Deserializer<'de>>(d: D) -> Result<Links, D::Error> {
    Option::<Links>::deserialize(d).map(Option::unwrap_or_default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_expand_as_rfc_6570_says() {
        let link = Link {
            href: "http://h:1/orders{?page,size,sort}".into(),
            templated: true,
        };
        assert_eq!(
            link.expand(&[("size", Var::One("1000".into()))])
                .expect("expands"),
            "http://h:1/orders?size=1000"
        );
        assert_eq!(link.expand(&[]).expect("expands"), "http://h:1/orders");
        let ids = Link {
            href: "http://h:1/products/search/findByIdIn{?ids}".into(),
            templated: true,
        };
        assert_eq!(
            ids.expand(&[("ids", Var::List(vec!["1".into(), "2".into()]))])
                .expect("expands"),
            "http://h:1/products/search/findByIdIn?ids=1,2"
        );
        let customer = Link {
            href: "http://h:1/orders/search/findByCustomerId{?customerId,page,size,sort}".into(),
            templated: true,
        };
        assert_eq!(
            customer
                .expand(&[("customerId", Var::One("1@uengine.org".into()))])
                .expect("expands"),
            "http://h:1/orders/search/findByCustomerId?customerId=1%40uengine.org"
        );
        assert!(customer.has_var("customerId"));
        assert!(!customer.has_var("ids"));
    }

    /// Found by the `link_template` fuzz target: iri-string panicked on `%` before a
    /// non-ASCII character in a reserved expansion (`fuzz/regressions/link_template/`).
    #[test]
    fn a_reserved_expansion_takes_a_percent_before_a_non_ascii_character() {
        let path = Link {
            href: "http://h:1/x/{+path}".into(),
            templated: true,
        };
        assert_eq!(
            path.expand(&[("path", Var::One("%é/a%C3b".into()))])
                .expect("expands"),
            "http://h:1/x/%25%C3%A9/a%C3b"
        );
        let fragment = Link {
            href: "http://h:1/x{#ids}".into(),
            templated: true,
        };
        assert_eq!(
            fragment
                .expand(&[("ids", Var::List(vec!["%1Ȝ".into(), "ü".into()]))])
                .expect("expands"),
            "http://h:1/x#%251%C8%9C,%C3%BC"
        );
        // Simple expansions are as before.
        let simple = Link {
            href: "http://h:1/x{?q}".into(),
            templated: true,
        };
        assert_eq!(
            simple
                .expand(&[("q", Var::One("%é".into()))])
                .expect("expands"),
            "http://h:1/x?q=%25%C3%A9"
        );
    }

    /// Found by the `link_template` and `hal_document` fuzz targets: iri-string panicked
    /// reading a template with `%` before a non-ASCII character, or with a prefix modifier
    /// past 65535 (`fuzz/regressions/`).
    #[test]
    fn a_template_with_a_stray_percent_is_refused() {
        for href in [
            "http://h:1/%é{?page}",
            "http://h:1/%4鎛",
            "http://h:1/100%{?page}",
            // Found by `hal_document`: a prefix past 65535 panicked.
            "http://h:1/d{?page:69405}",
        ] {
            let link = Link {
                href: href.into(),
                templated: true,
            };
            assert!(link.expand(&[]).is_err(), "{href}");
            assert!(!link.has_var("page"), "{href}");
        }
        let encoded = Link {
            href: "http://h:1/caf%C3%A9{?page}".into(),
            templated: true,
        };
        assert_eq!(
            encoded
                .expand(&[("page", Var::One("2".into()))])
                .expect("expands"),
            "http://h:1/caf%C3%A9?page=2"
        );
        assert!(encoded.has_var("page"));
    }

    #[test]
    fn links_may_be_arrays_and_relative() {
        let doc = json!({"_links": {
            "self": {"href": "/orders/1"},
            "alternate": [{"href": "http://x/a"}, {"href": "http://x/b"}]
        }});
        let links = Links::of(&doc, "http://h:1/orders?page=0");
        assert_eq!(links.get("self").expect("self").href, "http://h:1/orders/1");
        assert_eq!(links.get("alternate").expect("alt").href, "http://x/a");
    }

    #[test]
    fn embedded_items_are_found_by_rel_or_first_array() {
        let doc = json!({"_embedded": {"orderList": [{"id": 1}]}, "page": {"size": 20, "totalElements": 1, "totalPages": 1, "number": 0}});
        assert_eq!(embedded(&doc, "orders").len(), 1);
        assert_eq!(embedded(&json!({}), "orders").len(), 0);
        assert_eq!(PageInfo::of(&doc).expect("page").total_elements, 1);
    }

    #[test]
    fn a_page_is_told_from_a_resource() {
        assert!(is_collection(
            &json!({"_embedded": {"deliveries": []}, "_links": {}})
        ));
        assert!(is_collection(&json!({"_links": {"self": {"href": "/x"}}})));
        assert!(is_collection(&json!({"page": {"size": 20}})));
        assert!(!is_collection(&json!({"deliveryState": "DeliveryStarted",
                                       "_links": {"self": {"href": "/deliveries/1"}}})));
    }
}
