//! Text the shell builds without Rust's formatting machinery (`format!`, `to_string`,
//! `Display`): that machinery is several kB of wasm, a large share of a bundle this small.

use alloc::string::String;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

#[wasm_bindgen]
extern "C" {
    /// JavaScript's `String(value)`.
    #[wasm_bindgen(js_name = String)]
    fn js_string(value: &JsValue) -> String;
}

/// The parts, one after another.
pub fn concat(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

/// `n` in decimal digits.
pub fn decimal(n: u32) -> String {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    digits[at..].iter().map(|&d| char::from(d)).collect()
}

/// What a thrown JavaScript value says: an `Error`'s message, else the value as text.
pub fn message(error: &JsValue) -> String {
    match wasm_bindgen::JsCast::dyn_ref::<js_sys::Error>(error) {
        Some(error) => error.message().into(),
        None => js_string(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_digits() {
        for n in [0, 7, 10, 404, 8_000, u32::MAX] {
            assert_eq!(decimal(n), n.to_string());
        }
    }

    #[test]
    fn concatenation() {
        assert_eq!(concat(&["a", "", "bc"]), "abc");
    }
}
