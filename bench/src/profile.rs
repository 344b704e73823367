//! Where a process's CPU time goes, for a missed target: `perf record` on the process while
//! the load runs, then the functions with the most self time from `perf report`.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use tokio::process::Command;

/// One line of the profile: share of the samples, where (binary or kernel) and the function.
#[derive(Debug, Clone, PartialEq)]
pub struct Hot {
    pub percent: f64,
    pub dso: String,
    pub symbol: String,
}

/// Samples `pid` for `duration` with `perf record` into `data`; returns when it is done.
pub async fn record(pid: u32, duration: Duration, data: &Path) -> Result<()> {
    let out = Command::new("perf")
        .args(["record", "-F", "499", "-g", "-o"])
        .arg(data)
        .arg("-p")
        .arg(pid.to_string())
        .arg("--")
        .arg("sleep")
        .arg(format!("{}", duration.as_secs().max(1)))
        .output()
        .await
        .context("cannot run perf (Debian's `linux-perf` package)")?;
    if !out.status.success() {
        bail!(
            "perf record failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The functions with the most self time in `data`, at least `min_percent` each.
pub async fn hottest(data: &Path, min_percent: f64) -> Result<Vec<Hot>> {
    let out = Command::new("perf")
        .args(["report", "--stdio", "--no-children", "-g", "none"])
        .args(["--sort", "dso,symbol", "--percent-limit"])
        .arg(min_percent.to_string())
        .arg("-i")
        .arg(data)
        .output()
        .await
        .context("cannot run perf report")?;
    if !out.status.success() {
        bail!(
            "perf report failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(parse_report(&String::from_utf8_lossy(&out.stdout)))
}

/// Reads `perf report --stdio --sort dso,symbol` lines such as
/// `    12.34%  mall  [.] async_graphql::parser::parse_query`.
pub fn parse_report(text: &str) -> Vec<Hot> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with('#') {
                return None;
            }
            let (percent, rest) = line.split_once('%')?;
            let percent: f64 = percent.trim().parse().ok()?;
            let rest = rest.trim();
            let (dso, symbol) = rest.split_once(char::is_whitespace)?;
            // perf pads the column (and may add empty ones after it).
            let symbol = symbol.trim().split("  ").next().unwrap_or("").trim();
            let symbol = symbol
                .strip_prefix("[.]")
                .or_else(|| symbol.strip_prefix("[k]"))
                .unwrap_or(symbol)
                .trim();
            Some(Hot {
                percent,
                dso: dso.to_owned(),
                symbol: shorten(symbol),
            })
        })
        .collect()
}

/// A Rust symbol without its hash and generic arguments, short enough for a table (a
/// qualified `<T as Trait>::f` keeps its outer brackets).
pub fn shorten(symbol: &str) -> String {
    let qualified = symbol.starts_with('<');
    let keep = |depth: usize| depth == 0 || (qualified && depth == 1);
    let mut out = String::new();
    let mut depth = 0;
    for c in symbol.chars() {
        match c {
            '<' => {
                depth += 1;
                if qualified && depth == 1 {
                    out.push(c);
                }
            }
            '>' if depth > 0 => {
                if qualified && depth == 1 {
                    out.push(c);
                }
                depth -= 1;
            }
            _ if keep(depth) => out.push(c),
            _ => {}
        }
    }
    let out = match out.rfind("::h") {
        Some(at)
            if out[at + 3..].chars().all(|c| c.is_ascii_hexdigit()) && out.len() - at == 19 =>
        {
            out[..at].to_owned()
        }
        _ => out,
    };
    out.replace("::{{closure}}", "")
}

/// What a sample's function belongs to: the Rust crate (`serde_json`, `async_graphql`,
/// `pest`, …), or `kernel`, `malloc/free` (glibc's allocator), `libc`, or `C` (bundled C code
/// such as SQLite).
pub fn owner(hot: &Hot) -> String {
    if hot.dso.starts_with("[kernel") {
        return "kernel".into();
    }
    if hot.dso.starts_with("libc") {
        let alloc = [
            "malloc",
            "free",
            "_int_",
            "unlink_chunk",
            "consolidate",
            "realloc",
            "tcache",
        ];
        return if alloc.iter().any(|a| hot.symbol.contains(a)) {
            "malloc/free".into()
        } else {
            "libc".into()
        };
    }
    let path = hot.symbol.trim_start_matches('<');
    match path.split_once("::") {
        Some((krate, _)) => krate.to_owned(),
        None => "C".into(),
    }
}

/// Self time summed per [`owner`], largest first.
pub fn by_owner(hot: &[Hot]) -> Vec<(String, f64)> {
    let mut sums: Vec<(String, f64)> = Vec::new();
    for h in hot {
        let o = owner(h);
        match sums.iter_mut().find(|(name, _)| *name == o) {
            Some((_, sum)) => *sum += h.percent,
            None => sums.push((o, h.percent)),
        }
    }
    sums.sort_by(|a, b| b.1.total_cmp(&a.1));
    sums
}

/// The profile as one sentence: `12% memcpy (libc), 8% …`.
pub fn describe(hot: &[Hot], top: usize) -> String {
    hot.iter()
        .take(top)
        .map(|h| format!("{:.1}% `{}` ({})", h.percent, h.symbol, h.dso))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The profile in two parts: self time per crate, then the hottest functions of the program
/// itself (not the kernel's or libc's).
pub fn summary(hot: &[Hot]) -> String {
    let owners: Vec<String> = by_owner(hot)
        .iter()
        .take(10)
        .map(|(o, p)| format!("{o} {p:.0}%"))
        .collect();
    let own: Vec<Hot> = hot
        .iter()
        .filter(|h| !h.dso.starts_with("[kernel") && !h.dso.starts_with("lib"))
        .cloned()
        .collect();
    format!(
        "self time by crate: {}; the program's hottest functions: {}",
        owners.join(", "),
        describe(&own, 6)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_are_read() {
        let text = "# Samples: 2K of event 'cpu-clock'\n#\n\
                    # Overhead  Shared Object      Symbol\n\
                    \x20   12.34%  mall               [.] async_graphql::parser::parse_query\n\
                    \x20    3.10%  [kernel.kallsyms]  [k] tcp_sendmsg      -      -\n\
                    \n";
        let hot = parse_report(text);
        assert_eq!(hot.len(), 2);
        assert_eq!(
            hot[0],
            Hot {
                percent: 12.34,
                dso: "mall".into(),
                symbol: "async_graphql::parser::parse_query".into()
            }
        );
        assert_eq!(hot[1].dso, "[kernel.kallsyms]");
        assert_eq!(hot[1].symbol, "tcp_sendmsg");
        assert_eq!(
            describe(&hot, 1),
            "12.3% `async_graphql::parser::parse_query` (mall)"
        );
    }

    #[test]
    fn self_time_adds_up_per_crate() {
        let hot = |percent, dso: &str, symbol: &str| Hot {
            percent,
            dso: dso.into(),
            symbol: symbol.into(),
        };
        let profile = [
            hot(5.0, "[kernel.kallsyms]", "tcp_sendmsg"),
            hot(4.0, "libc.so.6", "_int_malloc"),
            hot(3.0, "libc.so.6", "cfree@GLIBC_2.2.5"),
            hot(2.0, "libc.so.6", "__memmove_avx512_unaligned_erms"),
            hot(2.5, "mall", "serde_json::de::from_str"),
            hot(
                1.5,
                "mall",
                "<serde_json::value::Value as core::clone::Clone>::clone",
            ),
            hot(1.0, "mall", "sqlite3VdbeExec"),
        ];
        assert_eq!(
            by_owner(&profile),
            vec![
                ("malloc/free".to_owned(), 7.0),
                ("kernel".to_owned(), 5.0),
                ("serde_json".to_owned(), 4.0),
                ("libc".to_owned(), 2.0),
                ("C".to_owned(), 1.0),
            ]
        );
    }

    #[test]
    fn symbols_lose_generics_hashes_and_closures() {
        assert_eq!(
            shorten("<alloc::vec::Vec<T> as core::clone::Clone>::clone::h0123456789abcdef"),
            "<alloc::vec::Vec as core::clone::Clone>::clone"
        );
        assert_eq!(
            shorten("serde_json::de::from_str::{{closure}}::h0123456789abcdef"),
            "serde_json::de::from_str"
        );
        assert_eq!(
            shorten("__memmove_avx_unaligned_erms"),
            "__memmove_avx_unaligned_erms"
        );
    }
}
