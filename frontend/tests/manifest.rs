//! The shell's manifest and contract checks in a real browser (headless Chromium through
//! wasm-bindgen-test-runner; `cargo xtask test` runs it): what a slot makes of a
//! components.json entry before anything is fetched.
#![cfg(target_arch = "wasm32")]

use mall_shell::loader::{self, LoadError};
use mall_shell::manifest::{self, Entry, SHELL_CONTRACT};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn parse(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("valid JSON")
}

const MANIFEST: &str = r#"{
  "product": {"version": "0.2.0", "entry": "components/product/0.2.0/product_component.js", "contract": 1},
  "order": {"version": "0.1.0", "entry": "components/order/0.1.0/order_component.js", "contract": 7},
  "delivery": {"version": 3, "entry": "components/delivery/x.js", "contract": 1}
}"#;

#[wasm_bindgen_test]
fn an_entry_is_read_and_an_unlisted_component_is_none() {
    let manifest = parse(MANIFEST);
    assert_eq!(
        manifest::entry(&manifest, "product"),
        Ok(Some(Entry {
            version: "0.2.0".into(),
            entry: "components/product/0.2.0/product_component.js".into(),
            contract: 1,
        }))
    );
    assert_eq!(manifest::entry(&manifest, "reviews"), Ok(None));
}

#[wasm_bindgen_test]
fn a_malformed_entry_says_which_component_and_field() {
    let manifest = parse(MANIFEST);
    let why = manifest::entry(&manifest, "delivery").expect_err("version is a number");
    assert_eq!(
        why,
        "components.json is not a valid manifest: delivery: `version` must be a string"
    );
    for contract in ["0", "1.5", "\"1\"", "4294967296"] {
        let json = MANIFEST.replace(r#""contract": 7"#, &format!(r#""contract": {contract}"#));
        let why = manifest::entry(&parse(&json), "order").expect_err(contract);
        assert!(
            why.ends_with("`contract` must be a whole number of at least 1"),
            "{why}"
        );
    }
}

#[wasm_bindgen_test]
fn another_contract_is_refused_before_anything_is_fetched() {
    let manifest = parse(MANIFEST);
    let order = manifest::entry(&manifest, "order")
        .expect("valid")
        .expect("listed");
    let refused = loader::check_contract(&order).expect_err("contract 7");
    assert_eq!(
        refused,
        LoadError::Contract {
            wanted: SHELL_CONTRACT,
            found: 7
        }
    );
    assert_eq!(refused.summary(), "is a version this page cannot run.");
    assert_eq!(
        refused.detail(),
        "incompatible contract version 7 (this shell speaks 1)"
    );
    let product = manifest::entry(&manifest, "product")
        .expect("valid")
        .expect("listed");
    assert_eq!(loader::check_contract(&product), Ok(()));
}

#[wasm_bindgen_test]
fn a_retry_imports_a_fresh_instance_and_its_own_wasm() {
    let manifest = parse(MANIFEST);
    let product = manifest::entry(&manifest, "product")
        .expect("valid")
        .expect("listed");
    let first = loader::module_url(&product, 0);
    assert!(
        first.ends_with("/components/product/0.2.0/product_component.js"),
        "{first}"
    );
    assert!(first.starts_with("http"), "absolute: {first}");
    assert_eq!(loader::wasm_url(&product, 0), None);
    assert!(loader::module_url(&product, 12).ends_with("product_component.js?instance=12"));
    let wasm = loader::wasm_url(&product, 12).expect("a retry names its wasm");
    assert!(
        wasm.ends_with("/components/product/0.2.0/product_component_bg.wasm?instance=12"),
        "{wasm}"
    );
}
