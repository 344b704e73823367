//! The roles one `mall` process can run.

use std::fmt;
use std::str::FromStr;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Order,
    Delivery,
    Product,
    Mypage,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Order, Role::Delivery, Role::Product, Role::Mypage];

    pub fn name(self) -> &'static str {
        match self {
            Role::Order => "order",
            Role::Delivery => "delivery",
            Role::Product => "product",
            Role::Mypage => "mypage",
        }
    }

    /// The course's port of this service.
    pub fn default_port(self) -> u16 {
        match self {
            Role::Order => 8081,
            Role::Delivery => 8082,
            Role::Product => 8083,
            Role::Mypage => 8084,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                format!("unknown service role `{s}`; expected order, delivery, product or mypage")
            })
    }
}
