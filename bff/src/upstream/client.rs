//! One client per upstream: it reads the root document, follows `_links` (never a path it
//! was not given, except Spring Data REST's `<collection>/<id>` when an upstream advertises
//! no `findByIdIn` search), pages through collections, and keeps last-known-good copies of
//! the documents it read.

use std::collections::HashMap;
use std::sync::Mutex;

use http::{Method, StatusCode};
use serde_json::Value;
use tower::{BoxError, ServiceExt};

use crate::config::UpstreamSettings;
use crate::error::BffError;
use crate::resilience::breaker::{Breaker, CircuitOpen, CircuitState};
use crate::stale::{Fetched, StaleCache};
use crate::upstream::hal::{self, Link, Links, Var};
use crate::upstream::stack::{self, ServerFailure, Stack, UpstreamRequest, UpstreamResponse};
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
    documents: StaleCache<String, Value>,
}

impl UpstreamClient {
    pub fn new(
        upstream: Upstream,
        root_url: &str,
        settings: UpstreamSettings,
        client: reqwest::Client,
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
        let capacity = if settings.stale.enabled {
            settings.stale.capacity
        } else {
            0
        };
        Ok(UpstreamClient {
            upstream,
            root_url: root_url.trim_end_matches('/').to_owned() + "/",
            settings,
            stack,
            breaker,
            root: Mutex::new(None),
            searches: Mutex::new(HashMap::new()),
            documents: StaleCache::new(upstream, capacity),
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
        let doc = self.fetch(&url).await?;
        let links = Links::of(&doc, &url);
        *lock(&self.root) = Some(links.clone());
        Ok(links)
    }

    /// A link of the root document, reading it first if needed.
    pub async fn root_link(&self, rel: &str) -> Result<Link, BffError> {
        let known = lock(&self.root).clone();
        let links = match known {
            Some(l) => l,
            None => self.discover().await?,
        };
        links.get(rel).cloned().ok_or_else(|| {
            BffError::protocol(
                self.upstream,
                format!("its root document has no `{rel}` link"),
            )
        })
    }

    /// The search named `name` of the collection `rel`, if the upstream advertises it
    /// (through the collection's `search` link). The answer is remembered.
    pub async fn search(&self, rel: &str, name: &str) -> Result<Option<Link>, BffError> {
        if let Some(links) = lock(&self.searches).get(rel) {
            return Ok(links.get(name).cloned());
        }
        let collection = self.root_link(rel).await?;
        let first = collection
            .expand(&[("size", Var::One("1".into()))])
            .map_err(|e| BffError::protocol(self.upstream, e))?;
        let doc = self.fetch(&first).await?;
        let links = match Links::of(&doc, &first).get("search") {
            Some(search) => {
                let url = search
                    .expand(&[])
                    .map_err(|e| BffError::protocol(self.upstream, e))?;
                Links::of(&self.fetch(&url).await?, &url)
            }
            None => Links::default(),
        };
        let found = links.get(name).cloned();
        lock(&self.searches).insert(rel.to_owned(), links);
        Ok(found)
    }

    /// Sends one request through the upstream's stack.
    pub async fn send(&self, req: UpstreamRequest) -> Result<UpstreamResponse, BffError> {
        self.stack
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| self.classify(e))
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
        if let Some(f) = e.downcast_ref::<ServerFailure>() {
            return BffError::UpstreamUnavailable {
                upstream,
                detail: f.to_string(),
            };
        }
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            if r.is_timeout() {
                return BffError::UpstreamTimeout {
                    upstream,
                    timeout: self.settings.timeout,
                };
            }
            let mut detail = r.to_string();
            let mut source = std::error::Error::source(r);
            while let Some(s) = source {
                detail.push_str(": ");
                detail.push_str(&s.to_string());
                source = s.source();
            }
            return BffError::UpstreamUnavailable { upstream, detail };
        }
        BffError::UpstreamUnavailable {
            upstream,
            detail: e.to_string(),
        }
    }

    /// Reads a 2xx JSON answer, or turns a 4xx into the caller's error.
    pub fn read(&self, response: &UpstreamResponse, what: &str) -> Result<Value, BffError> {
        let status = response.status;
        if status.is_success() {
            return serde_json::from_slice(&response.body)
                .map_err(|e| BffError::protocol(self.upstream, e));
        }
        let detail = problem_detail(&response.body)
            .unwrap_or_else(|| format!("the {} service answered {status}", self.upstream));
        Err(if status == StatusCode::NOT_FOUND {
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

    /// GETs a document, without stale fallback.
    async fn fetch(&self, url: &str) -> Result<Value, BffError> {
        let response = self.send(UpstreamRequest::get(url)).await?;
        self.read(&response, url)
    }

    /// GETs a document; while the upstream fails, the last copy of it is served marked stale.
    pub async fn get(&self, url: &str) -> Result<Fetched<Value>, BffError> {
        match self.fetch(url).await {
            Ok(doc) => {
                self.documents.remember(url.to_owned(), doc.clone());
                Ok(Fetched::fresh(doc))
            }
            Err(e) => self.documents.recall(&url.to_owned(), &e).ok_or(e),
        }
    }

    /// Every item of a collection, following `next` links from `url`.
    pub async fn collect(&self, url: &str, rel: &str) -> Result<Fetched<Vec<Value>>, BffError> {
        let mut items = Vec::new();
        let mut stale = None;
        let mut next = Some(url.to_owned());
        let mut pages = 0;
        while let Some(url) = next.take() {
            let page = self.get(&url).await?;
            stale = stale.or(page.stale);
            items.extend(hal::embedded(&page.value, rel));
            pages += 1;
            if pages >= MAX_PAGES {
                break;
            }
            next = Links::of(&page.value, &url)
                .get("next")
                .map(|l| l.href.clone())
                .filter(|n| n != &url);
        }
        Ok(Fetched {
            value: items,
            stale,
        })
    }

    /// The collection `rel`, every page of it.
    pub async fn collect_all(&self, rel: &str) -> Result<Fetched<Vec<Value>>, BffError> {
        let link = self.root_link(rel).await?;
        let url = link
            .expand(&[("size", Var::One(COLLECT_PAGE_SIZE.into()))])
            .map_err(|e| BffError::protocol(self.upstream, e))?;
        self.collect(&url, rel).await
    }

    /// Runs the search `name` of `rel` with `vars`, every page of the answer; `Ok(None)` when
    /// the upstream does not advertise that search.
    pub async fn run_search(
        &self,
        rel: &str,
        name: &str,
        vars: &[(&str, Var)],
    ) -> Result<Option<Fetched<Vec<Value>>>, BffError> {
        let Some(link) = self.search(rel, name).await? else {
            return Ok(None);
        };
        let mut vars = vars.to_vec();
        if link.has_var("size") {
            vars.push(("size", Var::One(COLLECT_PAGE_SIZE.into())));
        }
        let url = link
            .expand(&vars)
            .map_err(|e| BffError::protocol(self.upstream, e))?;
        self.collect(&url, rel).await.map(Some)
    }

    /// One item of the collection `rel` by id: through `findByIdIn` when advertised,
    /// otherwise at `<collection>/<id>` as Spring Data REST lays items out.
    pub async fn item(&self, rel: &str, id: i64, what: &str) -> Result<Fetched<Value>, BffError> {
        let ids = Var::List(vec![id.to_string()]);
        if let Some(found) = self.run_search(rel, "findByIdIn", &[("ids", ids)]).await? {
            return found
                .map(|items| items.into_iter().next())
                .transpose_option()
                .ok_or_else(|| BffError::NotFound {
                    upstream: Some(self.upstream),
                    what: what.to_owned(),
                });
        }
        let collection = self
            .root_link(rel)
            .await?
            .expand(&[])
            .map_err(|e| BffError::protocol(self.upstream, e))?;
        let url = format!("{}/{id}", collection.trim_end_matches('/'));
        self.get(&url).await
    }

    /// Sends a command (POST, PATCH, DELETE) with a JSON body and extra headers; commands
    /// are never retried and never served from a stale copy.
    pub async fn command(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
        headers: http::HeaderMap,
        what: &str,
    ) -> Result<Value, BffError> {
        let response = self
            .send(UpstreamRequest {
                method,
                url: url.to_owned(),
                headers,
                body,
            })
            .await?;
        self.read(&response, what)
    }
}

impl<T> Fetched<Option<T>> {
    /// `Some` when there is a value.
    pub fn transpose_option(self) -> Option<Fetched<T>> {
        let stale = self.stale;
        self.value.map(|value| Fetched { value, stale })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Held only for map lookups; a poisoned lock still holds consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `detail` (or `title`) of an RFC 9457 problem document.
fn problem_detail(body: &[u8]) -> Option<String> {
    let doc: Value = serde_json::from_slice(body).ok()?;
    doc.get("detail")
        .or_else(|| doc.get("title"))
        .or_else(|| doc.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}
