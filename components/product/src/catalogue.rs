//! The catalogue: a page of products, refreshed when orders or deliveries move stock.

use leptos::prelude::*;
use mall_kit::events::{
    self, on_while_mounted, DeliveryCompleted, MyPageChanged, OrderCancelled, OrderPlaced,
    ProductSelected,
};
use mall_kit::graphql::fetch;
use mall_kit::remote::remote;
use mall_kit::MountContext;

use crate::queries::{products, Products};

const PAGE_SIZE: i64 = 5;

/// The component's own style (inside its shadow root).
pub const STYLE: &str = r#"
.catalogue tr.selected td { background: #eef4ff; }
.stock-low { color: #7a5200; }
"#;

/// The product list with paging and a Select button per product.
#[component]
pub fn Catalogue(ctx: MountContext) -> impl IntoView {
    let page = RwSignal::new(0i64);
    let selected = RwSignal::new(None::<i64>);
    let url = ctx.graphql_url.clone();
    let catalogue = remote(move || {
        let url = url.clone();
        let page = page.get();
        async move {
            fetch::<Products>(
                &url,
                products::Variables {
                    page,
                    size: PAGE_SIZE,
                },
            )
            .await
            .map(|data| data.products)
        }
    });
    // Stock moves when deliveries start and stop, shortly after these events.
    on_while_mounted::<OrderPlaced>(move || catalogue.refresh_burst());
    on_while_mounted::<OrderCancelled>(move || catalogue.refresh_burst());
    on_while_mounted::<DeliveryCompleted>(move || catalogue.refresh_burst());
    on_while_mounted::<MyPageChanged>(move || catalogue.refresh_burst());

    // The order form shows the selected product's stock: when a refresh moves it, announce
    // the selection again so the figure shown there stays live.
    Effect::new(move |last: Option<Option<(i64, i64)>>| {
        let last = last.flatten();
        let id = selected.get()?;
        let fresh = catalogue.value.with(|value| match value {
            Some(Ok(data)) => data
                .items
                .iter()
                .find(|p| p.id == id)
                .map(|p| ProductSelected {
                    product_id: p.id,
                    name: p.name.clone(),
                    price: p.price,
                    stock: p.stock,
                }),
            _ => None,
        });
        let Some(fresh) = fresh else {
            return last;
        };
        let now = (id, fresh.stock);
        if last.is_some_and(|(was, _)| was == id) && last != Some(now) {
            events::emit(&fresh);
        }
        Some(now)
    });

    let select = move |p: &products::ProductsProductsItems| {
        selected.set(Some(p.id));
        events::emit(&ProductSelected {
            product_id: p.id,
            name: p.name.clone(),
            price: p.price,
            stock: p.stock,
        });
    };

    view! {
        <section class="catalogue" aria-labelledby="products-heading">
            <h2 id="products-heading">"Products"</h2>
            {move || match catalogue.value.get() {
                None => view! { <p class="muted" role="status">"Loading products…"</p> }.into_any(),
                Some(Err(e)) => view! {
                    <p class="error" role="alert" data-testid="products-error">
                        "Products are unavailable right now: " {e.to_string()}
                    </p>
                    <button class="secondary" on:click=move |_| catalogue.refresh()>"Try again"</button>
                }
                .into_any(),
                Some(Ok(data)) => {
                    let total_pages = data.total_pages.max(1);
                    let current = data.page;
                    let rows = data
                        .items
                        .into_iter()
                        .map(|p| {
                            let id = p.id;
                            let label = format!("Select {}", p.name);
                            let backordered = p.stock < 0;
                            view! {
                                <tr
                                    data-testid="product-row"
                                    data-product-id=id
                                    class:selected=move || selected.get() == Some(id)
                                >
                                    <td data-testid="product-name">{p.name.clone()}</td>
                                    <td class="num" data-testid="product-price">{p.price}</td>
                                    <td class="num" data-testid="product-stock">
                                        {p.stock}
                                        {backordered.then(|| view! { " " <span class="badge warn">"backordered"</span> })}
                                    </td>
                                    <td class="row-actions">
                                        <button
                                            aria-label=label
                                            aria-pressed=move || (selected.get() == Some(id)).to_string()
                                            on:click=move |_| select(&p)
                                        >
                                            "Select"
                                        </button>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view();
                    view! {
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Product"</th>
                                    <th scope="col" class="num">"Price"</th>
                                    <th scope="col" class="num">"Stock"</th>
                                    <th scope="col"><span class="muted">"Order"</span></th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                        <nav class="pager" aria-label="Product pages">
                            <button
                                class="secondary"
                                disabled={current <= 0}
                                on:click=move |_| page.update(|p| *p -= 1)
                            >
                                "Previous page"
                            </button>
                            <span>"Page " {current + 1} " of " {total_pages}</span>
                            <button
                                class="secondary"
                                disabled={current + 1 >= total_pages}
                                on:click=move |_| page.update(|p| *p += 1)
                            >
                                "Next page"
                            </button>
                        </nav>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}
