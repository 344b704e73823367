//! The mypage service: a customer's rows of the CQRS projection.

use crate::error::BffError;
use crate::model::MyPageRow;
use crate::request_context::RequestContext;
use crate::stale::Fetched;
use crate::upstream::hal::Var;
use crate::upstream::{Upstream, UpstreamClient};

/// The relation name of the collection (schema/rest.md).
pub const MY_PAGES: &str = "myPages";

/// See the module documentation.
#[derive(Debug)]
pub struct MyPages {
    client: UpstreamClient,
}

impl MyPages {
    pub fn new(client: UpstreamClient) -> MyPages {
        MyPages { client }
    }

    pub fn client(&self) -> &UpstreamClient {
        &self.client
    }

    pub async fn of_customer(
        &self,
        ctx: &RequestContext,
        customer: &str,
    ) -> Result<Fetched<Vec<MyPageRow>>, BffError> {
        let found = self
            .client
            .run_search(
                ctx,
                MY_PAGES,
                "findByCustomerId",
                &[("customerId", Var::One(customer.into()))],
            )
            .await?
            .ok_or_else(|| {
                BffError::protocol(Upstream::Mypage, "it offers no findByCustomerId search")
            })?;
        Ok(found)
    }
}
