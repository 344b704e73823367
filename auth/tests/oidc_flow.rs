//! Sign-in through an independent OpenID provider (npm `oidc-provider`, started by the test)
//! with the authorization code flow and PKCE, over real sockets: a browser's redirects and
//! cookies are played by hand.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use mall_auth::http::cookie::CookieSettings;
use mall_auth::http::oidc::OidcLogin;
use mall_auth::http::AuthState;
use mall_auth::identity::Identity;
use mall_auth::keys::SigningKey;
use mall_auth::oidc::OidcSettings;
use mall_auth::store::StoreLocation;
use mall_auth::token::{TokenIssuer, TokenSettings};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Installs the provider's npm package if needed and starts it.
async fn start_provider(port: u16, redirect_uri: &str) -> Child {
    let dir = provider_dir();
    if !dir.join("node_modules/oidc-provider").exists() {
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .await
            .expect("npm (Node.js) is needed to run the OpenID provider of this test");
        assert!(status.success(), "npm install in {}", dir.display());
    }
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .env("PORT", port.to_string())
        .env("REDIRECT_URI", redirect_uri)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("read") {
            if line.trim() == "ready" {
                return;
            }
        }
        panic!("the provider exited before it was ready");
    })
    .await
    .expect("the provider starts within 20 s");
    // Keep reading what it prints: a closed pipe would end it at its next log line.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            println!("oidc-provider: {line}");
        }
    });
    child
}

/// The cookies one site has set, as a browser keeps them.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(SET_COOKIE) {
            let v = v.to_str().expect("ascii");
            let pair = v.split(';').next().expect("pair");
            let (name, value) = pair.split_once('=').expect("name=value");
            if v.contains("Max-Age=0") || value.is_empty() {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

struct Mall {
    url: String,
    identity: Identity,
    provider_url: String,
    _provider: Child,
    _dir: tempfile::TempDir,
}

async fn start_mall() -> Mall {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let provider_port = free_port();
    let provider_url = format!("http://127.0.0.1:{provider_port}");
    let provider = start_provider(provider_port, &format!("{url}/auth/oidc/callback")).await;

    let dir = tempfile::tempdir().expect("dir");
    let store = common::open_store(StoreLocation::Embedded(dir.path().into())).await;
    let identity = Identity::new(store.clone(), &common::settings()).expect("identity");
    let key = tokio::task::spawn_blocking(move || SigningKey::load_or_create(store.as_ref()))
        .await
        .expect("join")
        .expect("key");
    let issuer = TokenIssuer::new(
        key,
        TokenSettings {
            issuer: url.clone(),
            ..TokenSettings::default()
        },
    );
    let state = AuthState::new(
        identity.clone(),
        issuer,
        CookieSettings::for_public_url(&url),
    );
    let settings: OidcSettings = serde_json::from_value(json!({
        "issuer": provider_url,
        "client_id": "mall",
        "client_secret": "mall-test-secret",
        "staff_claim": "groups",
        "staff_values": ["shop-staff"],
    }))
    .expect("settings");
    let state = state.offer_sign_in_with(&settings.display_name());
    let login = OidcLogin::discover(settings, &url)
        .await
        .expect("discovery");
    let app =
        mall_auth::http::router(state.clone()).merge(mall_auth::http::oidc::router(state, login));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    Mall {
        url,
        identity,
        provider_url,
        _provider: provider,
        _dir: dir,
    }
}

/// Plays the browser from `/auth/oidc/login` to the mall's callback, signing in at the
/// provider as `login`. Returns the callback URL and the mall's cookies at that point.
async fn through_the_provider(mall: &Mall, login: &str) -> (String, Jar) {
    let http = common::client();
    let mut mall_jar = Jar::default();
    let mut idp_jar = Jar::default();

    let r = http
        .get(format!("{}/auth/oidc/login", mall.url))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303);
    mall_jar.take(&r);
    assert!(mall_jar.0.contains_key("mall_oidc"));
    let mut next = r.headers()[LOCATION].to_str().expect("ascii").to_owned();
    assert!(next.starts_with(&mall.provider_url), "{next}");
    assert!(next.contains("code_challenge_method=S256"), "PKCE: {next}");

    for _ in 0..20 {
        if next.starts_with(&mall.url) {
            return (next, mall_jar);
        }
        let absolute = if next.starts_with('/') {
            format!("{}{next}", mall.provider_url)
        } else {
            next.clone()
        };
        let r = http
            .get(&absolute)
            .header(COOKIE, idp_jar.header())
            .send()
            .await
            .expect("provider");
        idp_jar.take(&r);
        if r.status().is_redirection() {
            next = r.headers()[LOCATION].to_str().expect("ascii").to_owned();
            continue;
        }
        assert_eq!(r.status(), 200, "{absolute}");
        // A sign-in or consent page: submit its form.
        let page = r.text().await.expect("html");
        let action = page
            .split("action=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a form")
            .to_owned();
        let body = if page.contains("value=\"login\"") {
            format!("prompt=login&login={login}")
        } else {
            "prompt=consent".to_owned()
        };
        let action = if action.starts_with('/') {
            format!("{}{action}", mall.provider_url)
        } else {
            action
        };
        let r = http
            .post(action)
            .header(COOKIE, idp_jar.header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("submit");
        idp_jar.take(&r);
        assert!(r.status().is_redirection(), "{}", r.status());
        next = r.headers()[LOCATION].to_str().expect("ascii").to_owned();
    }
    panic!("the provider never sent the browser back");
}

async fn me(mall: &Mall, jar: &Jar) -> (u16, Value) {
    let r = common::client()
        .get(format!("{}/auth/me", mall.url))
        .header(COOKIE, jar.header())
        .send()
        .await
        .expect("me");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn signing_in_at_the_provider_lands_in_the_same_shop() {
    let mall = start_mall().await;

    // Nobody signed in yet: the sign-in page may offer the provider (by its host, as no
    // `name` is configured).
    let (status, offer) = me(&mall, &Jar::default()).await;
    assert_eq!(status, 401);
    assert_eq!(offer["signInWith"], "127.0.0.1", "{offer}");
    assert_eq!(offer["signInAt"], "/auth/oidc/login", "{offer}");

    // A customer.
    let (callback, mut jar) = through_the_provider(&mall, "alice").await;
    assert!(
        callback.contains("code=") && callback.contains("state="),
        "{callback}"
    );
    let pending = jar.header();
    let r = common::client()
        .get(&callback)
        .header(COOKIE, jar.header())
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    assert_eq!(r.headers()[LOCATION], "/");
    jar.take(&r);
    assert!(jar.0.contains_key("mall_session"));
    assert!(
        !jar.0.contains_key("mall_oidc"),
        "the pending cookie is cleared"
    );
    let (status, profile) = me(&mall, &jar).await;
    assert_eq!(status, 200);
    assert_eq!(profile["customerId"], "alice@idp.example");
    assert_eq!(profile["name"], "Person alice");
    assert_eq!(profile["roles"], json!(["customer"]));

    // A code is good once: replaying the whole callback (cookie included) signs nobody in.
    let replay = common::client()
        .get(&callback)
        .header(COOKIE, pending)
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status(), 401);
    assert!(replay.headers().get(SET_COOKIE).is_none());
    // A forged pending cookie is no better.
    let forged = common::client()
        .get(&callback)
        .header(COOKIE, "mall_oidc=x")
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), 401);

    // Staff by the provider's groups claim.
    let (callback, mut jar) = through_the_provider(&mall, "staff1").await;
    let r = common::client()
        .get(&callback)
        .header(COOKIE, jar.header())
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), 303);
    jar.take(&r);
    let (_, profile) = me(&mall, &jar).await;
    assert_eq!(profile["roles"], json!(["customer", "staff"]));
}

#[tokio::test]
async fn the_provider_never_takes_a_local_role_away() {
    let mall = start_mall().await;
    // The shop's own staff account, made on first start, has the email the provider gives
    // its user `boss` (who is not in the provider's staff group).
    mall.identity
        .bootstrap_staff("boss@idp.example")
        .await
        .expect("bootstrap")
        .expect("made");
    let (callback, mut jar) = through_the_provider(&mall, "boss").await;
    let r = common::client()
        .get(&callback)
        .header(COOKIE, jar.header())
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), 303);
    jar.take(&r);
    let (_, profile) = me(&mall, &jar).await;
    assert_eq!(profile["customerId"], "boss@idp.example");
    assert_eq!(profile["roles"], json!(["customer", "staff"]));
}

#[tokio::test]
async fn a_callback_the_browser_did_not_start_is_refused() {
    let mall = start_mall().await;
    let (callback, jar) = through_the_provider(&mall, "bob").await;

    // Another browser (no pending cookie) brought the code: login CSRF, refused.
    let r = common::client()
        .get(&callback)
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), 401);
    assert!(r.headers().get(SET_COOKIE).is_none());

    // The right browser but a state changed on the way.
    let forged = callback.replace("state=", "state=x");
    let r = common::client()
        .get(&forged)
        .header(COOKIE, jar.header())
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), 401);

    // The provider reporting an error.
    let r = common::client()
        .get(format!(
            "{}/auth/oidc/callback?error=access_denied",
            mall.url
        ))
        .header(COOKIE, jar.header())
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), 401);

    // The untouched callback still works once.
    let r = common::client()
        .get(&callback)
        .header(COOKIE, jar.header())
        .send()
        .await
        .expect("callback");
    assert_eq!(r.status(), 303);
}
