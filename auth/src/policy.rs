//! The one rule set of the shop: who may do what. Pure (no I/O), so the BFF and every
//! service ask the same question and get the same answer.
//!
//! | action | anonymous | customer C | staff |
//! |---|---|---|---|
//! | read the catalogue | allow | allow | allow |
//! | list orders / deliveries | unauthenticated | only C's | all |
//! | read one order / delivery of X | unauthenticated | X = C: allow, else not found | allow |
//! | place an order for X | unauthenticated | X = C: allow, else forbidden | X = self: allow, else forbidden |
//! | cancel an order of X | unauthenticated | X = C: allow, else not found | allow |
//! | complete a delivery | unauthenticated | forbidden | allow |
//! | read / subscribe my-page of X | unauthenticated | X = C: allow, else forbidden | allow |
//! | manage products | unauthenticated | forbidden | allow |
//!
//! Another customer's order or delivery is answered like an unknown one (`NotFound`), so ids
//! reveal nothing. Nobody, staff included, places an order in another customer's name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role an account holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Every signed-up account.
    Customer,
    /// The delivery team and the shop's admins.
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Staff => "staff",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a role; the roles are `customer` and `staff`")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "customer" => Ok(Role::Customer),
            "staff" => Ok(Role::Staff),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// Who is calling. The id is the account's email, which is the course's `customerId`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    Anonymous,
    Customer { id: String },
    Staff { id: String },
}

impl Caller {
    /// The caller an account with these roles is: staff if it holds the staff role.
    pub fn from_roles(id: impl Into<String>, roles: &[Role]) -> Caller {
        let id = id.into();
        if roles.contains(&Role::Staff) {
            Caller::Staff { id }
        } else {
            Caller::Customer { id }
        }
    }

    /// The account id of a signed-in caller.
    pub fn id(&self) -> Option<&str> {
        match self {
            Caller::Anonymous => None,
            Caller::Customer { id } | Caller::Staff { id } => Some(id),
        }
    }

    /// The roles to put in a token signed for this caller.
    pub fn roles(&self) -> Vec<Role> {
        match self {
            Caller::Anonymous => vec![],
            Caller::Customer { .. } => vec![Role::Customer],
            Caller::Staff { .. } => vec![Role::Staff],
        }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self, Caller::Staff { .. })
    }
}

/// Everything the shop lets someone do. Owners are customer ids (emails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    ReadCatalogue,
    ManageProducts,
    ListOrders,
    ReadOrder { owner: &'a str },
    PlaceOrder { customer: &'a str },
    CancelOrder { owner: &'a str },
    ListDeliveries,
    ReadDelivery { owner: &'a str },
    CompleteDelivery,
    ReadMyPage { customer: &'a str },
    SubscribeMyPage { customer: &'a str },
}

/// The answer for one caller and one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Allowed, but a listing shows only this customer's rows.
    AllowOwn {
        customer: String,
    },
    /// Sign in first (GraphQL `UNAUTHENTICATED`, REST 401).
    Unauthenticated,
    /// Signed in, not allowed (GraphQL `FORBIDDEN`, REST 403).
    Forbidden,
    /// Answer exactly as for something that does not exist (another customer's order).
    NotFound,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow | Decision::AllowOwn { .. })
    }

    /// The GraphQL `extensions.code` of a refusal (`None` when allowed).
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Decision::Allow | Decision::AllowOwn { .. } => None,
            Decision::Unauthenticated => Some("UNAUTHENTICATED"),
            Decision::Forbidden => Some("FORBIDDEN"),
            Decision::NotFound => Some("NOT_FOUND"),
        }
    }

    /// The REST status of a refusal (`None` when allowed): 401, 403 or 404.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Decision::Allow | Decision::AllowOwn { .. } => None,
            Decision::Unauthenticated => Some(401),
            Decision::Forbidden => Some(403),
            Decision::NotFound => Some(404),
        }
    }
}

/// The rule set. See the module's table.
pub fn decide(caller: &Caller, action: Action<'_>) -> Decision {
    use Action::*;
    let (id, staff) = match caller {
        Caller::Anonymous => {
            return match action {
                ReadCatalogue => Decision::Allow,
                _ => Decision::Unauthenticated,
            }
        }
        Caller::Customer { id } => (id.as_str(), false),
        Caller::Staff { id } => (id.as_str(), true),
    };
    let own = |owner: &str| owner == id;
    match action {
        ReadCatalogue => Decision::Allow,
        ManageProducts | CompleteDelivery if staff => Decision::Allow,
        ManageProducts | CompleteDelivery => Decision::Forbidden,
        ListOrders | ListDeliveries if staff => Decision::Allow,
        ListOrders | ListDeliveries => Decision::AllowOwn {
            customer: id.to_owned(),
        },
        ReadOrder { owner } | ReadDelivery { owner } | CancelOrder { owner } => {
            if staff || own(owner) {
                Decision::Allow
            } else {
                Decision::NotFound
            }
        }
        PlaceOrder { customer } if own(customer) => Decision::Allow,
        PlaceOrder { .. } => Decision::Forbidden,
        ReadMyPage { customer } | SubscribeMyPage { customer } => {
            if staff || own(customer) {
                Decision::Allow
            } else {
                Decision::Forbidden
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C1: &str = "1@uengine.org";
    const C2: &str = "2@uengine.org";
    const S: &str = "staff@uengine.org";

    fn callers() -> [(&'static str, Caller); 4] {
        [
            ("anonymous", Caller::Anonymous),
            ("c1", Caller::Customer { id: C1.into() }),
            ("c2", Caller::Customer { id: C2.into() }),
            ("staff", Caller::Staff { id: S.into() }),
        ]
    }

    /// Every action, with owners naming customer 1 (and staff itself where that matters).
    fn actions() -> Vec<(&'static str, Action<'static>)> {
        use Action::*;
        vec![
            ("catalogue", ReadCatalogue),
            ("products", ManageProducts),
            ("orders", ListOrders),
            ("order(c1)", ReadOrder { owner: C1 }),
            ("place(c1)", PlaceOrder { customer: C1 }),
            ("place(staff)", PlaceOrder { customer: S }),
            ("cancel(c1)", CancelOrder { owner: C1 }),
            ("deliveries", ListDeliveries),
            ("delivery(c1)", ReadDelivery { owner: C1 }),
            ("complete", CompleteDelivery),
            ("mypage(c1)", ReadMyPage { customer: C1 }),
            ("subscribe(c1)", SubscribeMyPage { customer: C1 }),
        ]
    }

    /// The whole matrix, written out: one row per action, one column per caller
    /// (anonymous, customer 1, customer 2, staff). `A` allow, `O` own rows only,
    /// `U` unauthenticated, `F` forbidden, `N` not found.
    const MATRIX: &[(&str, [char; 4])] = &[
        ("catalogue", ['A', 'A', 'A', 'A']),
        ("products", ['U', 'F', 'F', 'A']),
        ("orders", ['U', 'O', 'O', 'A']),
        ("order(c1)", ['U', 'A', 'N', 'A']),
        ("place(c1)", ['U', 'A', 'F', 'F']),
        ("place(staff)", ['U', 'F', 'F', 'A']),
        ("cancel(c1)", ['U', 'A', 'N', 'A']),
        ("deliveries", ['U', 'O', 'O', 'A']),
        ("delivery(c1)", ['U', 'A', 'N', 'A']),
        ("complete", ['U', 'F', 'F', 'A']),
        ("mypage(c1)", ['U', 'A', 'F', 'A']),
        ("subscribe(c1)", ['U', 'A', 'F', 'A']),
    ];

    fn letter(d: &Decision, caller: &Caller) -> char {
        match d {
            Decision::Allow => 'A',
            Decision::AllowOwn { customer } => {
                assert_eq!(
                    Some(customer.as_str()),
                    caller.id(),
                    "own rows are the caller's"
                );
                'O'
            }
            Decision::Unauthenticated => 'U',
            Decision::Forbidden => 'F',
            Decision::NotFound => 'N',
        }
    }

    #[test]
    fn every_caller_and_action_has_the_written_outcome() {
        let actions = actions();
        assert_eq!(actions.len(), MATRIX.len(), "the matrix names every action");
        for ((name, action), (row, expected)) in actions.iter().zip(MATRIX) {
            assert_eq!(name, row);
            for ((who, caller), want) in callers().iter().zip(expected) {
                let got = letter(&decide(caller, *action), caller);
                assert_eq!(got, *want, "{who} × {name}");
            }
        }
    }

    #[test]
    fn another_customers_order_reads_like_an_unknown_one() {
        let c2 = Caller::Customer { id: C2.into() };
        assert_eq!(
            decide(&c2, Action::ReadOrder { owner: C1 }),
            Decision::NotFound
        );
        assert_eq!(
            decide(&c2, Action::CancelOrder { owner: C1 }),
            Decision::NotFound
        );
    }

    #[test]
    fn refusals_carry_their_code_and_status() {
        let c2 = Caller::Customer { id: C2.into() };
        let cases = [
            (
                Caller::Anonymous,
                Action::ListOrders,
                Some(("UNAUTHENTICATED", 401)),
            ),
            (
                c2.clone(),
                Action::CompleteDelivery,
                Some(("FORBIDDEN", 403)),
            ),
            (
                c2.clone(),
                Action::ReadOrder { owner: C1 },
                Some(("NOT_FOUND", 404)),
            ),
            (c2.clone(), Action::ListOrders, None),
            (Caller::Anonymous, Action::ReadCatalogue, None),
        ];
        for (caller, action, want) in cases {
            let d = decide(&caller, action);
            assert_eq!(
                d.error_code().zip(d.http_status()),
                want,
                "{caller:?} {action:?}"
            );
        }
    }

    #[test]
    fn ids_are_compared_exactly() {
        let c = Caller::Customer { id: C1.into() };
        for other in ["1@uengine.or", "1@uengine.org ", "", "1@UENGINE.ORG"] {
            assert_eq!(
                decide(&c, Action::ReadMyPage { customer: other }),
                Decision::Forbidden,
                "{other:?}"
            );
        }
    }

    #[test]
    fn roles_make_the_caller() {
        assert_eq!(
            Caller::from_roles(C1, &[Role::Customer]),
            Caller::Customer { id: C1.into() }
        );
        assert_eq!(
            Caller::from_roles(S, &[Role::Customer, Role::Staff]),
            Caller::Staff { id: S.into() }
        );
        assert_eq!(
            Caller::from_roles(C1, &[]),
            Caller::Customer { id: C1.into() }
        );
        assert_eq!("staff".parse::<Role>(), Ok(Role::Staff));
        assert!("admin"
            .parse::<Role>()
            .expect_err("refused")
            .to_string()
            .contains("customer"));
    }
}
