//! The kit's JavaScript codec (`mall_kit::js`) in a real browser (headless Chromium through
//! wasm-bindgen-test-runner; `cargo xtask test` runs it): JSON text parsed and printed by the
//! browser, walked by the codec, and errors that name what is wrong without echoing values.
#![cfg(target_arch = "wasm32")]

use mall_kit::js::{from_js, message, to_js, to_json};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum State {
    Ordered,
    Cancelled,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: i64,
    customer_id: String,
    price: f64,
    state: State,
    tags: Vec<String>,
    note: Option<String>,
}

fn order() -> Order {
    Order {
        order_id: 9_007_199_254_740_991,
        customer_id: "jay@12st.example \"quoted\" ✓".into(),
        price: 12.5,
        state: State::Cancelled,
        tags: vec!["gift".into(), String::new()],
        note: None,
    }
}

fn parse(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("valid JSON")
}

#[wasm_bindgen_test]
fn a_value_survives_the_browsers_json_both_ways() {
    let json = to_json(&order()).expect("encodes");
    assert_eq!(from_js::<Order>(parse(&json)), Ok(order()));
}

#[wasm_bindgen_test]
fn fields_are_written_in_camel_case_and_none_as_null() {
    let value = to_js(&order()).expect("encodes");
    let field = |key: &str| js_sys::Reflect::get(&value, &JsValue::from_str(key)).expect("get");
    assert_eq!(field("orderId").as_f64(), Some(9_007_199_254_740_991.0));
    assert_eq!(field("state").as_string().as_deref(), Some("cancelled"));
    assert!(field("note").is_null());
}

#[wasm_bindgen_test]
fn integral_numbers_are_integers_and_fractions_are_not() {
    let json = r#"{"orderId":2.0,"customerId":"c","price":3,"state":"ordered","tags":[]}"#;
    let decoded: Order = from_js(parse(json)).expect("2.0 is an integer; a missing note is None");
    assert_eq!(
        (decoded.order_id, decoded.price, decoded.note),
        (2, 3.0, None)
    );
    let fraction = json.replace("2.0", "2.5");
    assert_eq!(
        from_js::<Order>(parse(&fraction)).map_err(|e| e.to_string()),
        Err("unexpected type".into())
    );
}

#[wasm_bindgen_test]
fn a_missing_field_is_named_and_no_value_is_echoed() {
    let json = r#"{"orderId":1,"price":1,"state":"ordered","tags":["secret-tag"]}"#;
    let error = from_js::<Order>(parse(json)).expect_err("customerId is missing");
    assert_eq!(error.to_string(), "missing field `customerId`");

    let unknown = r#"{"orderId":1,"customerId":"c","price":1,"state":"lost","tags":[]}"#;
    let error = from_js::<Order>(parse(unknown)).expect_err("no such state");
    assert!(!error.to_string().contains("lost"), "{error}");
}

#[wasm_bindgen_test]
fn a_thrown_value_says_what_it_is() {
    let error: JsValue = js_sys::Error::new("the BFF is down").into();
    assert_eq!(message(&error), "the BFF is down");
    assert_eq!(message(&JsValue::from_str("plain text")), "plain text");
}
