//! The public base URLs of the four services, from which every absolute link is built.

use serde::{Deserialize, Serialize};

/// Base URLs (scheme, host, port; no trailing slash) under which each service is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Urls {
    pub order: String,
    pub delivery: String,
    pub product: String,
    pub mypage: String,
}

impl Default for Urls {
    fn default() -> Self {
        Urls {
            order: "http://127.0.0.1:8081".into(),
            delivery: "http://127.0.0.1:8082".into(),
            product: "http://127.0.0.1:8083".into(),
            mypage: "http://127.0.0.1:8084".into(),
        }
    }
}

impl Urls {
    /// Trims trailing slashes so that `base + "/path"` is always well-formed.
    pub fn normalised(mut self) -> Urls {
        for u in [
            &mut self.order,
            &mut self.delivery,
            &mut self.product,
            &mut self.mypage,
        ] {
            while u.ends_with('/') {
                u.pop();
            }
        }
        self
    }
}
