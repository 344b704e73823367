//! The services' [`MyPageFeed`] as the BFF's [`LiveFeed`] port: the one place that knows
//! both crates' my-page rows.

use futures::stream::BoxStream;
use futures::StreamExt;
use mall_bff::live::{LiveFeed, LiveItem};
use mall_bff::model::MyPageRow;
use mall_services::mypage::feed::{FeedItem, MyPageFeed};

/// Adapts the feed; cheap to clone, like the feed.
#[derive(Clone)]
pub struct FeedPort(pub MyPageFeed);

impl LiveFeed for FeedPort {
    fn subscribe(&self, customer_id: &str) -> BoxStream<'static, LiveItem> {
        self.0
            .subscribe(customer_id)
            .map(|item| match item {
                FeedItem::Changed(change) => LiveItem::Changed(row(change.row)),
                FeedItem::Lagged => LiveItem::Lagged,
            })
            .boxed()
    }
}

fn row(r: mall_services::mypage::MyPageRow) -> MyPageRow {
    MyPageRow {
        order_id: r.order_id,
        customer_id: r.customer_id,
        product_id: r.product_id,
        product_name: r.product_name,
        quantity: r.quantity,
        price: r.price,
        order_status_text: r.order_status.unwrap_or_default(),
        delivery_id: r.delivery_id,
        delivery_status_text: r.delivery_status,
    }
}
