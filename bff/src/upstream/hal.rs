//! Reading HAL documents the way Spring Data REST writes them, and expanding link templates
//! (RFC 6570, through `iri-string`).
//!
//! A document is read straight from the upstream's bytes ([`Document`]): its top level is
//! scanned once, the `_links`, `_embedded` and `page` blocks are kept as slices of the body
//! and the items are deserialized from theirs directly into the model types. No
//! `serde_json::Value` tree is built, copied or dropped on the way.

use std::collections::BTreeMap;
use std::fmt;

use iri_string::spec::UriSpec;
use iri_string::template::simple_context::{SimpleContext, Value as TemplateValue};
use iri_string::template::UriTemplateStr;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

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

    /// These links with relative hrefs resolved against `base`.
    pub fn resolved(mut self, base: &str) -> Links {
        for link in self.0.values_mut() {
            link.href = resolve(base, &link.href);
        }
        self
    }
}

impl<'de> Deserialize<'de> for Links {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LinksVisitor;
        impl<'de> Visitor<'de> for LinksVisitor {
            type Value = Links;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("HAL links by relation")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Links, A::Error> {
                let mut links = BTreeMap::new();
                while let Some(rel) = map.next_key::<String>()? {
                    // A relation named twice: the last one counts (as in any JSON object).
                    match map.next_value::<FirstLink>()?.0 {
                        Some(link) => links.insert(rel, link),
                        None => links.remove(&rel),
                    };
                }
                Ok(Links(links))
            }
        }
        d.deserialize_map(LinksVisitor)
    }
}

/// One relation of `_links`: a link, or an array of links of which the first counts (an
/// empty array is no link). Read by hand rather than as an untagged enum, which would
/// buffer every link before trying each shape.
struct FirstLink(Option<Link>);

impl<'de> Deserialize<'de> for FirstLink {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FirstLinkVisitor;
        impl<'de> Visitor<'de> for FirstLinkVisitor {
            type Value = FirstLink;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a link or an array of links")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FirstLink, A::Error> {
                Link::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|l| FirstLink(Some(l)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstLink, A::Error> {
                let first = seq.next_element::<Link>()?;
                while seq.next_element::<Link>()?.is_some() {}
                Ok(FirstLink(first))
            }
        }
        d.deserialize_any(FirstLinkVisitor)
    }
}

/// One HAL document's top level, read from the upstream's bytes without building a tree:
/// the `_links`, `_embedded` and `page` blocks are kept as the body's own text (borrowed)
/// and read further only when asked for; every other field is skipped, only noted (it is
/// what tells a resource from a collection page). Parsing it checks the whole body is JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct Document<'a> {
    links: Option<&'a RawValue>,
    embedded: Option<&'a RawValue>,
    page: Option<&'a RawValue>,
    is_object: bool,
    /// Whether the object has a field besides `_links`.
    other_fields: bool,
}

impl<'a> Document<'a> {
    pub fn parse(body: &'a [u8]) -> Result<Document<'a>, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The document's `_links`, with relative hrefs resolved against `base` (the URL it came
    /// from). Links that cannot be read count as none.
    pub fn links(&self, base: &str) -> Links {
        self.links
            .and_then(|raw| serde_json::from_str::<Links>(raw.get()).ok())
            .unwrap_or_default()
            .resolved(base)
    }

    /// The `page` block of a Spring Data REST collection, when it has a readable one.
    pub fn page(&self) -> Option<PageInfo> {
        self.page
            .and_then(|raw| serde_json::from_str::<PageInfo>(raw.get()).ok())
    }

    /// Whether this is a collection page rather than one resource: it embeds items or has a
    /// `page` block, or holds nothing but links (Spring Data REST may leave `_embedded` out
    /// of an empty collection).
    pub fn is_collection(&self) -> bool {
        self.is_object && (self.embedded.is_some() || self.page.is_some() || !self.other_fields)
    }

    /// The items embedded in a collection page, read as `T`: `_embedded.<rel>`, or when the
    /// relation is named otherwise, the first array under `_embedded` (by name). An empty
    /// collection may leave `_embedded` out altogether. An item that is not a `T` is an
    /// error.
    pub fn items<T: DeserializeOwned>(&self, rel: &str) -> Result<Vec<T>, serde_json::Error> {
        let Some(raw) = self.embedded else {
            return Ok(vec![]);
        };
        let Ok(relations) = serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get()) else {
            return Ok(vec![]);
        };
        let list = relations
            .get(rel)
            .or_else(|| relations.values().find(|v| v.get().starts_with('[')))
            .map(|v| v.get());
        match list {
            Some(text) if text.starts_with('[') => serde_json::from_str(text),
            Some(text) if text.starts_with('{') => serde_json::from_str(text).map(|one| vec![one]),
            _ => Ok(vec![]),
        }
    }
}

impl<'de> Deserialize<'de> for Document<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DocumentVisitor)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document<'de>, A::Error> {
        let mut doc = Document {
            is_object: true,
            ..Document::default()
        };
        while let Some(key) = map.next_key::<TopField>()? {
            match key {
                TopField::Links => doc.links = Some(map.next_value()?),
                TopField::Embedded => doc.embedded = Some(map.next_value()?),
                TopField::Page => doc.page = Some(map.next_value()?),
                TopField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            doc.other_fields |= key != TopField::Links;
        }
        Ok(doc)
    }

    // Anything else is a document with no links and no items.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Document<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Document::default())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Document<'de>, E> {
        Ok(Document::default())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Document<'de>, E> {
        Ok(Document::default())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Document<'de>, E> {
        Ok(Document::default())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Document<'de>, E> {
        Ok(Document::default())
    }

    fn visit_str<E>(self, _: &str) -> Result<Document<'de>, E> {
        Ok(Document::default())
    }

    fn visit_unit<E>(self) -> Result<Document<'de>, E> {
        Ok(Document::default())
    }
}

/// The fields of a document's top level that the BFF reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TopField {
    Links,
    Embedded,
    Page,
    Other,
}

impl<'de> Deserialize<'de> for TopField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = TopField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<TopField, E> {
                Ok(match v {
                    "_links" => TopField::Links,
                    "_embedded" => TopField::Embedded,
                    "page" => TopField::Page,
                    _ => TopField::Other,
                })
            }
        }
        d.deserialize_identifier(FieldVisitor)
    }
}

/// An item read only for its `_links` (kept as the upstream wrote them and read when asked;
/// links that cannot be read count as none).
#[derive(Debug, Default, Deserialize)]
pub struct Linked {
    #[serde(rename = "_links", default)]
    links: Option<Box<RawValue>>,
}

impl Linked {
    /// The item's links, relative hrefs resolved against `base`.
    pub fn links(&self, base: &str) -> Links {
        self.links
            .as_ref()
            .and_then(|raw| serde_json::from_str::<Links>(raw.get()).ok())
            .unwrap_or_default()
            .resolved(base)
    }
}

/// The id at the end of a `self` link (`…/deliveries/7` gives 7): Spring Data REST items
/// carry their id only there.
pub fn id_of_self(links: &Links) -> Option<i64> {
    links
        .get("self")
        .and_then(|l| l.href.rsplit('/').next())
        .and_then(|s| s.parse().ok())
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

/// The `page` block of a Spring Data REST collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PageInfo {
    pub size: i64,
    pub total_elements: i64,
    pub total_pages: i64,
    pub number: i64,
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

    fn document(json: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&json).expect("serialises")
    }

    #[test]
    fn links_may_be_arrays_and_relative() {
        let body = document(json!({"_links": {
            "self": {"href": "/orders/1"},
            "alternate": [{"href": "http://x/a"}, {"href": "http://x/b"}],
            "none": []
        }}));
        let links = Document::parse(&body)
            .expect("parses")
            .links("http://h:1/orders?page=0");
        assert_eq!(links.get("self").expect("self").href, "http://h:1/orders/1");
        assert_eq!(links.get("alternate").expect("alt").href, "http://x/a");
        assert!(links.get("none").is_none());
        // Links that cannot be read are none, not an error.
        let body = document(json!({"_links": {"self": 5}, "page": "x"}));
        let doc = Document::parse(&body).expect("parses");
        assert_eq!(doc.links("http://h:1/"), Links::default());
        assert_eq!(doc.page(), None);
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        id: i64,
    }

    #[test]
    fn embedded_items_are_found_by_rel_or_first_array() {
        let body = document(
            json!({"_embedded": {"orderList": [{"id": 1}]}, "page": {"size": 20, "totalElements": 1, "totalPages": 1, "number": 0}}),
        );
        let doc = Document::parse(&body).expect("parses");
        assert_eq!(
            doc.items::<Item>("orders").expect("items"),
            vec![Item { id: 1 }]
        );
        assert_eq!(doc.page().expect("page").total_elements, 1);
        let empty = document(json!({}));
        let doc = Document::parse(&empty).expect("parses");
        assert!(doc.items::<Item>("orders").expect("items").is_empty());
        // One embedded object is one item; a relation that is neither is none.
        let one = document(json!({"_embedded": {"orders": {"id": 2}, "other": [{"id": 3}]}}));
        let doc = Document::parse(&one).expect("parses");
        assert_eq!(
            doc.items::<Item>("orders").expect("items"),
            vec![Item { id: 2 }]
        );
        let null = document(json!({"_embedded": {"orders": null, "other": [{"id": 3}]}}));
        let doc = Document::parse(&null).expect("parses");
        assert!(doc.items::<Item>("orders").expect("items").is_empty());
        // An item that is not one is an error.
        let bad = document(json!({"_embedded": {"orders": [{"id": "x"}]}}));
        let doc = Document::parse(&bad).expect("parses");
        assert!(doc.items::<Item>("orders").is_err());
    }

    #[test]
    fn a_page_is_told_from_a_resource() {
        let collection = |json| {
            let body = document(json);
            Document::parse(&body).expect("parses").is_collection()
        };
        assert!(collection(
            json!({"_embedded": {"deliveries": []}, "_links": {}})
        ));
        assert!(collection(json!({"_links": {"self": {"href": "/x"}}})));
        assert!(collection(json!({"page": {"size": 20}})));
        assert!(collection(json!({"_embedded": null, "deliveryState": "x"})));
        assert!(!collection(json!({"deliveryState": "DeliveryStarted",
                                   "_links": {"self": {"href": "/deliveries/1"}}})));
        assert!(!collection(json!([1, 2])));
        assert!(Document::parse(b"{\"a\": tru").is_err());
        assert!(Document::parse(b"{} x").is_err());
    }
}
