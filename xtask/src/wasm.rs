//! Builds the shell and the component bundles into `dist/`.
//!
//! For each bundle: `cargo build --profile wasm-release --target wasm32-unknown-unknown -p CRATE`,
//! then the wasm-bindgen CLI (`--target web`), then binaryen from npm (Debian's breaks
//! wasm-bindgen's externref table): `wasm-metadce` drops the exports the glue does not use,
//! `wasm-opt -Oz` optimises, `wasm-opt --minify-imports-and-exports-and-modules` shortens the
//! names, which [`trim`] carries into the glue. Laid out as
//! `dist/components/<name>/<version>/` (the shell as `dist/shell/<version>/` plus
//! `dist/index.html`), with the component's declared first queries beside its bundle
//! ([`first_queries`]), and the component's entry written into `dist/components.json`.
//! Building some components leaves the shell, the other bundles and their entries untouched.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

pub mod budget;
pub mod first_queries;
pub mod manifest;
pub mod sizes;
pub mod trim;

use crate::step;
use manifest::Entry;

/// The mount contract version the bundles built from this tree implement (mall-kit's
/// `CONTRACT_VERSION`).
pub const CONTRACT: u32 = 1;

/// Where the built site goes.
pub const DIST: &str = "dist";

/// A crate built into one wasm bundle.
#[derive(Clone, Copy, Debug)]
pub struct Bundle {
    /// The name in components.json (and in `--component`).
    pub name: &'static str,
    /// The cargo package.
    pub package: &'static str,
    /// The crate's directory, relative to the workspace root.
    pub dir: &'static str,
    /// Cargo features every build of the bundle turns on.
    pub features: &'static [&'static str],
}

impl Bundle {
    /// The module name wasm-bindgen gives the output files.
    pub fn out_name(&self) -> String {
        self.package.replace('-', "_")
    }
}

/// The shell.
pub const SHELL: Bundle = Bundle {
    name: "shell",
    package: "mall-shell",
    dir: "frontend",
    // no_std with its own panic handler (frontend/src/lib.rs).
    features: &["bundle"],
};

/// The micro-frontends, in page order.
pub const COMPONENTS: [Bundle; 3] = [
    Bundle {
        name: "product",
        package: "product-component",
        dir: "components/product",
        features: &[],
    },
    Bundle {
        name: "order",
        package: "order-component",
        dir: "components/order",
        features: &[],
    },
    Bundle {
        name: "delivery",
        package: "delivery-component",
        dir: "components/delivery",
        features: &[],
    },
];

/// Finds a component by its manifest name.
pub fn component(name: &str) -> Result<Bundle> {
    COMPONENTS
        .iter()
        .copied()
        .find(|b| b.name == name)
        .with_context(|| {
            let known: Vec<_> = COMPONENTS.iter().map(|b| b.name).collect();
            format!("unknown component {name:?}; the components are {known:?}")
        })
}

/// Builds the named components (all of them and the shell when `only` is empty).
pub fn build(only: &[String]) -> Result<()> {
    let bundles: Vec<Bundle> = if only.is_empty() {
        COMPONENTS.to_vec()
    } else {
        only.iter().map(|n| component(n)).collect::<Result<_>>()?
    };
    let wasm_opt = wasm_opt()?;
    let dist = Path::new(DIST);
    let mut report = Vec::new();
    let mut manifest = if only.is_empty() {
        manifest::Manifest::default()
    } else {
        manifest::read(&dist.join(manifest::FILE))?
    };
    for bundle in &bundles {
        let version = crate_version(bundle.dir)?;
        let out = dist.join("components").join(bundle.name).join(&version);
        build_bundle(bundle, &[], &out, &wasm_opt)?;
        let entry = format!(
            "components/{}/{}/{}.js",
            bundle.name,
            version,
            bundle.out_name()
        );
        manifest.insert(
            bundle.name.to_owned(),
            Entry {
                version,
                entry,
                contract: CONTRACT,
            },
        );
        report.push((bundle.name.to_owned(), out, bundle.out_name()));
    }
    if only.is_empty() {
        let version = crate_version(SHELL.dir)?;
        let out = dist.join("shell").join(&version);
        build_bundle(&SHELL, &[], &out, &wasm_opt)?;
        let shell = format!("shell/{version}/{}", SHELL.out_name());
        write_index(dist, &shell)?;
        report.push(("shell".to_owned(), out, SHELL.out_name()));
    }
    let path = dist.join(manifest::FILE);
    manifest::write(&path, &manifest)?;
    step(&format!("wrote {}", path.display()));
    sizes::print(&report)
}

/// Every bundle where a full build of this tree leaves it in `dist/` (by its crate's version).
pub fn built() -> Result<Vec<(Bundle, PathBuf)>> {
    let dist = Path::new(DIST);
    let mut out = Vec::new();
    for bundle in COMPONENTS {
        let version = crate_version(bundle.dir)?;
        out.push((
            bundle,
            dist.join("components").join(bundle.name).join(version),
        ));
    }
    let version = crate_version(SHELL.dir)?;
    out.push((SHELL, dist.join("shell").join(version)));
    Ok(out)
}

/// Builds one component with extra cargo features into `dist/components/<name>/<version>/`
/// without touching components.json; returns its manifest entry (for test-only variants).
pub fn build_variant(name: &str, features: &[&str], version: &str) -> Result<Entry> {
    let bundle = component(name)?;
    let wasm_opt = wasm_opt()?;
    let out = Path::new(DIST)
        .join("components")
        .join(bundle.name)
        .join(version);
    build_bundle(&bundle, features, &out, &wasm_opt)?;
    sizes::print(&[(format!("{name} ({version})"), out, bundle.out_name())])?;
    Ok(Entry {
        version: version.to_owned(),
        entry: format!(
            "components/{}/{}/{}.js",
            bundle.name,
            version,
            bundle.out_name()
        ),
        contract: CONTRACT,
    })
}

/// Deploys one component on its own: builds it as `version` into
/// `dist/components/<name>/<version>/` and points its components.json entry there, touching
/// nothing else. Returns the entry it replaced.
pub fn deploy(name: &str, version: &str) -> Result<Option<Entry>> {
    let bundle = component(name)?;
    let wasm_opt = wasm_opt()?;
    let dist = Path::new(DIST);
    let out = dist.join("components").join(bundle.name).join(version);
    build_bundle_as(&bundle, &[], Some(version), &out, &wasm_opt)?;
    let path = dist.join(manifest::FILE);
    let mut current = manifest::read(&path)?;
    let previous = current.insert(
        name.to_owned(),
        Entry {
            version: version.to_owned(),
            entry: format!(
                "components/{}/{}/{}.js",
                bundle.name,
                version,
                bundle.out_name()
            ),
            contract: CONTRACT,
        },
    );
    manifest::write(&path, &current)?;
    step(&format!(
        "deployed {name} {version}: {} updated",
        path.display()
    ));
    Ok(previous)
}

/// Puts a component's components.json entry back (after a test deploy).
pub fn restore(name: &str, entry: Entry) -> Result<()> {
    let path = Path::new(DIST).join(manifest::FILE);
    let mut current = manifest::read(&path)?;
    current.insert(name.to_owned(), entry);
    manifest::write(&path, &current)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn build_bundle(bundle: &Bundle, features: &[&str], out: &Path, wasm_opt: &Path) -> Result<()> {
    build_bundle_as(bundle, features, None, out, wasm_opt)
}

/// Builds a bundle; `version` (when given) is compiled in as `MALL_BUNDLE_VERSION`, which the
/// component reports instead of its crate version.
fn build_bundle_as(
    bundle: &Bundle,
    features: &[&str],
    version: Option<&str>,
    out: &Path,
    wasm_opt: &Path,
) -> Result<()> {
    let mut args = vec![
        "build",
        "--profile",
        "wasm-release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        bundle.package,
    ];
    let features: Vec<&str> = bundle.features.iter().chain(features).copied().collect();
    let joined = features.join(",");
    if !features.is_empty() {
        args.extend(["--features", joined.as_str()]);
    }
    step(&format!(
        "building {} (cargo {})",
        bundle.name,
        args.join(" ")
    ));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(&args).env_remove("MALL_BUNDLE_VERSION");
    if let Some(version) = version {
        command.env("MALL_BUNDLE_VERSION", version);
    }
    run(&mut command)?;
    let wasm = target_dir()
        .join("wasm32-unknown-unknown")
        .join("wasm-release")
        .join(format!("{}.wasm", bundle.out_name()));
    ensure!(wasm.exists(), "cargo did not produce {}", wasm.display());

    let staging = target_dir().join("wasm-bindgen").join(bundle.name);
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("clearing {}", staging.display()))?;
    }
    step(&format!("wasm-bindgen --target web {}", bundle.name));
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&staging)
        .args(["--out-name", &bundle.out_name()])
        .arg(&wasm))?;

    let bg = staging.join(format!("{}_bg.wasm", bundle.out_name()));
    let glue = staging.join(format!("{}.js", bundle.out_name()));
    let js = fs::read_to_string(&glue).with_context(|| format!("reading {}", glue.display()))?;
    let (js, dropped) = trim::drop_classes(&js, &trim::UNUSED_CLASSES)?;
    let graph = target_dir()
        .join("wasm-bindgen")
        .join(format!("{}.metadce.json", bundle.name));
    fs::write(&graph, trim::metadce_graph(&trim::used_exports(&js)))
        .with_context(|| format!("writing {}", graph.display()))?;
    step(&format!(
        "wasm-metadce {} (dropping the exports the glue does not use{})",
        bg.display(),
        if dropped.is_empty() {
            String::new()
        } else {
            format!(": {}", dropped.join(", "))
        }
    ));
    let metadce = wasm_opt.with_file_name("wasm-metadce");
    let dce = Command::new(&metadce)
        .args(WASM_FEATURES)
        .arg("-f")
        .arg(&graph)
        .arg(&bg)
        .arg("-o")
        .arg(&bg)
        .output()
        .with_context(|| format!("running {}", metadce.display()))?;
    ensure!(
        dce.status.success(),
        "wasm-metadce failed ({}): {}",
        dce.status,
        String::from_utf8_lossy(&dce.stderr)
    );

    step(&format!("wasm-opt -Oz {}", bg.display()));
    run(Command::new(wasm_opt)
        .arg("-Oz")
        .args(WASM_OPT_EXTRA)
        .args(WASM_FEATURES)
        .arg(&bg)
        .arg("-o")
        .arg(&bg))?;

    step(&format!(
        "wasm-opt --minify-imports-and-exports-and-modules {}",
        bg.display()
    ));
    let minify = Command::new(wasm_opt)
        .args(WASM_FEATURES)
        .arg("--minify-imports-and-exports-and-modules")
        .arg(&bg)
        .arg("-o")
        .arg(&bg)
        .output()
        .with_context(|| format!("running {}", wasm_opt.display()))?;
    ensure!(
        minify.status.success(),
        "wasm-opt --minify-imports-and-exports-and-modules failed ({}): {}",
        minify.status,
        String::from_utf8_lossy(&minify.stderr)
    );
    let minified: trim::Minified =
        serde_json::from_slice(&minify.stdout).context("reading the names wasm-opt minified")?;
    let wasm = fs::read(&bg).with_context(|| format!("reading {}", bg.display()))?;
    let js = trim::rename(&js, &minified, &trim::import_module(&wasm)?)?;
    fs::write(&glue, js).with_context(|| format!("writing {}", glue.display()))?;

    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    copy_dir(&staging, out)?;
    first_queries::write(Path::new(bundle.dir), out)?;
    sizes::precompress(out)
}

/// Beyond `-Oz`: run the passes until the module stops shrinking; fold constant offsets into
/// loads and stores, which is sound because rustc's wasm32 output never addresses the first
/// kilobyte of memory through wrapped pointer arithmetic (the stack sits below 1 MiB and
/// grows down from there, data and heap above it); and drop the `producers` and
/// `target_features` sections, which only tools read (wasm-bindgen has already run).
/// Together about one kilobyte of brotli per bundle.
const WASM_OPT_EXTRA: &[&str] = &[
    "--converge",
    "--low-memory-unused",
    "--strip-producers",
    "--strip-target-features",
];

/// The wasm features rustc's wasm32-unknown-unknown target emits (and every current browser
/// runs); wasm-opt must accept them and may use no others.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// The npm binaryen's wasm-opt, checked to be version 132.
pub fn wasm_opt() -> Result<PathBuf> {
    let path = Path::new("node_modules").join(".bin").join("wasm-opt");
    ensure!(
        path.exists(),
        "{} is missing: run `npm ci` (cargo xtask does it in setup)",
        path.display()
    );
    let output = Command::new(&path)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", path.display()))?;
    let version = String::from_utf8_lossy(&output.stdout);
    ensure!(
        version.contains("version 132"),
        "{} says {:?}; the build needs binaryen 132 from npm (older ones break wasm-bindgen output)",
        path.display(),
        version.trim()
    );
    Ok(path)
}

/// The `version` of a crate's Cargo.toml `[package]`.
pub fn crate_version(dir: impl AsRef<Path>) -> Result<String> {
    let path = dir.as_ref().join("Cargo.toml");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(value) = line.strip_prefix("version") {
                let value = value.trim_start();
                if let Some(value) = value.strip_prefix('=') {
                    let v = value.trim().trim_matches('"');
                    ensure!(
                        !v.is_empty() && !value.contains("workspace"),
                        "{} must give its own version",
                        path.display()
                    );
                    return Ok(v.to_owned());
                }
            }
        }
    }
    bail!("no [package] version in {}", path.display())
}

/// Writes the document template: the shell's module and wasm (`shell` is their path without
/// `.js` / `_bg.wasm`) filled in; the BFF fills in the manifest, the components' hints and
/// who is signed in per request.
fn write_index(dist: &Path, shell: &str) -> Result<()> {
    let template = Path::new(SHELL.dir).join("index.html");
    let html =
        fs::read_to_string(&template).with_context(|| format!("reading {}", template.display()))?;
    for mark in [
        "{{SHELL_ENTRY}}",
        "{{SHELL_WASM}}",
        "<!--mall:preload-->",
        "<!--mall:manifest-->",
        "<!--mall:session-->",
        "<!--mall:account-name-->",
    ] {
        ensure!(
            html.contains(mark),
            "{} lacks the {mark} placeholder",
            template.display()
        );
    }
    let path = dist.join("index.html");
    let html = html
        .replace("{{SHELL_ENTRY}}", &format!("{shell}.js"))
        .replace("{{SHELL_WASM}}", &format!("{shell}_bg.wasm"));
    fs::write(&path, html).with_context(|| format!("writing {}", path.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for item in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let item = item?;
        let target = to.join(item.file_name());
        if item.file_type()?.is_dir() {
            copy_dir(&item.path(), &target)?;
        } else {
            fs::copy(item.path(), &target)
                .with_context(|| format!("copying to {}", target.display()))?;
        }
    }
    Ok(())
}

fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    ensure!(status.success(), "{command:?} failed ({status})");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_crate_has_its_own_version() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for bundle in COMPONENTS.iter().chain([&SHELL]) {
            let version = crate_version(root.join(bundle.dir)).expect("a version");
            assert!(version.split('.').count() == 3, "{version}");
        }
    }

    #[test]
    fn unknown_components_are_refused_by_name() {
        let error = component("basket").expect_err("no basket component");
        assert!(error.to_string().contains("product"));
    }

    #[test]
    fn the_contract_matches_the_kit() {
        let kit = include_str!("../../components/kit/src/contract.rs");
        assert!(kit.contains(&format!("pub const CONTRACT_VERSION: u32 = {CONTRACT};")));
    }
}
