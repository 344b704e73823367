//! One traced query: its upstream requests as the proxies saw them, grouped into the levels
//! the query waited through, and where its time went between them.
//!
//! A request belongs to level 1 unless it reached its proxy after another request's answer
//! had come back; then it is one level deeper than the deepest such request (it may have
//! waited for that answer). The time of a query then splits into: the BFF before its first
//! request, each level (the injected delay, the proxy's overshoot of it, the service's own
//! time), the BFF between a level's last answer and the next level's first request, and the
//! BFF after the last answer until the client had the whole response.

use std::time::{Duration, Instant};

use crate::proxy::Traced;
use crate::stats::ms;

/// One upstream request of a query, in times since the query was sent.
#[derive(Debug, Clone)]
pub struct Hop {
    pub service: &'static str,
    pub path: String,
    pub arrived: Duration,
    pub forwarded: Duration,
    pub answered: Duration,
}

impl Hop {
    pub fn of(sent: Instant, service: &'static str, t: &Traced) -> Hop {
        Hop {
            service,
            path: t.path.clone(),
            arrived: t.arrived.saturating_duration_since(sent),
            forwarded: t.forwarded.saturating_duration_since(sent),
            answered: t.answered.saturating_duration_since(sent),
        }
    }
}

/// Where one query's time went.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    pub took: Duration,
    /// From sending the query to its first upstream request reaching a proxy.
    pub before_first: Duration,
    /// Per level: the longest wait for the delay beyond `delay` (the proxy's overshoot) and
    /// the longest service time (forwarded → the whole answer back at the proxy).
    pub levels: Vec<Level>,
    /// From a level's last answer to the next level's first request (one fewer than levels).
    pub between: Vec<Duration>,
    /// From the last answer to the client having the whole response.
    pub after_last: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// `service path` of each request, in arrival order.
    pub requests: Vec<String>,
    pub overshoot: Duration,
    pub service: Duration,
    /// From the level's first arrival to its last answer.
    pub span: Duration,
}

/// The level of each hop (1-based), in the order given.
pub fn levels(hops: &[Hop]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..hops.len()).collect();
    order.sort_by_key(|&i| hops[i].arrived);
    let mut level = vec![0; hops.len()];
    for (k, &i) in order.iter().enumerate() {
        let deepest_before = order[..k]
            .iter()
            .filter(|&&j| hops[j].answered <= hops[i].arrived)
            .map(|&j| level[j])
            .max()
            .unwrap_or(0);
        level[i] = deepest_before + 1;
    }
    level
}

impl Breakdown {
    /// The breakdown of a query that took `took` and made `hops`, each delayed by `delay`.
    pub fn of(took: Duration, hops: &[Hop], delay: Duration) -> Option<Breakdown> {
        let level_of = levels(hops);
        let depth = level_of.iter().copied().max()?;
        let mut levels = Vec::new();
        let mut spans = Vec::new();
        for l in 1..=depth {
            let mut members: Vec<&Hop> = hops
                .iter()
                .zip(&level_of)
                .filter(|(_, &lv)| lv == l)
                .map(|(h, _)| h)
                .collect();
            members.sort_by_key(|h| h.arrived);
            let first = members.iter().map(|h| h.arrived).min()?;
            let last = members.iter().map(|h| h.answered).max()?;
            let overshoot = members
                .iter()
                .map(|h| h.forwarded.saturating_sub(h.arrived).saturating_sub(delay))
                .max()?;
            let service = members
                .iter()
                .map(|h| h.answered.saturating_sub(h.forwarded))
                .max()?;
            levels.push(Level {
                requests: members
                    .iter()
                    .map(|h| format!("{} `{}`", h.service, short_path(&h.path)))
                    .collect(),
                overshoot,
                service,
                span: last.saturating_sub(first),
            });
            spans.push((first, last));
        }
        let between = spans
            .windows(2)
            .map(|w| w[1].0.saturating_sub(w[0].1))
            .collect();
        Some(Breakdown {
            took,
            before_first: spans[0].0,
            levels,
            between,
            after_last: took.saturating_sub(spans[depth - 1].1),
        })
    }

    /// What the BFF itself added: before the first request, between levels, after the last.
    pub fn bff(&self) -> Duration {
        self.before_first + self.between.iter().sum::<Duration>() + self.after_last
    }
}

/// The medians, stage by stage, of queries with the same number of levels (the most common
/// depth among them); `None` without any.
pub fn median(runs: &[Breakdown]) -> Option<Breakdown> {
    let mut depths: Vec<usize> = runs.iter().map(|b| b.levels.len()).collect();
    depths.sort_unstable();
    let depth = *depths.get(depths.len() / 2)?;
    let same: Vec<&Breakdown> = runs.iter().filter(|b| b.levels.len() == depth).collect();
    let med = |f: &dyn Fn(&Breakdown) -> Duration| {
        let mut v: Vec<Duration> = same.iter().map(|b| f(b)).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    Some(Breakdown {
        took: med(&|b| b.took),
        before_first: med(&|b| b.before_first),
        levels: (0..depth)
            .map(|l| Level {
                requests: same[0].levels[l].requests.clone(),
                overshoot: med(&|b| b.levels[l].overshoot),
                service: med(&|b| b.levels[l].service),
                span: med(&|b| b.levels[l].span),
            })
            .collect(),
        between: (0..depth - 1).map(|l| med(&|b| b.between[l])).collect(),
        after_last: med(&|b| b.after_last),
    })
}

impl std::fmt::Display for Breakdown {
    /// `BFF before its first request 0.3 ms; level 1 (order `/orders`): 21.2 ms (delay
    /// overshoot 0.1 ms, service 1.0 ms); BFF between levels 1.1 ms; …`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BFF before its first request {}", ms(self.before_first))?;
        for (i, level) in self.levels.iter().enumerate() {
            write!(
                f,
                "; level {} ({}): {} from its first request to its last answer (the delay \
                 overshot by {}, service {})",
                i + 1,
                level.requests.join(", "),
                ms(level.span),
                ms(level.overshoot),
                ms(level.service)
            )?;
            if let Some(gap) = self.between.get(i) {
                write!(
                    f,
                    "; BFF from that answer to the next level's first request {}",
                    ms(*gap)
                )?;
            }
        }
        write!(
            f,
            "; BFF from the last answer to the client having the response {}",
            ms(self.after_last)
        )
    }
}

/// A request path as the trace shows it: without its query, but with the `page` and
/// `size` it asked for (`/deliveries/search/findByOrderIdIn page=2`).
pub fn short_path(path_and_query: &str) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut out = path.to_owned();
    for pair in query.split('&') {
        if pair.starts_with("page=") || pair.starts_with("size=") {
            out.push(' ');
            out.push_str(pair);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(service: &'static str, path: &str, arrived: u64, answered: u64) -> Hop {
        Hop {
            service,
            path: path.to_owned(),
            arrived: Duration::from_millis(arrived),
            forwarded: Duration::from_millis(arrived + 20),
            answered: Duration::from_millis(answered),
        }
    }

    #[test]
    fn a_request_after_an_answer_is_one_level_deeper() {
        let hops = [
            hop("delivery", "/deliveries/search/x?orderIds=1&page=0", 24, 46),
            hop("order", "/orders?size=1000", 1, 22),
            hop("product", "/products/search/y?ids=1", 25, 47),
        ];
        assert_eq!(levels(&hops), vec![2, 1, 2]);
        let b = Breakdown::of(Duration::from_millis(50), &hops, Duration::from_millis(20))
            .expect("hops");
        assert_eq!(b.before_first, Duration::from_millis(1));
        assert_eq!(b.between, vec![Duration::from_millis(2)]);
        assert_eq!(b.after_last, Duration::from_millis(3));
        assert_eq!(b.bff(), Duration::from_millis(6));
        assert_eq!(b.levels[0].service, Duration::from_millis(1));
        assert_eq!(
            b.levels[1].requests,
            vec![
                "delivery `/deliveries/search/x page=0`".to_owned(),
                "product `/products/search/y`".to_owned()
            ]
        );
        assert_eq!(median(std::slice::from_ref(&b)), Some(b));
        assert_eq!(short_path("/"), "/");
    }
}
