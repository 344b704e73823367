//! The OpenAPI 3.1 description of a service, served at `/v3/api-docs` (springdoc's path).
//!
//! Generated from the code, not written by hand: the reads of a service (root, profile,
//! collection, searches, item) come from its [`Resource`], exactly as `resource.rs` serves
//! them; its writes are declared in its `http.rs` next to the routes; the documents' fields
//! come from the Rust types (`utoipa::ToSchema` derives) that the handlers serialise and
//! deserialise, with the bounds their validation enforces. Problems share one schema
//! ([`crate::problem::Problem`]). The operations endpoints (`/healthz`, `/readyz`,
//! `/metrics`) are left out, as springdoc leaves out Spring Boot's actuator.

use std::collections::BTreeMap;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
    ParameterStyle, PathItem,
};
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, ArrayBuilder, ComponentsBuilder, ObjectBuilder, Schema,
    Type,
};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr,
    Required, ResponseBuilder, ResponsesBuilder, ServerBuilder,
};
use utoipa::ToSchema;

use crate::hal::{HAL_JSON, MAX_BATCH, MAX_ID, MAX_PAGE_SIZE};
use crate::problem::{Problem, PROBLEM_JSON};
use crate::resource::Resource;

/// The largest page number a listing accepts (see `hal::Paging`).
pub const MAX_PAGE: u64 = 1_000_000;

/// `GET /v3/api-docs`: the document as JSON.
pub fn serve(doc: OpenApi) -> Response {
    match to_json(&doc) {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => {
            crate::problem::AppError::Internal(format!("OpenAPI document: {e}")).into_response()
        }
    }
}

/// The document as JSON. utoipa 5 writes a link's fields in snake case (`operation_id`,
/// `request_body`, `operation_ref`); OpenAPI (and so every tool) reads them in camel case.
pub fn to_json(doc: &OpenApi) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(doc)?;
    let responses = value
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses")?.as_object_mut())
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(links) = response
            .get_mut("links")
            .and_then(serde_json::Value::as_object_mut)
        else {
            continue;
        };
        for link in links
            .values_mut()
            .filter_map(serde_json::Value::as_object_mut)
        {
            for (snake, camel) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = link.remove(snake) {
                    link.insert(camel.to_owned(), v);
                }
            }
        }
    }
    serde_json::to_string(&value)
}

/// One service's API, built from its resource, then its writes.
pub struct Api {
    resource: Resource,
    item: String,
    /// The operation ids of the writes, whose answers link to the item's operations.
    writes: Vec<String>,
    paths: BTreeMap<String, PathItem>,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl Api {
    /// The reads every Spring Data REST resource has, for items of type `T`.
    pub fn new<T: ToSchema>(resource: Resource) -> Api {
        let item = T::name().into_owned();
        let mut api = Api {
            resource,
            item: item.clone(),
            writes: Vec::new(),
            paths: BTreeMap::new(),
            schemas: Vec::new(),
        };
        api.schema::<T>();
        api.schema::<Problem>();
        let rel = resource.collection;
        api.schemas.push((
            format!("{item}Resource"),
            AllOfBuilder::new()
                .item(Ref::from_schema_name(&item))
                .item(
                    ObjectBuilder::new()
                        .property("_links", links(&["self", resource.item_rel], &[]))
                        .required("_links"),
                )
                .into(),
        ));
        api.schemas.push((
            format!("{item}Collection"),
            collection_schema(rel, &format!("{item}Resource")).into(),
        ));

        api.read(
            "/",
            "root",
            "The collections this service exports, as templated links",
            object_with_links(&[rel, "profile"]),
            vec![],
            &[],
        );
        api.read(
            "/profile",
            "profileIndex",
            "The ALPS profiles of the collections",
            object_with_links(&["self", rel]),
            vec![],
            &[],
        );
        api.read(
            &format!("/profile/{rel}"),
            "profile",
            "The ALPS description of the collection (Spring Data REST's `/profile`)",
            alps_schema(),
            vec![],
            &[],
        );
        api.read(
            &format!("/{rel}"),
            &format!("list{}", capitalised(rel)),
            "One page of the collection",
            Ref::from_schema_name(format!("{item}Collection")).into(),
            paging(resource.sortable),
            &[(400, "`page`, `size` or `sort` is not valid")],
        );
        let mut search_links = vec!["self"];
        search_links.extend(resource.searches.iter().map(|(name, _)| *name));
        api.read(
            &format!("/{rel}/search"),
            &format!("{rel}SearchIndex"),
            "The searches of the collection, as templated links",
            object_with_links(&search_links),
            vec![],
            &[],
        );
        for (name, template) in resource.searches {
            let params = template
                .split(',')
                .map(|p| search_param(p.trim(), resource.sortable))
                .collect();
            api.read(
                &format!("/{rel}/search/{name}"),
                &format!("{rel}{}", capitalised(name)),
                "The items that match, one page of them",
                Ref::from_schema_name(format!("{item}Collection")).into(),
                params,
                &[(400, "a parameter is missing or not valid")],
            );
        }
        api.read(
            &format!("/{rel}/{{id}}"),
            &format!("get{}", capitalised(resource.item_rel)),
            "One item",
            Ref::from_schema_name(format!("{item}Resource")).into(),
            vec![id_param()],
            &[
                (400, "the id is not a positive integer"),
                (404, "no item has this id"),
            ],
        );
        api
    }

    /// Registers `T`'s schema and those it refers to.
    fn schema<T: ToSchema>(&mut self) {
        self.schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(&mut self.schemas);
    }

    fn read(
        &mut self,
        path: &str,
        id: &str,
        summary: &str,
        body: RefOr<Schema>,
        params: Vec<Parameter>,
        problems: &[(u16, &str)],
    ) {
        let mut responses = ResponsesBuilder::new().response(
            "200",
            ResponseBuilder::new()
                .description(summary)
                .content(HAL_JSON, ContentBuilder::new().schema(Some(body)).build()),
        );
        for (status, why) in problems.iter().chain(CALLER_PROBLEMS) {
            responses = responses.response(status.to_string(), problem_response(why));
        }
        let op = OperationBuilder::new()
            .operation_id(Some(id))
            .summary(Some(summary))
            .tag(self.resource.collection)
            .parameters(Some(params))
            .responses(responses.build())
            .build();
        self.add(path, HttpMethod::Get, op);
    }

    /// A write: `method path` takes a JSON `B`, answers the item with one of `success`
    /// (201 carries `Location`), or one of `problems`.
    #[allow(clippy::too_many_arguments)]
    pub fn write<B: ToSchema>(
        mut self,
        method: HttpMethod,
        path: &str,
        id: &str,
        summary: &str,
        headers: Vec<Parameter>,
        success: &[(u16, &str)],
        problems: &[(u16, &str)],
    ) -> Api {
        self.schema::<B>();
        let body = RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(B::name())))
                    .build(),
            )
            .build();
        self.change(
            method,
            path,
            id,
            summary,
            headers,
            Some(body),
            success,
            problems,
        );
        self
    }

    /// A `DELETE` without a body, answering the item (as Spring Data REST's
    /// `return-body-on-delete`).
    pub fn delete(
        mut self,
        path: &str,
        id: &str,
        summary: &str,
        success: &[(u16, &str)],
        problems: &[(u16, &str)],
    ) -> Api {
        self.change(
            HttpMethod::Delete,
            path,
            id,
            summary,
            vec![],
            None,
            success,
            problems,
        );
        self
    }

    #[allow(clippy::too_many_arguments)]
    fn change(
        &mut self,
        method: HttpMethod,
        path: &str,
        id: &str,
        summary: &str,
        mut params: Vec<Parameter>,
        body: Option<RequestBody>,
        success: &[(u16, &str)],
        problems: &[(u16, &str)],
    ) {
        let item = Ref::from_schema_name(format!("{}Resource", self.item));
        let mut responses = ResponsesBuilder::new();
        for (status, why) in success {
            let mut response = ResponseBuilder::new().description(*why).content(
                HAL_JSON,
                ContentBuilder::new().schema(Some(item.clone())).build(),
            );
            if *status == 201 {
                response = response.header(
                    "Location",
                    HeaderBuilder::new()
                        .schema(string())
                        .description(Some("the URL of the new item"))
                        .build(),
                );
            }
            responses = responses.response(status.to_string(), response);
        }
        for (status, why) in problems.iter().chain(CALLER_PROBLEMS) {
            responses = responses.response(status.to_string(), problem_response(why));
        }
        if path.contains("{id}") {
            params.push(id_param());
        }
        self.writes.push(id.to_owned());
        let op = OperationBuilder::new()
            .operation_id(Some(id))
            .summary(Some(summary))
            .tag(self.resource.collection)
            .parameters(Some(params))
            .request_body(body)
            .responses(responses.build())
            .build();
        self.add(path, method, op);
    }

    fn add(&mut self, path: &str, method: HttpMethod, op: Operation) {
        match self.paths.get_mut(path) {
            Some(item) => item.merge_operations(PathItem::new(method, op)),
            None => {
                self.paths
                    .insert(path.to_owned(), PathItem::new(method, op));
            }
        }
    }

    /// Links from each write's successful answers (the item, which carries its `id`) to
    /// every operation on that item (`/{rel}/{id}`), so a client, or Schemathesis's stateful
    /// phase, can follow a placed order to reading and cancelling it.
    fn link_writes(&mut self) {
        let item_ops: Vec<String> = self
            .paths
            .iter_mut()
            .filter(|(path, _)| path.ends_with("/{id}"))
            .flat_map(|(_, item)| operations(item))
            .filter_map(|op| op.operation_id.clone())
            .collect();
        for op in self.paths.values_mut().flat_map(operations) {
            if !op
                .operation_id
                .as_ref()
                .is_some_and(|id| self.writes.contains(id))
            {
                continue;
            }
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if !status.starts_with('2') {
                    continue;
                }
                for target in &item_ops {
                    response.links.insert(
                        target.clone(),
                        RefOr::T(
                            LinkBuilder::new()
                                .operation_id(target.clone())
                                .parameter("id", "$response.body#/id")
                                .description("the item this answer is, by its `id`")
                                .build(),
                        ),
                    );
                }
            }
        }
    }

    /// The OpenAPI document, with `base` (the service's public URL) as its server.
    pub fn document(mut self, title: &str, base: &str) -> OpenApi {
        self.link_writes();
        let mut paths = PathsBuilder::new();
        for (path, item) in self.paths {
            paths = paths.path(path, item);
        }
        OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title(title)
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(
                        "A HAL REST service in the style of Spring Data REST. Errors are \
                         RFC 9457 problems (`application/problem+json`); a method a path does \
                         not take answers 405 with `Allow`; bodies are limited to 64 KiB (413). Callers prove who they are with \
                         `Authorization: Bearer`: a short-lived token the BFF signs for each \
                         call; without one only the catalogue answers.",
                    ))
                    .build(),
            )
            .servers(Some([ServerBuilder::new().url(base).build()]))
            .paths(paths.build())
            .components(Some(
                ComponentsBuilder::new()
                    .schemas_from_iter(self.schemas)
                    .build(),
            ))
            .build()
    }
}

/// The operations of a path, whatever their method.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// What any operation may answer about its caller (see [`crate::access`]): the catalogue
/// answers anyone, but a token that fails its checks is refused everywhere.
const CALLER_PROBLEMS: &[(u16, &str)] = &[
    (
        401,
        "no bearer token where one is needed, or one that was refused: call through the BFF, \
         which signs a token for each call",
    ),
    (
        403,
        "the caller may not do this (another customer's rows, or a staff action)",
    ),
    (
        503,
        "the caller's token cannot be checked now (the BFF's keys are out of reach)",
    ),
];

fn problem_response(why: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(why)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(Problem::name())))
                .build(),
        )
        .build()
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn integer(min: i64, max: i64) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min as f64))
        .maximum(Some(max as f64))
}

fn link() -> ObjectBuilder {
    ObjectBuilder::new()
        .property("href", string())
        .property("templated", ObjectBuilder::new().schema_type(Type::Boolean))
        .required("href")
}

fn links(required: &[&str], optional: &[&str]) -> ObjectBuilder {
    let mut o = ObjectBuilder::new().schema_type(Type::Object);
    for rel in required {
        o = o.property(*rel, link()).required(*rel);
    }
    for rel in optional {
        o = o.property(*rel, link());
    }
    o
}

fn object_with_links(required: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .property("_links", links(required, &[]))
        .required("_links")
        .into()
}

fn alps_schema() -> RefOr<Schema> {
    let descriptor = ObjectBuilder::new()
        .property("id", string())
        .property("href", string())
        .required("id");
    ObjectBuilder::new()
        .property(
            "alps",
            ObjectBuilder::new()
                .property("version", string())
                .property("descriptor", ArrayBuilder::new().items(descriptor))
                .required("version")
                .required("descriptor"),
        )
        .property("_links", links(&["self"], &[]))
        .required("alps")
        .into()
}

fn collection_schema(rel: &str, item: &str) -> ObjectBuilder {
    let count = || integer(0, i64::MAX).format(None);
    ObjectBuilder::new()
        .property(
            "_embedded",
            ObjectBuilder::new()
                .property(
                    rel,
                    ArrayBuilder::new()
                        .items(Ref::from_schema_name(item))
                        .max_items(Some(MAX_PAGE_SIZE as usize)),
                )
                .required(rel)
                .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false))),
        )
        .property(
            "_links",
            links(
                &["first", "self", "last", "profile"],
                &["prev", "next", "search"],
            ),
        )
        .property(
            "page",
            ObjectBuilder::new()
                .property("size", integer(1, MAX_PAGE_SIZE as i64))
                .property("totalElements", count())
                .property("totalPages", count())
                .property("number", integer(0, MAX_PAGE as i64))
                .required("size")
                .required("totalElements")
                .required("totalPages")
                .required("number"),
        )
        .required("_embedded")
        .required("_links")
        .required("page")
}

fn query(name: &str, required: bool, schema: impl Into<RefOr<Schema>>, about: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(about))
        .schema(Some(schema))
        .build()
}

fn paging(sortable: &[&str]) -> Vec<Parameter> {
    ["page", "size", "sort"]
        .into_iter()
        .map(|p| search_param(p, sortable))
        .collect()
}

fn id_param() -> Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some("the item's id, a positive integer"))
        .schema(Some(integer(1, MAX_ID).format(Some(
            utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64),
        ))))
        .build()
}

/// A search's query parameter, typed by the naming convention the handlers follow:
/// `ids` and `…Ids` are id lists, `customerId` is text, other `…Id` are ids.
fn search_param(name: &str, sortable: &[&str]) -> Parameter {
    match name {
        "page" => query(
            name,
            false,
            integer(0, MAX_PAGE as i64),
            "zero-based page number",
        ),
        "size" => query(
            name,
            false,
            integer(1, MAX_PAGE_SIZE as i64),
            "items per page (default 20)",
        ),
        "sort" => query(
            name,
            false,
            string().pattern(Some(format!(
                "^({})(,([aA][sS][cC]|[dD][eE][sS][cC]))?$",
                sortable.join("|")
            ))),
            "`field` or `field,desc` (or `,asc`), by one of the sortable fields",
        ),
        "customerId" => query(
            name,
            true,
            crate::domain_error::text_schema(200),
            "the customer's id",
        ),
        n if n == "ids" || n.ends_with("Ids") => {
            let mut p = query(
                n,
                true,
                ArrayBuilder::new()
                    .items(integer(1, MAX_ID))
                    .min_items(Some(1))
                    .max_items(Some(MAX_BATCH)),
                "ids, comma-separated (`1,2,3`)",
            );
            p.style = Some(ParameterStyle::Form);
            p.explode = Some(false);
            p
        }
        n => query(n, true, integer(1, MAX_ID), "an id, a positive integer"),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    fn document(api: super::Api) -> Value {
        serde_json::from_str(
            &super::to_json(&api.document("t", "http://h:1")).expect("the document is JSON"),
        )
        .expect("the document reads back")
    }

    /// Schemathesis's stateful phase (and any client generator) follows these links.
    #[test]
    fn a_placed_order_links_to_reading_and_cancelling_it() {
        let doc = document(crate::order::http::api());
        let by_id = json!({"id": "$response.body#/id"});
        for status in ["201", "200"] {
            let links = &doc["paths"]["/orders"]["post"]["responses"][status]["links"];
            for target in ["getOrder", "cancelOrder"] {
                assert_eq!(links[target]["operationId"], target, "{status} {target}");
                assert_eq!(links[target]["parameters"], by_id);
            }
        }
        let cancelled = &doc["paths"]["/orders/{id}"]["delete"]["responses"]["200"]["links"];
        assert_eq!(cancelled["getOrder"]["parameters"], by_id);
        // Problems link nowhere.
        assert!(doc["paths"]["/orders"]["post"]["responses"]["409"]
            .get("links")
            .is_none());
        let completed = document(crate::delivery::http::api());
        assert_eq!(
            completed["paths"]["/deliveries/{id}"]["patch"]["responses"]["200"]["links"]
                ["getDelivery"]["operationId"],
            "getDelivery"
        );
    }
}
