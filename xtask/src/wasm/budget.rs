//! Size budgets of the shipped bundles, checked by `cargo xtask test`.
//!
//! Each bundle's budget lives in its crate's Cargo.toml, next to the code it limits:
//!
//! ```toml
//! [package.metadata.mall]
//! brotli-budget = 25000   # bytes: every file the bundle ships (wasm + JS), brotli -q 11
//! brotli-target = 25000   # optional: the goal, when the budget is a ratchet above it
//! ```
//!
//! Sizes are deterministic (the same code compresses to the same bytes), so this is an exact
//! check, not a timing: a bundle that grows past its budget fails the test run with its size,
//! its budget and what to do. A budget above its target is a ratchet: lower it as the bundle
//! shrinks, never raise it without saying why in the commit.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::sizes::measure;
use super::Bundle;

/// A bundle's size limits, from `[package.metadata.mall]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Budget {
    /// The most the bundle may weigh (brotli bytes, all files).
    pub brotli_budget: usize,
    /// Where it should get to, when the budget is a ratchet above it.
    pub brotli_target: Option<usize>,
}

#[derive(Deserialize)]
struct CargoToml {
    package: Package,
}

#[derive(Deserialize)]
struct Package {
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Default, Deserialize)]
struct Metadata {
    mall: Option<Budget>,
}

/// Reads a crate's budget from its Cargo.toml.
pub fn of(dir: impl AsRef<Path>) -> Result<Budget> {
    let path = dir.as_ref().join("Cargo.toml");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let parsed: CargoToml =
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    parsed.package.metadata.mall.with_context(|| {
        format!(
            "{} has no [package.metadata.mall] brotli-budget: every bundle needs a size budget",
            path.display()
        )
    })
}

/// The brotli size of every file a bundle directory ships to the browser (wasm, JS,
/// snippets): the precompressed copies and the first queries (which the BFF reads) left out.
pub fn brotli_size(dir: &Path) -> Result<usize> {
    let mut total = 0;
    for file in shipped(dir)? {
        let bytes = fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        total += measure(&bytes)?.brotli;
    }
    Ok(total)
}

fn shipped(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for item in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = item?.path();
            if path.is_dir() {
                todo.push(path);
            } else if !matches!(path.extension().and_then(|e| e.to_str()), Some("gz" | "br"))
                && path.file_name() != Some(super::first_queries::FILE.as_ref())
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One bundle's reading against its budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    pub name: String,
    pub brotli: usize,
    pub budget: Budget,
}

impl Reading {
    pub fn over(&self) -> bool {
        self.brotli > self.budget.brotli_budget
    }

    /// One line of the report.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{:<10} {:>9} brotli  budget {:>9}",
            self.name,
            kb(self.brotli),
            kb(self.budget.brotli_budget)
        );
        if let Some(target) = self.budget.brotli_target {
            if target < self.budget.brotli_budget {
                line.push_str(&format!("  (ratchet; target {})", kb(target)));
            }
        }
        line.push_str(if self.over() { "  OVER" } else { "  ok" });
        line
    }
}

fn kb(n: usize) -> String {
    format!("{:.1} kB", n as f64 / 1000.0)
}

/// Measures each built bundle (`(bundle, its directory in dist/)`) against its budget; fails
/// naming every bundle over its budget.
pub fn check(bundles: &[(Bundle, PathBuf)]) -> Result<Vec<Reading>> {
    crate::step("bundle sizes against their budgets (brotli -q 11, every shipped file)");
    let mut readings = Vec::new();
    for (bundle, dir) in bundles {
        let reading = Reading {
            name: bundle.name.to_owned(),
            brotli: brotli_size(dir)?,
            budget: of(bundle.dir)?,
        };
        println!("{}", reading.line());
        readings.push(reading);
    }
    let over: Vec<String> = readings
        .iter()
        .filter(|r| r.over())
        .map(|r| {
            format!(
                "{} weighs {} brotli, over its budget of {}",
                r.name, r.brotli, r.budget.brotli_budget
            )
        })
        .collect();
    if !over.is_empty() {
        bail!(
            "{}. Find what grew (`cargo xtask bench --only 5` sizes each bundle's code per \
             crate) and take it out; raise `brotli-budget` in the crate's Cargo.toml only on \
             purpose.",
            over.join("; ")
        );
    }
    Ok(readings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundle_has_a_budget_within_the_issue_targets_or_a_ratchet() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for bundle in super::super::COMPONENTS
            .iter()
            .chain([&super::super::SHELL])
        {
            let budget = of(root.join(bundle.dir)).expect("a budget");
            let target = if bundle.name == "shell" {
                25_000
            } else {
                60_000
            };
            match budget.brotli_target {
                Some(t) => assert_eq!(t, target, "{}: the target is the issue's", bundle.name),
                None => assert!(
                    budget.brotli_budget <= target,
                    "{}: a budget above {target} must write its target beside it",
                    bundle.name
                ),
            }
        }
    }

    #[test]
    fn a_bundle_over_its_budget_fails_the_check() {
        let dir = std::env::temp_dir().join(format!("mall-budget-{}", std::process::id()));
        fs::create_dir_all(dir.join("snippets")).expect("dir");
        // Incompressible bytes, so brotli cannot hide the growth.
        let mut noise = Vec::new();
        let mut x: u32 = 12345;
        for _ in 0..5_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            noise.push((x >> 16) as u8);
        }
        fs::write(dir.join("a_bg.wasm"), &noise).expect("wasm");
        fs::write(dir.join("snippets/inline0.js"), &noise).expect("snippet");
        fs::write(dir.join("a_bg.wasm.br"), &noise).expect("precompressed copy");
        let size = brotli_size(&dir).expect("size");
        assert!((10_000..10_100).contains(&size), "{size}");
        let reading = |budget| Reading {
            name: "product".into(),
            brotli: size,
            budget: Budget {
                brotli_budget: budget,
                brotli_target: Some(60_000),
            },
        };
        assert!(reading(size - 1).over());
        assert!(!reading(size).over());
        assert!(reading(size).line().contains("ok"));
        fs::remove_dir_all(dir).expect("cleanup");
    }
}
