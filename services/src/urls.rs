//! The public base URLs of the four services, from which every absolute link is built.

use std::collections::BTreeMap;
use std::ops::Index;

use serde::{Deserialize, Serialize};

use crate::role::Role;

/// Base URLs (scheme, host, port; no trailing slash) under which each service is reached,
/// one per [`Role`] (`urls[Role::Order]`). Every role has one: the default is the course's
/// port on 127.0.0.1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<Role, String>")]
pub struct Urls(BTreeMap<Role, String>);

/// Roles not named keep their default URL.
impl From<BTreeMap<Role, String>> for Urls {
    fn from(named: BTreeMap<Role, String>) -> Urls {
        named.into_iter().collect()
    }
}

impl Default for Urls {
    fn default() -> Self {
        Urls(
            Role::ALL
                .into_iter()
                .map(|r| (r, format!("http://127.0.0.1:{}", r.default_port())))
                .collect(),
        )
    }
}

/// The URLs given; roles not given keep their default URL.
impl FromIterator<(Role, String)> for Urls {
    fn from_iter<I: IntoIterator<Item = (Role, String)>>(given: I) -> Urls {
        let mut urls = Urls::default();
        urls.0.extend(given);
        urls
    }
}

impl Index<Role> for Urls {
    type Output = String;

    fn index(&self, role: Role) -> &String {
        self.0
            .get(&role)
            .expect("every role has a URL: built from the defaults and only changed by set")
    }
}

impl Urls {
    /// Sets the URL of `role`.
    pub fn set(&mut self, role: Role, url: impl Into<String>) {
        self.0.insert(role, url.into());
    }

    /// Each role and its URL.
    pub fn iter(&self) -> impl Iterator<Item = (Role, &str)> {
        self.0.iter().map(|(r, u)| (*r, u.as_str()))
    }

    /// Trims trailing slashes so that `base + "/path"` is always well-formed.
    pub fn normalised(mut self) -> Urls {
        for u in self.0.values_mut() {
            while u.ends_with('/') {
                u.pop();
            }
        }
        self
    }
}
