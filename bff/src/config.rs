//! The BFF's configuration: one tree of serde structs, every field defaulted. Each layer owns
//! its settings, defined beside it (`upstream::UpstreamUrls`,
//! `upstream::stack::UpstreamSettings`, `resilience::breaker_settings`,
//! `resilience::retry::RetrySettings`, `stale::StaleSettings`,
//! `rate_limit::RateLimitSettings`, `websocket_settings::SubscriptionSettings`); this module
//! composes them (and re-exports them), with the request [`Limits`] that several layers read.
//!
//! Per-upstream resilience settings follow the "`all` plus overrides" shape: `all` applies to
//! every upstream, and an entry under `upstreams.<name>` replaces only the fields it names.
//!
//! [`BffConfig::load`] layers the defaults, a TOML file and the environment (`MALL_BFF__…`)
//! with figment, untyped, and reads the result once; the `mall` binary's flags go over it.
//!
//! ```toml
//! static_dir = "dist"
//!
//! [urls]
//! order = "http://127.0.0.1:8081"
//!
//! [resilience.all]
//! timeout = "2s"
//!
//! [resilience.upstreams.delivery.breaker]
//! consecutive_failures = 3
//!
//! [subscriptions]
//! ping_interval = "15s"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use figment::providers::Serialized;
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

pub use crate::rate_limit::{RateLimitSettings, RouteLimit};
pub use crate::resilience::breaker_settings::BreakerSettings;
pub use crate::resilience::retry::RetrySettings;
pub use crate::stale::StaleSettings;
pub use crate::upstream::stack::UpstreamSettings;
pub use crate::upstream::{
    Upstream, UpstreamUrls, DEFAULT_DELIVERY_URL, DEFAULT_MYPAGE_URL, DEFAULT_ORDER_URL,
    DEFAULT_PRODUCT_URL,
};
pub use crate::websocket_settings::SubscriptionSettings;

/// Everything the BFF needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BffConfig {
    /// The root URL (`GET /` answers the HAL root document) of each upstream service. Every
    /// other URL the BFF calls comes from the `_links` of these documents.
    pub urls: UpstreamUrls,
    /// Timeouts, circuit breakers, retries and stale fallbacks, per upstream.
    pub resilience: Resilience,
    /// Query depth, complexity and body size limits.
    pub limits: Limits,
    /// The directory of the built shop (`dist/`), served as the router's fallback.
    pub static_dir: PathBuf,
    /// Where GraphiQL's files are read from at start: a `node_modules` directory holding
    /// the npm packages `graphiql`, `react` and `react-dom`. Unset: the repository's own
    /// `node_modules` (filled by `npm install` at its root), found from where this crate
    /// was built.
    pub node_modules: Option<PathBuf>,
    /// How often the root documents of upstreams not read yet are tried again.
    #[serde(with = "humantime_serde")]
    pub discovery_interval: Duration,
    /// The WebSocket connections of GraphQL subscriptions.
    pub subscriptions: SubscriptionSettings,
    /// Sign-in: sessions, cookies, the tokens of upstream calls, an external OpenID issuer
    /// (`[auth]`, `[auth.oidc]`; DESIGN.md section 8).
    pub auth: mall_auth::settings::AuthSettings,
    /// Requests per caller and route (429 past them).
    pub rate_limits: RateLimitSettings,
}

impl Default for BffConfig {
    fn default() -> Self {
        BffConfig {
            urls: UpstreamUrls::default(),
            resilience: Resilience::default(),
            limits: Limits::default(),
            static_dir: PathBuf::from("dist"),
            node_modules: None,
            discovery_interval: Duration::from_secs(1),
            subscriptions: SubscriptionSettings::default(),
            auth: Default::default(),
            rate_limits: RateLimitSettings::default(),
        }
    }
}

impl BffConfig {
    /// Reads a TOML document over the defaults; unknown fields are errors so a misspelt
    /// option is reported.
    pub fn from_toml(text: &str) -> Result<BffConfig, crate::BffError> {
        BffConfig::load(Some(text), std::iter::empty())
    }

    /// The settings in layers, each over the one before: the defaults, the TOML document
    /// `text`, then the environment's settings in `vars` (see [`BffConfig::with_env`]).
    /// The layers are merged as written (untyped, by figment), then the result is read
    /// once; a flag of the `mall` binary goes over all of them (`mall --help`).
    pub fn load(
        text: Option<&str>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<BffConfig, crate::BffError> {
        let mut layers = Figment::from(Layer::whole("the defaults", &BffConfig::default()));
        if let Some(text) = text {
            let table: toml::Table = toml::from_str(text)
                .map_err(|e| crate::BffError::Config(format!("in the file: {e}")))?;
            layers = layers.merge(Layer::whole("the file", table));
        }
        layers.merge_env(vars)?.read()
    }

    /// This configuration with the settings of `vars` (usually `std::env::vars()`) over it:
    ///
    /// - `MALL_BFF__<PATH>`: any setting of the file, its path written in capitals with `__`
    ///   between keys, such as `MALL_BFF__RESILIENCE__UPSTREAMS__DELIVERY__TIMEOUT=500ms`,
    ///   `MALL_BFF__RESILIENCE__ALL__BREAKER__CONSECUTIVE_FAILURES=3` or
    ///   `MALL_BFF__URLS__ORDER=http://order:8080`. Values are read as TOML numbers and
    ///   booleans and otherwise taken as strings; a list setting takes its items separated by
    ///   commas (`MALL_BFF__RATE_LIMITS__TRUSTED_PROXIES=10.0.0.0/8,172.16.0.0/12`, see
    ///   [`crate::setting_list`]);
    /// - `MALL_BFF_ORDER_URL`, `MALL_BFF_DELIVERY_URL`, `MALL_BFF_PRODUCT_URL` and
    ///   `MALL_BFF_MYPAGE_URL` ([`Upstream::env_var`]): the same as `MALL_BFF__URLS__<NAME>`.
    ///
    /// An unknown path or a value of the wrong type is an error that names the variable.
    /// A setting under `all` reaches every upstream whose override does not name it, whether
    /// the override came from the file or the environment.
    pub fn with_env(
        self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<BffConfig, crate::BffError> {
        Figment::from(Layer::whole("the settings given", &self))
            .merge_env(vars)?
            .read()
    }
}

/// Environment variables starting with this set any setting (see [`BffConfig::with_env`]).
pub const ENV_PREFIX: &str = "MALL_BFF__";

/// One source of settings for figment: a whole tree, or one value at a key path (one
/// variable of the environment), named so that an error says where the bad value came from.
struct Layer<T> {
    name: String,
    path: Option<String>,
    value: T,
}

impl<T: Serialize> Layer<T> {
    fn whole(name: &str, value: T) -> Layer<T> {
        Layer {
            name: name.to_owned(),
            path: None,
            value,
        }
    }
}

impl<T: Serialize> Provider for Layer<T> {
    fn metadata(&self) -> Metadata {
        // Keys as written in the file (`limits.max_depth`), without figment's profile.
        Metadata::named(self.name.clone()).interpolater(|_, keys| keys.join("."))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        match &self.path {
            Some(path) => Serialized::default(path, &self.value).data(),
            None => Serialized::defaults(&self.value).data(),
        }
    }
}

/// The settings of the environment, as figment layers, and reading the merged layers once.
trait Layers: Sized {
    fn merge_env(
        self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<EnvLayered, crate::BffError>;
}

impl Layers for Figment {
    fn merge_env(
        mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<EnvLayered, crate::BffError> {
        let mut set = Vec::new();
        for (name, value) in vars {
            let path = if let Some(path) = name.strip_prefix(ENV_PREFIX) {
                let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
                if keys.iter().any(String::is_empty) {
                    return Err(crate::BffError::Config(format!(
                        "{name}: a setting's path is its keys joined by `__`, such as \
                         {ENV_PREFIX}RESILIENCE__ALL__TIMEOUT"
                    )));
                }
                keys.join(".")
            } else if let Some(u) = Upstream::ALL.into_iter().find(|u| name == u.env_var()) {
                format!("urls.{u}")
            } else {
                continue;
            };
            self = self.merge(Layer {
                name: format!("the environment variable {name}"),
                path: Some(path.clone()),
                value: env_value(&value),
            });
            set.push((name, path));
        }
        Ok(EnvLayered { layers: self, set })
    }
}

/// The merged layers, and which variable set which key path.
struct EnvLayered {
    layers: Figment,
    set: Vec<(String, String)>,
}

impl EnvLayered {
    /// The one typed read of the merged layers. figment's error names the layer a bad value
    /// came from; an error found above the value (a misspelt key under `resilience`, read in
    /// two steps to merge `all` into the overrides) also names the variables set below it.
    fn read(self) -> Result<BffConfig, crate::BffError> {
        self.layers.extract().map_err(|e: figment::Error| {
            let at = e.path.join(".");
            // One line: the inner reads of `resilience` put their context on lines of their own.
            let mut message = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let named = |name: &str| message.contains(name);
            let below: Vec<&str> = self
                .set
                .iter()
                .filter(|(name, path)| !named(name) && (at.is_empty() || path.starts_with(&at)))
                .map(|(name, _)| name.as_str())
                .collect();
            if !below.is_empty() {
                message = format!("{message} (set by {})", below.join(", "));
            }
            crate::BffError::Config(message)
        })
    }
}

/// An environment value as TOML: a number, a boolean or else the string itself.
fn env_value(raw: &str) -> toml::Value {
    match raw.parse::<toml::Value>() {
        Ok(v @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_))) => v,
        _ => toml::Value::String(raw.to_owned()),
    }
}

/// Resilience settings: `all`, then per-upstream overrides.
///
/// An override names only what differs from `all`, at any depth: `[resilience.upstreams.
/// delivery.breaker] cool_down = "30s"` keeps every other breaker setting of `all`. Reading
/// merges each override table into `all` before typing it, so the typed
/// [`UpstreamOverride`] holds whole sections that already carry `all`'s other values.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default, try_from = "RawResilience")]
pub struct Resilience {
    pub all: UpstreamSettings,
    pub upstreams: BTreeMap<Upstream, UpstreamOverride>,
    /// Each override as it was written (only what it names), so that layering the
    /// environment over this configuration merges the overrides into the new `all` again:
    /// a setting changed under `all` reaches every upstream that does not name it.
    written: BTreeMap<Upstream, toml::Table>,
}

/// Written back as read: `all`, and each override with only what it names (an override
/// built in code, with the sections it holds).
impl Serialize for Resilience {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Written<'a> {
            all: &'a UpstreamSettings,
            upstreams: BTreeMap<Upstream, toml::Table>,
        }
        let mut upstreams = BTreeMap::new();
        for (upstream, o) in &self.upstreams {
            let table = match self.written.get(upstream) {
                Some(written) => written.clone(),
                None => toml::Table::try_from(o).map_err(serde::ser::Error::custom)?,
            };
            upstreams.insert(*upstream, table);
        }
        Written {
            all: &self.all,
            upstreams,
        }
        .serialize(serializer)
    }
}

/// [`Resilience`] as written, before the overrides are merged into `all`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawResilience {
    all: toml::Table,
    upstreams: BTreeMap<Upstream, toml::Table>,
}

impl TryFrom<RawResilience> for Resilience {
    type Error = String;

    fn try_from(raw: RawResilience) -> Result<Self, Self::Error> {
        let all: UpstreamSettings = toml::Value::Table(raw.all)
            .try_into()
            .map_err(|e| format!("in resilience.all: {e}"))?;
        let mut upstreams = BTreeMap::new();
        let mut kept = BTreeMap::new();
        for (upstream, written) in raw.upstreams {
            // The override over `all`, merged at any depth by figment like the other layers.
            let full: UpstreamSettings = Figment::from(Layer::whole("resilience.all", &all))
                .merge(Layer::whole(
                    &format!("resilience.upstreams.{upstream}"),
                    &written,
                ))
                .extract()
                .map_err(|e| e.to_string())?;
            let named = |key: &str| written.contains_key(key);
            upstreams.insert(
                upstream,
                UpstreamOverride {
                    timeout: named("timeout").then_some(full.timeout),
                    max_body_bytes: named("max_body_bytes").then_some(full.max_body_bytes),
                    breaker: named("breaker").then_some(full.breaker),
                    retry: named("retry").then_some(full.retry),
                    stale: named("stale").then_some(full.stale),
                },
            );
            kept.insert(upstream, written);
        }
        Ok(Resilience {
            all,
            upstreams,
            written: kept,
        })
    }
}

impl Resilience {
    /// The effective settings of one upstream.
    pub fn for_upstream(&self, upstream: Upstream) -> UpstreamSettings {
        let mut s = self.all.clone();
        if let Some(o) = self.upstreams.get(&upstream) {
            o.apply(&mut s);
        }
        s
    }
}

/// The fields of [`UpstreamSettings`] an override may replace.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamOverride {
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<usize>,
    pub breaker: Option<BreakerSettings>,
    pub retry: Option<RetrySettings>,
    pub stale: Option<StaleSettings>,
}

impl UpstreamOverride {
    fn apply(&self, s: &mut UpstreamSettings) {
        if let Some(t) = self.timeout {
            s.timeout = t;
        }
        if let Some(m) = self.max_body_bytes {
            s.max_body_bytes = m;
        }
        if let Some(b) = &self.breaker {
            s.breaker = b.clone();
        }
        if let Some(r) = &self.retry {
            s.retry = r.clone();
        }
        if let Some(st) = &self.stale {
            s.stale = st.clone();
        }
    }
}

/// Limits on what one request may ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// How deep a query's own selections may nest (introspection's `__schema` and
    /// `__type` count as one level, so every GraphQL tool can load the schema).
    pub max_depth: usize,
    /// What one request may bring back: every field counts one, each time for every row a
    /// list may hold (a page of products its `size`, an unpaged list 20 rows; see
    /// `schema::cost`). Past it the request is refused with REQUEST_TOO_EXPENSIVE before
    /// anything is fetched. A full page of 1,000 products with every field costs 9,000;
    /// the shop's own queries cost a few hundred.
    pub max_complexity: usize,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Whether the schema answers introspection (`__schema`, `__type`): what GraphiQL,
    /// code generators and API fuzzers load the schema with. On by default; a deployment
    /// that wants to hide its schema sets it to false (`__typename` keeps working).
    pub introspection: bool,
    /// Root fields one operation may ask for, each alias counted (every root field costs
    /// at least one upstream call); past it the request is refused with
    /// REQUEST_TOO_EXPENSIVE.
    pub max_root_fields: usize,
    /// Mutations one request may make; past it the request is refused with
    /// REQUEST_TOO_EXPENSIVE and nothing changes.
    pub max_mutations: usize,
    /// Calls to the services one request may make (pages, batches and single reads each
    /// count one); past it the request's remaining fields answer REQUEST_TOO_EXPENSIVE
    /// and no further call is made. The shop's own queries make a handful.
    pub max_upstream_calls: u32,
    /// How long one request may keep calling the services; past it the remaining fields
    /// answer REQUEST_TOO_EXPENSIVE (a call in flight still has its own timeout).
    #[serde(with = "humantime_serde")]
    pub request_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 10,
            max_complexity: 10_000,
            max_body_bytes: 64 * 1024,
            introspection: true,
            // The schema has 7 query fields and 3 mutations: a tool that asks for each of
            // them, even several times, stays within these.
            max_root_fields: 30,
            max_mutations: 10,
            // 30 root fields that each page through a few pages, with their rows'
            // products and deliveries, stay well within it.
            max_upstream_calls: 300,
            request_deadline: Duration::from_secs(15),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_name() {
        let config = BffConfig::from_toml(
            r#"
            [resilience.all]
            timeout = "3s"
            [resilience.upstreams.delivery]
            timeout = "500ms"
            "#,
        )
        .expect("valid config");
        let delivery = config.resilience.for_upstream(Upstream::Delivery);
        let product = config.resilience.for_upstream(Upstream::Product);
        assert_eq!(delivery.timeout, Duration::from_millis(500));
        assert_eq!(product.timeout, Duration::from_secs(3));
        assert_eq!(delivery.breaker, BreakerSettings::default());
    }

    #[test]
    fn a_misspelt_option_is_an_error() {
        let err = BffConfig::from_toml("[limits]\nmax_dept = 3\n").expect_err("unknown field");
        assert!(err.to_string().contains("max_dept"), "{err}");
    }

    #[test]
    fn urls_come_from_the_environment() {
        let config = BffConfig::default()
            .with_env([(
                "MALL_BFF_DELIVERY_URL".to_owned(),
                "http://delivery:8080".to_owned(),
            )])
            .expect("valid");
        assert_eq!(config.urls.get(Upstream::Delivery), "http://delivery:8080");
        assert_eq!(config.urls.get(Upstream::Order), DEFAULT_ORDER_URL);
    }

    #[test]
    fn a_nested_override_keeps_the_other_settings_of_all() {
        let config = BffConfig::from_toml(
            r#"
            [resilience.all.breaker]
            cool_down = "30s"
            consecutive_failures = 7
            [resilience.upstreams.delivery.breaker]
            consecutive_failures = 2
            "#,
        )
        .expect("valid config");
        let delivery = config.resilience.for_upstream(Upstream::Delivery).breaker;
        assert_eq!(delivery.consecutive_failures, 2);
        assert_eq!(delivery.cool_down, Duration::from_secs(30));
        let order = config.resilience.for_upstream(Upstream::Order).breaker;
        assert_eq!(order.consecutive_failures, 7);
    }

    #[test]
    fn a_misspelt_override_names_the_upstream() {
        let err = BffConfig::from_toml("[resilience.upstreams.delivery.breaker]\ncool = 1\n")
            .expect_err("unknown field");
        let message = err.to_string();
        assert!(
            message.contains("resilience.upstreams.delivery"),
            "{message}"
        );
        assert!(message.contains("cool"), "{message}");
    }

    #[test]
    fn thresholds_come_from_the_environment_over_the_file() {
        let config = BffConfig::load(
            Some("[resilience.all]\ntimeout = \"3s\"\n[resilience.upstreams.order]\ntimeout = \"1s\"\n"),
            [
                (
                    "MALL_BFF__RESILIENCE__UPSTREAMS__DELIVERY__BREAKER__CONSECUTIVE_FAILURES"
                        .to_owned(),
                    "2".to_owned(),
                ),
                (
                    "MALL_BFF__RESILIENCE__ALL__TIMEOUT".to_owned(),
                    "750ms".to_owned(),
                ),
                ("MALL_BFF__LIMITS__MAX_DEPTH".to_owned(), "6".to_owned()),
            ],
        )
        .expect("valid");
        let delivery = config.resilience.for_upstream(Upstream::Delivery);
        assert_eq!(delivery.breaker.consecutive_failures, 2);
        assert_eq!(delivery.timeout, Duration::from_millis(750));
        assert_eq!(
            config.resilience.for_upstream(Upstream::Order).timeout,
            Duration::from_secs(1)
        );
        assert_eq!(config.limits.max_depth, 6);
    }

    #[test]
    fn an_environment_setting_under_all_reaches_upstreams_with_overrides() {
        let config = BffConfig::load(
            Some("[resilience.upstreams.delivery.breaker]\nconsecutive_failures = 2\n"),
            [(
                "MALL_BFF__RESILIENCE__ALL__BREAKER__COOL_DOWN".to_owned(),
                "30s".to_owned(),
            )],
        )
        .expect("valid");
        let delivery = config.resilience.for_upstream(Upstream::Delivery).breaker;
        assert_eq!(
            delivery.consecutive_failures, 2,
            "the file's override stays"
        );
        assert_eq!(
            delivery.cool_down,
            Duration::from_secs(30),
            "the environment's `all` reaches the overridden upstream"
        );
        let order = config.resilience.for_upstream(Upstream::Order).breaker;
        assert_eq!(order.cool_down, Duration::from_secs(30));
        assert_eq!(order.consecutive_failures, 5);
    }

    #[test]
    fn a_bad_environment_setting_names_the_variable() {
        let err = BffConfig::load(
            None,
            [("MALL_BFF__LIMITS__MAX_DEPTH".to_owned(), "deep".to_owned())],
        )
        .expect_err("wrong type");
        assert!(
            err.to_string().contains("MALL_BFF__LIMITS__MAX_DEPTH"),
            "{err}"
        );
    }

    #[test]
    fn list_settings_come_from_the_environment_separated_by_commas() {
        let config = BffConfig::load(
            Some("[rate_limits]\ntrusted_proxies = [\"10.0.0.0/8\"]\n"),
            [
                (
                    "MALL_BFF__RATE_LIMITS__TRUSTED_PROXIES".to_owned(),
                    "172.16.0.0/12, 192.168.1.7/32".to_owned(),
                ),
                (
                    "MALL_BFF__SUBSCRIPTIONS__ALLOWED_ORIGINS".to_owned(),
                    "https://shop.example".to_owned(),
                ),
            ],
        )
        .expect("valid");
        let proxies: Vec<String> = config
            .rate_limits
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            proxies,
            ["172.16.0.0/12", "192.168.1.7/32"],
            "the environment replaces the file's list"
        );
        assert_eq!(
            config.subscriptions.allowed_origins,
            ["https://shop.example"]
        );
        let err = BffConfig::load(
            None,
            [(
                "MALL_BFF__RATE_LIMITS__TRUSTED_PROXIES".to_owned(),
                "10.0.0.0/8,the-proxy".to_owned(),
            )],
        )
        .expect_err("not a range");
        let message = err.to_string();
        assert!(
            message.contains("MALL_BFF__RATE_LIMITS__TRUSTED_PROXIES")
                && message.contains("the-proxy"),
            "{message}"
        );
    }

    #[test]
    fn the_documented_example_file_is_valid() {
        let example = include_str!("../bff.example.toml");
        let config = BffConfig::from_toml(example).expect("the example parses");
        assert_ne!(
            config,
            BffConfig::default(),
            "the example changes something"
        );
    }
    #[test]
    fn an_unknown_or_bad_environment_setting_names_the_variable() {
        for (name, value, says) in [
            ("MALL_BFF__LIMITS__MAX_DEPHT", "3", "max_depht"),
            ("MALL_BFF__RESILIENCE__ALL__TIMEOUT", "soon", "soon"),
            (
                "MALL_BFF__RESILIENCE__UPSTREAMS__ORDER__BREAKER__COOL",
                "1s",
                "cool",
            ),
            ("MALL_BFF__URLS__ORDR", "http://order:8080", "ordr"),
        ] {
            let err = BffConfig::load(
                Some("[resilience.upstreams.order]\ntimeout = \"1s\"\n"),
                [(name.to_owned(), value.to_owned())],
            )
            .expect_err("not a setting");
            let message = err.to_string();
            assert!(
                message.contains(name) && message.contains(says),
                "{name}: {message}"
            );
        }
    }

    #[test]
    fn urls_are_named_by_the_file_then_the_environment() {
        let file =
            "[urls]\norder = \"http://order.file:8080\"\nproduct = \"http://product.file\"\n";
        let config = BffConfig::load(
            Some(file),
            [(
                "MALL_BFF__URLS__ORDER".to_owned(),
                "http://order.env:8080".to_owned(),
            )],
        )
        .expect("valid");
        assert_eq!(config.urls.get(Upstream::Order), "http://order.env:8080");
        assert_eq!(config.urls.get(Upstream::Product), "http://product.file");
        assert_eq!(config.urls.named(Upstream::Delivery), None, "not named");
        assert_eq!(config.urls.get(Upstream::Delivery), DEFAULT_DELIVERY_URL);
        let err = BffConfig::from_toml("[urls]\nordr = \"http://order:8080\"\n")
            .expect_err("no such upstream");
        assert!(err.to_string().contains("ordr"), "{err}");
    }
}
