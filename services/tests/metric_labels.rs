//! `/metrics` cannot be grown by a client: a thousand invented HTTP methods add no series.
//! (Its own test binary: the Prometheus recorder is process-wide.)

mod common;

use common::start;
use mall_services::Role;

/// The number of series (sample lines) in a Prometheus text page.
fn series(page: &str) -> usize {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count()
}

#[tokio::test]
async fn invented_methods_add_no_metric_series() {
    let mall = start().await;
    let base = mall.system.urls[Role::Order].to_owned();
    let http = mall.http.clone();
    let metrics = || async {
        http.get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    };
    let invent = |i: usize| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let method = format!("INVENTED{i}");
            let r = http
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                    format!("{base}/orders"),
                )
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), 405);
        }
    };
    // One invented method (and one read of /metrics) first, so the series they need exist.
    invent(0).await;
    metrics().await;
    let before = series(&metrics().await);
    for i in 1..=1000 {
        invent(i).await;
    }
    let page = metrics().await;
    assert_eq!(
        series(&page),
        before,
        "a thousand invented methods added series"
    );
    assert!(!page.contains("INVENTED"), "no method name of a client's");
    assert!(page.contains("method=\"other\""));
    mall.system.stop().await;
}
