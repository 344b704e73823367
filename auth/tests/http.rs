//! The `/auth` routes and the caller extractor over real sockets, on the embedded store.

mod common;

use std::time::Duration;

use common::{client, session_cookie, sign_up, start_embedded};
use mall_auth::http::BFF_AUDIENCE;
use mall_auth::policy::Role;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE, WWW_AUTHENTICATE};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

async fn me(url: &str, cookie: &str) -> reqwest::Response {
    client()
        .get(format!("{url}/auth/me"))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("me")
}

async fn problem(r: reqwest::Response) -> Value {
    assert_eq!(
        r.headers()[CONTENT_TYPE],
        "application/problem+json",
        "a problem document"
    );
    r.json().await.expect("json")
}

#[tokio::test]
async fn sign_up_sign_in_and_sign_out() {
    let dir = tempfile::tempdir().expect("dir");
    let server = start_embedded(dir.path()).await;
    let url = &server.url;

    // Sign-up answers the profile, sets the cookie as DESIGN.md section 8 says.
    let r = client()
        .post(format!("{url}/auth/signup"))
        .json(&json!({"email": " 1@UEngine.org", "name": "Jay", "address": "Seoul", "password": PASSWORD}))
        .send()
        .await
        .expect("signup");
    assert_eq!(r.status(), 201);
    let set = r.headers()[SET_COOKIE].to_str().expect("ascii").to_owned();
    for attr in ["mall_session=", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    assert!(!set.contains("Secure"), "plain http: {set}");
    let cookie = session_cookie(&r).expect("cookie");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body,
        json!({"customerId": "1@uengine.org", "name": "Jay", "address": "Seoul", "roles": ["customer"]})
    );

    // The cookie names the customer.
    let r = me(url, &cookie).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.expect("json")["customerId"],
        "1@uengine.org"
    );

    // Sign-in opens a second session; sign-out ends only the one it is sent with.
    let r = client()
        .post(format!("{url}/auth/login"))
        .json(&json!({"email": "1@uengine.org", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 204);
    let second = session_cookie(&r).expect("cookie");
    assert_ne!(second, cookie);

    let mut ended = server.state.ended_sessions();
    let r = client()
        .post(format!("{url}/auth/logout"))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/json")
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 204);
    assert!(r.headers()[SET_COOKIE]
        .to_str()
        .expect("ascii")
        .contains("Max-Age=0"));
    let key = tokio::time::timeout(Duration::from_secs(1), ended.recv())
        .await
        .expect("announced")
        .expect("key");
    assert_eq!(key.0.len(), 64);

    let r = me(url, &cookie).await;
    assert_eq!(r.status(), 401);
    assert_eq!(problem(r).await["detail"], "sign in first");
    assert_eq!(me(url, &second).await.status(), 200);

    // Nothing at all: 401.
    let r = client()
        .get(format!("{url}/auth/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn wrong_credentials_do_not_say_which_part_was_wrong() {
    let dir = tempfile::tempdir().expect("dir");
    let server = start_embedded(dir.path()).await;
    sign_up(&server, "1@uengine.org", PASSWORD).await;

    let mut answers = vec![];
    for (email, password) in [
        ("1@uengine.org", "wrong password"),
        ("nobody@uengine.org", PASSWORD),
        ("not an email", PASSWORD),
    ] {
        let r = client()
            .post(format!("{}/auth/login", server.url))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 401, "{email}");
        assert!(session_cookie(&r).is_none());
        answers.push(problem(r).await);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
    assert_eq!(answers[0]["detail"], "the email or the password is wrong");
}

#[tokio::test]
async fn bad_sign_ups_say_what_to_fix_and_create_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let server = start_embedded(dir.path()).await;
    let post = |body: Value| {
        let url = format!("{}/auth/signup", server.url);
        async move { client().post(url).json(&body).send().await.expect("signup") }
    };
    for (body, status, says) in [
        (
            json!({"email": "1@uengine.org", "name": "Ja\u{202e}y", "address": "Seoul", "password": PASSWORD}),
            400,
            "name contains an invisible or control character (U+202E)",
        ),
        (
            json!({"email": "1@uengine.org", "name": "Jay", "address": "Se\u{200b}oul", "password": PASSWORD}),
            400,
            "address contains",
        ),
        (
            json!({"email": "1uengine.org", "name": "Jay", "address": "Seoul", "password": PASSWORD}),
            400,
            "no `@`",
        ),
        (
            json!({"email": "1@uengine.org", "name": "Jay", "address": "Seoul", "password": "short"}),
            400,
            "password is too short",
        ),
        (
            json!({"email": "1@uengine.org", "name": "Jay", "address": "Seoul", "password": PASSWORD, "roles": ["staff"]}),
            400,
            "unknown field `roles`",
        ),
    ] {
        let r = post(body.clone()).await;
        assert_eq!(r.status(), status, "{body}");
        let p = problem(r).await;
        let detail = p["detail"].as_str().expect("detail");
        assert!(detail.contains(says), "{detail:?} should say {says:?}");
        assert!(!detail.contains(PASSWORD), "the password is never echoed");
    }
    let r = client()
        .post(format!("{}/auth/signup", server.url))
        .header(CONTENT_TYPE, "text/plain")
        .body(json!({"email": "1@uengine.org", "name": "Jay", "address": "Seoul", "password": PASSWORD}).to_string())
        .send()
        .await
        .expect("signup");
    assert_eq!(r.status(), 415);

    // None of those made an account: the email is still free.
    sign_up(&server, "1@uengine.org", PASSWORD).await;
    let r = post(json!({"email": "1@uengine.org", "name": "Other", "address": "Busan", "password": PASSWORD})).await;
    assert_eq!(r.status(), 409);
    assert!(problem(r).await["detail"]
        .as_str()
        .expect("detail")
        .contains("sign in instead"));
}

#[tokio::test]
async fn a_cookie_write_must_be_json() {
    let dir = tempfile::tempdir().expect("dir");
    let server = start_embedded(dir.path()).await;
    let cookie = sign_up(&server, "1@uengine.org", PASSWORD).await;
    let orders = format!("{}/orders", server.url);
    let body = json!({"customerId": "1@uengine.org"}).to_string();

    // What a cross-site form or a `text/plain` fetch can send: refused before the handler.
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let r = client()
            .post(&orders)
            .header(COOKIE, &cookie)
            .header(CONTENT_TYPE, ct)
            .body(body.clone())
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 403, "{ct}");
        let p = problem(r).await;
        assert!(p["detail"]
            .as_str()
            .expect("detail")
            .contains("application/json"));
    }
    // Logout too: a cross-site page cannot sign the customer out.
    let r = client()
        .post(format!("{}/auth/logout", server.url))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "text/plain")
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 403);
    assert_eq!(
        me(&server.url, &cookie).await.status(),
        200,
        "still signed in"
    );

    let count = client()
        .get(&orders)
        .send()
        .await
        .expect("count")
        .text()
        .await
        .expect("text");
    assert_eq!(count, "0", "nothing was written");

    // The same request as JSON goes through, and only for the customer themself.
    let r = client()
        .post(&orders)
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
    let r = client()
        .post(&orders)
        .header(COOKIE, &cookie)
        .json(&json!({"customerId": "2@uengine.org"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    let r = client()
        .post(&orders)
        .json(&json!({"customerId": "1@uengine.org"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 401);
    let count = client()
        .get(&orders)
        .send()
        .await
        .expect("count")
        .text()
        .await
        .expect("text");
    assert_eq!(count, "1");
}

#[tokio::test]
async fn bearer_tokens_of_the_bff_sign_in_api_clients() {
    let dir = tempfile::tempdir().expect("dir");
    let server = start_embedded(dir.path()).await;
    sign_up(&server, "1@uengine.org", PASSWORD).await;
    let issuer = &server.state.issuer;
    let token = issuer
        .sign(
            "1@uengine.org",
            vec![Role::Customer],
            BFF_AUDIENCE,
            Duration::from_secs(3600),
        )
        .expect("sign");

    let r = client()
        .get(format!("{}/auth/me", server.url))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.expect("json")["customerId"],
        "1@uengine.org"
    );

    // A bearer write needs no JSON rule (no browser sends it on its own).
    let r = client()
        .post(format!("{}/orders", server.url))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .json(&json!({"customerId": "1@uengine.org"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);

    // A token for a service, a tampered one and garbage: 401 with the Bearer challenge.
    let for_order = issuer
        .sign(
            "1@uengine.org",
            vec![Role::Customer],
            "order",
            Duration::from_secs(60),
        )
        .expect("sign");
    // One character in the middle of the signature changed.
    let mut tampered: Vec<char> = token.chars().collect();
    let at = tampered.len() - 20;
    tampered[at] = if tampered[at] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    for bad in [for_order.as_str(), tampered.as_str(), "garbage", ""] {
        let r = client()
            .get(format!("{}/whoami", server.url))
            .header(AUTHORIZATION, format!("Bearer {bad}"))
            .send()
            .await
            .expect("whoami");
        assert_eq!(r.status(), 401, "{bad}");
        assert!(r.headers()[WWW_AUTHENTICATE]
            .to_str()
            .expect("ascii")
            .contains("invalid_token"));
    }
    let r = client()
        .get(format!("{}/whoami", server.url))
        .header(AUTHORIZATION, "Basic dXNlcjpwYXNz")
        .send()
        .await
        .expect("whoami");
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn sessions_and_the_signing_key_survive_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let (cookie, jwks) = {
        let server = start_embedded(dir.path()).await;
        let cookie = sign_up(&server, "1@uengine.org", PASSWORD).await;
        let jwks: Value = client()
            .get(format!("{}/auth/jwks.json", server.url))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("json");
        (cookie, jwks)
    };
    let server = start_embedded(dir.path()).await;
    assert_eq!(me(&server.url, &cookie).await.status(), 200);
    let again: Value = client()
        .get(format!("{}/auth/jwks.json", server.url))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(again, jwks);
    assert_eq!(again["keys"][0]["kty"], "OKP");
    assert!(again["keys"][0].get("d").is_none());
}

#[tokio::test]
async fn the_first_start_makes_one_staff_account_with_a_random_password() {
    let dir = tempfile::tempdir().expect("dir");
    let server = start_embedded(dir.path()).await;
    let identity = &server.state.identity;
    let made = identity
        .bootstrap_staff("staff@uengine.org")
        .await
        .expect("bootstrap")
        .expect("made on first start");
    assert!(
        !format!("{made:?}").contains(made.password.expose()),
        "Debug redacts"
    );
    assert!(made.password.expose().len() >= 32);
    assert!(identity
        .bootstrap_staff("staff@uengine.org")
        .await
        .expect("bootstrap")
        .is_none());

    let r = client()
        .post(format!("{}/auth/login", server.url))
        .json(&json!({"email": "staff@uengine.org", "password": made.password.expose()}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 204);
    let cookie = session_cookie(&r).expect("cookie");
    let profile: Value = me(&server.url, &cookie).await.json().await.expect("json");
    assert_eq!(profile["roles"], json!(["customer", "staff"]));

    // A password change ends every session of the account, and says which.
    let mut ended = identity.ended_sessions();
    identity
        .set_password(
            &mall_auth::account::Email::parse("staff@uengine.org").expect("email"),
            mall_auth::account::Password::new("a new long password").expect("valid"),
        )
        .await
        .expect("set");
    assert_eq!(me(&server.url, &cookie).await.status(), 401);
    let key = ended.try_recv().expect("announced");
    assert_eq!(key.0.len(), 64);
}
