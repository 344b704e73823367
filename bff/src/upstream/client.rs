//! One client per upstream: it reads the root document, follows `_links` (never a path it
//! was not given, except Spring Data REST's `<collection>/<id>` when an upstream advertises
//! no `findByIdIn` search), pages through collections, and keeps last-known-good copies of
//! the documents it read.
//!
//! Answers are read from their bytes straight into the caller's types ([`Document`] for the
//! HAL structure, then `T` for the items): the client hands out typed values, never JSON
//! trees.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use mall_auth::token::TokenIssuer;
use serde::de::DeserializeOwned;
use tower::{BoxError, ServiceExt};
use tracing::Instrument;

use crate::error::BffError;
use crate::request_context::RequestContext;
use crate::resilience::breaker::{Breaker, CircuitOpen, CircuitState};
use crate::stale::{Fetched, StaleCache};
use crate::upstream::call::{BodyTooLarge, ServerFailure, UpstreamRequest, UpstreamResponse};
use crate::upstream::hal::{Document, Link, Links, Var};
use crate::upstream::stack::UpstreamSettings;
use crate::upstream::stack::{self, Stack};
use crate::upstream::Upstream;

/// At most this many pages are followed when collecting a whole collection.
pub const MAX_PAGES: usize = 50;
/// The page size asked for when collecting (the largest the contract allows).
pub const COLLECT_PAGE_SIZE: &str = "1000";

/// See the module documentation.
#[derive(Debug)]
pub struct UpstreamClient {
    upstream: Upstream,
    root_url: String,
    settings: UpstreamSettings,
    stack: Stack,
    breaker: Breaker,
    root: Mutex<Option<Links>>,
    /// The searches each collection lists, by collection relation.
    searches: Mutex<HashMap<String, Links>>,
    /// The last answer read from each URL, as the upstream sent it (parsed again when
    /// recalled: a rare event, while every fresh read is remembered).
    documents: StaleCache<String, Bytes>,
    /// Signs the token each call carries for its caller.
    signer: Option<TokenIssuer>,
}

impl UpstreamClient {
    pub fn new(
        upstream: Upstream,
        root_url: &str,
        settings: UpstreamSettings,
        client: reqwest::Client,
        signer: Option<TokenIssuer>,
    ) -> Result<UpstreamClient, BffError> {
        url::Url::parse(root_url).map_err(|e| {
            BffError::Config(format!(
                "the {upstream} root URL `{root_url}` is not a URL: {e}"
            ))
        })?;
        let breaker = Breaker::new(settings.breaker.clone(), move |state: CircuitState| {
            tracing::warn!(%upstream, ?state, "circuit state changed");
            metrics::gauge!("bff_upstream_circuit_state", "upstream" => upstream.as_str())
                .set(state.gauge());
        });
        metrics::gauge!("bff_upstream_circuit_state", "upstream" => upstream.as_str())
            .set(CircuitState::Closed.gauge());
        let stack = stack::build(upstream, &settings, client, breaker.clone())?;
        let stale_bytes = settings.stale.bytes();
        Ok(UpstreamClient {
            upstream,
            root_url: root_url.trim_end_matches('/').to_owned() + "/",
            settings,
            stack,
            breaker,
            root: Mutex::new(None),
            searches: Mutex::new(HashMap::new()),
            documents: StaleCache::new(upstream, stale_bytes),
            signer,
        })
    }

    pub fn upstream(&self) -> Upstream {
        self.upstream
    }

    pub fn settings(&self) -> &UpstreamSettings {
        &self.settings
    }

    pub fn circuit_state(&self) -> CircuitState {
        self.breaker.state()
    }

    /// Whether the root document was read.
    pub fn is_discovered(&self) -> bool {
        lock(&self.root).is_some()
    }

    /// Reads the root document (again) and keeps its links.
    pub async fn discover(&self) -> Result<Links, BffError> {
        let url = self.root_url.clone();
        let body = self.fetch(&RequestContext::anonymous(), &url).await?;
        let links = self.document(&body)?.links(&url);
        *lock(&self.root) = Some(links.clone());
        Ok(links)
    }

    /// A link of the root document, reading it first if needed.
    pub async fn root_link(&self, rel: &str) -> Result<Link, BffError> {
        // Only the link asked for is copied out of the lock, not the whole root.
        let known = lock(&self.root)
            .as_ref()
            .map(|links| links.get(rel).cloned());
        let link = match known {
            Some(link) => link,
            None => self.discover().await?.get(rel).cloned(),
        };
        link.ok_or_else(|| {
            BffError::protocol(
                self.upstream,
                format!("its root document has no `{rel}` link"),
            )
        })
    }

    /// The search named `name` of the collection `rel`, if the upstream advertises it
    /// (through the collection's `search` link). The answer is remembered.
    pub async fn search(
        &self,
        ctx: &RequestContext,
        rel: &str,
        name: &str,
    ) -> Result<Option<Link>, BffError> {
        if let Some(links) = lock(&self.searches).get(rel) {
            return Ok(links.get(name).cloned());
        }
        let collection = self.root_link(rel).await?;
        let first = collection
            .expand(&[("size", Var::One("1".into()))])
            .map_err(|e| BffError::protocol(self.upstream, e))?;
        let body = self.fetch(ctx, &first).await?;
        let links = match self.document(&body)?.links(&first).get("search") {
            Some(search) => {
                let url = search
                    .expand(&[])
                    .map_err(|e| BffError::protocol(self.upstream, e))?;
                match self.fetch(ctx, &url).await {
                    Ok(listing) => self.document(&listing)?.links(&url),
                    // A repository without query methods answers its search listing 404
                    // (Spring Data REST): it has no searches.
                    Err(BffError::NotFound { .. }) => Links::default(),
                    Err(e) => return Err(e),
                }
            }
            None => Links::default(),
        };
        let found = links.get(name).cloned();
        lock(&self.searches).insert(rel.to_owned(), links);
        Ok(found)
    }

    /// Sends one request through the upstream's stack.
    pub async fn send(
        &self,
        ctx: &RequestContext,
        mut req: UpstreamRequest,
    ) -> Result<UpstreamResponse, BffError> {
        ctx.spend()?;
        if let Some(token) = self.token_for(ctx)? {
            req.headers.insert(http::header::AUTHORIZATION, token);
        }
        // Debug-level timestamps of each call (`RUST_LOG=mall_bff::upstream=debug`): where a
        // query's time goes between its levels (ARCHITECTURE.md, the BFF).
        let span = tracing::debug_span!("upstream", upstream = %self.upstream, url = %req.url);
        let started = std::time::Instant::now();
        tracing::debug!(parent: &span, "sent");
        let answer = self
            .stack
            .clone()
            .oneshot(req)
            .instrument(span.clone())
            .await;
        tracing::debug!(
            parent: &span,
            ms = started.elapsed().as_secs_f64() * 1e3,
            bytes = answer.as_ref().map_or(0, |a| a.body.len()),
            "answered"
        );
        answer.map_err(|e| self.classify(e))
    }

    /// `Authorization: Bearer` with a token signed for this call: the caller's subject and
    /// roles, audience = this upstream (DESIGN.md section 8). None for an anonymous caller
    /// or a BFF built without a signer (its upstreams then see every call as anonymous).
    fn token_for(&self, ctx: &RequestContext) -> Result<Option<HeaderValue>, BffError> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let token = signer
            .for_service(ctx.caller(), self.upstream.as_str())
            .map_err(|e| BffError::Internal(format!("cannot sign an upstream token: {e}")))?;
        token
            .map(|t| {
                HeaderValue::from_str(&format!("Bearer {t}"))
                    .map_err(|_| BffError::Internal("a signed token is not a header".into()))
            })
            .transpose()
    }

    fn classify(&self, e: BoxError) -> BffError {
        let upstream = self.upstream;
        if e.is::<CircuitOpen>() {
            return BffError::CircuitOpen { upstream };
        }
        if e.is::<tower::timeout::error::Elapsed>() {
            return BffError::UpstreamTimeout {
                upstream,
                timeout: self.settings.timeout,
            };
        }
        if let Some(too_large) = e.downcast_ref::<BodyTooLarge>() {
            return BffError::UpstreamInvalid {
                upstream,
                detail: format!(
                    "it is larger than {} bytes (resilience.upstreams.{upstream}.max_body_bytes)",
                    too_large.limit
                ),
            };
        }
        // What follows quotes the upstream (its 5xx body, its URL in transport errors): the
        // log gets it, the client a short reason.
        if let Some(f) = e.downcast_ref::<ServerFailure>() {
            tracing::warn!(%upstream, status = %f.status, body = %f.detail, "upstream failed");
            return BffError::UpstreamUnavailable {
                upstream,
                detail: format!("it answered {}", f.status),
            };
        }
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            if r.is_timeout() {
                return BffError::UpstreamTimeout {
                    upstream,
                    timeout: self.settings.timeout,
                };
            }
            let mut chain = r.to_string();
            let mut source = std::error::Error::source(r);
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::warn!(%upstream, error = %chain, "upstream call failed");
            let detail = if r.is_connect() {
                "it cannot be reached"
            } else if r.is_body() || r.is_decode() {
                "its answer broke off"
            } else {
                "the call failed"
            };
            return BffError::UpstreamUnavailable {
                upstream,
                detail: detail.to_owned(),
            };
        }
        tracing::warn!(%upstream, error = %e, "upstream call failed");
        BffError::UpstreamUnavailable {
            upstream,
            detail: "the call failed".to_owned(),
        }
    }

    /// A debug event with how long reading `bytes` of `url`'s answer into the model took
    /// (the bench's traces of where a query's time goes).
    fn trace_decoded(&self, url: &str, bytes: usize, started: std::time::Instant) {
        tracing::debug!(
            upstream = %self.upstream,
            url,
            bytes,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "decoded"
        );
    }

    /// The body of a 2xx answer, or a 4xx turned into the caller's error.
    pub fn read(&self, response: UpstreamResponse, what: &str) -> Result<Bytes, BffError> {
        let status = response.status;
        if status.is_success() {
            return Ok(response.body);
        }
        let detail = problem_detail(&response.body)
            .unwrap_or_else(|| format!("the {} service answered {status}", self.upstream));
        Err(if status == StatusCode::UNAUTHORIZED {
            // The service refused the token the BFF signed: keys or issuer out of step,
            // for the operators, not the client.
            tracing::warn!(upstream = %self.upstream, %detail, "the upstream refused the BFF's token");
            BffError::UpstreamUnavailable {
                upstream: self.upstream,
                detail: crate::error::DETAIL_IN_LOG.to_owned(),
            }
        } else if status == StatusCode::FORBIDDEN {
            BffError::Forbidden(detail)
        } else if status == StatusCode::NOT_FOUND {
            BffError::NotFound {
                upstream: Some(self.upstream),
                what: what.to_owned(),
            }
        } else if status.is_client_error() {
            BffError::BadUserInput {
                upstream: Some(self.upstream),
                message: detail,
            }
        } else {
            BffError::protocol(self.upstream, format!("unexpected status {status}"))
        })
    }

    /// `body` read as a HAL document (an answer that is not JSON is the upstream's failure).
    pub fn document<'a>(&self, body: &'a [u8]) -> Result<Document<'a>, BffError> {
        Document::parse(body).map_err(|e| BffError::protocol(self.upstream, e))
    }

    /// `body` read as one `T` (an answer that is not one is the upstream's failure).
    pub fn decode<T: DeserializeOwned>(&self, body: &[u8]) -> Result<T, BffError> {
        serde_json::from_slice(body).map_err(|e| BffError::protocol(self.upstream, e))
    }

    /// The `rel` items of a collection page read as `T` (items that are not one are the
    /// upstream's failure).
    pub fn items<T: DeserializeOwned>(
        &self,
        doc: &Document<'_>,
        rel: &str,
    ) -> Result<Vec<T>, BffError> {
        doc.items(rel)
            .map_err(|e| BffError::protocol(self.upstream, e))
    }

    /// GETs a document's body, without stale fallback (for callers that keep copies of their
    /// own). A 404 names no URL (clients never see upstream URLs): callers that know what
    /// was looked for say so.
    pub async fn fetch(&self, ctx: &RequestContext, url: &str) -> Result<Bytes, BffError> {
        let response = self.send(ctx, UpstreamRequest::get(url)).await?;
        self.read(
            response,
            &format!("the {} document asked for", self.upstream),
        )
    }

    /// GETs a document and reads it with `decode`; while the upstream fails (or answers
    /// what `decode` cannot read), the last copy of it that was read is served marked stale.
    /// The copies are the upstream's bytes, read again only when recalled.
    pub async fn get<T>(
        &self,
        ctx: &RequestContext,
        url: &str,
        decode: impl Fn(&[u8]) -> Result<T, BffError>,
    ) -> Result<Fetched<T>, BffError> {
        let what = format!("the {} document asked for", self.upstream);
        let fresh = match self.send(ctx, UpstreamRequest::get(url)).await {
            Ok(response) => self.read(response, &what).and_then(|body| {
                let started = std::time::Instant::now();
                let value = decode(&body)?;
                self.trace_decoded(url, body.len(), started);
                Ok((value, body))
            }),
            Err(e) => Err(e),
        };
        match fresh {
            Ok((value, body)) => {
                // A copy of exactly its length: the answer's buffer was reserved with room
                // to grow, which the cache's byte count would not see.
                self.documents
                    .remember(url.to_owned(), Bytes::copy_from_slice(&body));
                Ok(Fetched::fresh(value))
            }
            Err(e) => match self.documents.recall(&url.to_owned(), &e) {
                Some(copy) => copy.try_map(|body| decode(&body)),
                None => Err(e),
            },
        }
    }

    /// The last-known-good copies of whole documents, by URL.
    pub fn stale_documents(&self) -> &StaleCache<String, Bytes> {
        &self.documents
    }

    /// Every `rel` item of a collection, read as `T`, following `next` links from `url`;
    /// while the upstream fails, pages are served from their last copies.
    pub async fn collect<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        url: &str,
        rel: &str,
    ) -> Result<Fetched<Vec<T>>, BffError> {
        self.collect_pages(ctx, url, rel, Copies::Recall).await
    }

    async fn collect_pages<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        url: &str,
        rel: &str,
        copies: Copies,
    ) -> Result<Fetched<Vec<T>>, BffError> {
        let mut items = Vec::new();
        let mut stale = None;
        let mut next = Some(url.to_owned());
        let mut pages = 0;
        while let Some(url) = next.take() {
            let read = |body: &[u8]| -> Result<(Vec<T>, Option<String>), BffError> {
                let doc = self.document(body)?;
                let page = self.items(&doc, rel)?;
                Ok((page, next_page(&doc, &url)))
            };
            let page = match copies {
                Copies::Recall => self.get(ctx, &url, read).await?,
                Copies::Fresh => Fetched::fresh(read(&self.fetch(ctx, &url).await?)?),
            };
            stale = stale.or(page.stale);
            let (page_items, page_next) = page.value;
            if items.is_empty() {
                items = page_items;
            } else {
                items.extend(page_items);
            }
            pages += 1;
            if pages >= MAX_PAGES {
                break;
            }
            next = page_next;
        }
        Ok(Fetched {
            value: items,
            stale,
        })
    }

    /// GETs `url` and says what it answered, fresh (no stale copies: the caller keeps its
    /// own): one resource, a collection page of `rel` items (every page of it), or nothing
    /// (404), read as `T`. A link is followed to whatever it answers: Spring Data REST's
    /// association links (`/orders/1/delivery`) answer the resource itself, search links a
    /// page.
    pub async fn follow<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        url: &str,
        rel: &str,
    ) -> Result<Answer<T>, BffError> {
        let body = match self.fetch(ctx, url).await {
            Ok(body) => body,
            Err(BffError::NotFound { .. }) => return Ok(Answer::Missing),
            Err(e) => return Err(e),
        };
        let started = std::time::Instant::now();
        let doc = self.document(&body)?;
        if !doc.is_collection() {
            return self.decode(&body).map(Answer::Resource);
        }
        let mut items = self.items(&doc, rel)?;
        self.trace_decoded(url, body.len(), started);
        if let Some(next) = next_page(&doc, url) {
            items.extend(
                self.collect_pages::<T>(ctx, &next, rel, Copies::Fresh)
                    .await?
                    .value,
            );
        }
        Ok(Answer::Page(items))
    }

    /// The collection `rel`, every page of it.
    pub async fn collect_all<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        rel: &str,
    ) -> Result<Fetched<Vec<T>>, BffError> {
        let link = self.root_link(rel).await?;
        let url = link
            .expand(&[("size", Var::One(COLLECT_PAGE_SIZE.into()))])
            .map_err(|e| BffError::protocol(self.upstream, e))?;
        self.collect(ctx, &url, rel).await
    }

    /// Runs the search `name` of `rel` with `vars`, every page of the answer; `Ok(None)` when
    /// the upstream does not advertise that search.
    pub async fn run_search<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        rel: &str,
        name: &str,
        vars: &[(&str, Var)],
    ) -> Result<Option<Fetched<Vec<T>>>, BffError> {
        let Some(url) = self.search_url(ctx, rel, name, vars).await? else {
            return Ok(None);
        };
        self.collect(ctx, &url, rel).await.map(Some)
    }

    /// The URL of the search `name` of `rel` with `vars` (asking for the largest page when
    /// the search is paged); `Ok(None)` when the upstream does not advertise that search.
    pub async fn search_url(
        &self,
        ctx: &RequestContext,
        rel: &str,
        name: &str,
        vars: &[(&str, Var)],
    ) -> Result<Option<String>, BffError> {
        let Some(link) = self.search(ctx, rel, name).await? else {
            return Ok(None);
        };
        let mut vars = vars.to_vec();
        if link.has_var("size") {
            vars.push(("size", Var::One(COLLECT_PAGE_SIZE.into())));
        }
        link.expand(&vars)
            .map(Some)
            .map_err(|e| BffError::protocol(self.upstream, e))
    }

    /// Spring Data REST's URL of an item: `<collection>/<id>`.
    pub async fn item_url(&self, rel: &str, id: i64) -> Result<String, BffError> {
        let collection = self
            .root_link(rel)
            .await?
            .expand(&[])
            .map_err(|e| BffError::protocol(self.upstream, e))?;
        Ok(format!("{}/{id}", collection.trim_end_matches('/')))
    }

    /// One item of the collection `rel` by id, read as `T`: through `findByIdIn` when
    /// advertised, otherwise at `<collection>/<id>` as Spring Data REST lays items out.
    pub async fn item<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        rel: &str,
        id: i64,
        what: &str,
    ) -> Result<Fetched<T>, BffError> {
        let ids = Var::List(vec![id.to_string()]);
        if let Some(found) = self
            .run_search(ctx, rel, "findByIdIn", &[("ids", ids)])
            .await?
        {
            return found
                .map(|items| items.into_iter().next())
                .transpose_option()
                .ok_or_else(|| BffError::NotFound {
                    upstream: Some(self.upstream),
                    what: what.to_owned(),
                });
        }
        let url = self.item_url(rel, id).await?;
        self.get(ctx, &url, |body| self.decode(body))
            .await
            .map_err(|e| match e {
                BffError::NotFound { upstream, .. } => BffError::NotFound {
                    upstream,
                    what: what.to_owned(),
                },
                other => other,
            })
    }

    /// Sends a command (POST, PATCH, DELETE) with a JSON body and extra headers, and reads
    /// its answer as `T`; commands are never retried and never served from a stale copy.
    pub async fn command<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        method: Method,
        url: &str,
        body: Option<serde_json::Value>,
        headers: http::HeaderMap,
        what: &str,
    ) -> Result<T, BffError> {
        let response = self
            .send(
                ctx,
                UpstreamRequest {
                    method,
                    url: url.to_owned(),
                    headers,
                    body,
                },
            )
            .await?;
        let body = self.read(response, what)?;
        self.decode(&body)
    }
}

impl<T> Fetched<Option<T>> {
    /// `Some` when there is a value.
    pub fn transpose_option(self) -> Option<Fetched<T>> {
        let stale = self.stale;
        self.value.map(|value| Fetched { value, stale })
    }
}

/// What a followed link answered (see [`UpstreamClient::follow`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T> {
    /// One resource (an item, or what an association link points at).
    Resource(T),
    /// The items of a collection page (a search result), every page of it.
    Page(Vec<T>),
    /// 404: there is nothing at the link.
    Missing,
}

/// Whether a read serves the last copy of the same URL while the upstream fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copies {
    Recall,
    Fresh,
}

/// The `next` page of a collection page read from `url`, if there is one.
fn next_page(doc: &Document<'_>, url: &str) -> Option<String> {
    doc.links(url)
        .get("next")
        .map(|l| l.href.clone())
        .filter(|n| n != url)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Held only for map lookups; a poisoned lock still holds consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `detail` (or `title`) of an RFC 9457 problem document. (Read as a JSON tree: it is
/// an error's answer, not the path of every request.)
fn problem_detail(body: &[u8]) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    doc.get("detail")
        .or_else(|| doc.get("title"))
        .or_else(|| doc.get("message"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}
