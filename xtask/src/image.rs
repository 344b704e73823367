//! `cargo xtask image`: the one `mall` image, built offline with Debian's podman from
//! deploy/Containerfile: a static musl binary, the built shop and GraphiQL's files on
//! `scratch`, so nothing is pulled from a registry.
//!
//! The steps, each announced: install what is missing from Debian (podman, musl-tools for the
//! C parts of SQLite and ring, ca-certificates), add the musl target, build the bundles into
//! `dist/`, build the release binary for musl and check that it is static, stage the build
//! context under `target/image/context` in the layout the Containerfile describes, then
//! `podman build` and `podman image inspect`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};

use crate::{setup, step, wasm};

/// The Rust target of the image's binary: static, so it runs on `scratch`.
pub const MUSL: &str = "x86_64-unknown-linux-musl";

/// The image's name; the tag is the `mall` crate's version (deploy/kustomization.yaml
/// deploys the same).
pub const NAME: &str = "12st-mall";

const CONTAINERFILE: &str = "deploy/Containerfile";
const CONTEXT: &str = "target/image/context";
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The npm packages GraphiQL is served from (bff/src/graphiql.rs reads them at start).
const GRAPHIQL_PACKAGES: [&str; 3] = ["graphiql", "react", "react-dom"];

/// Debian packages the build needs: the program that shows each is there, and its package.
const DEBIAN_PACKAGES: [(&str, &str); 3] = [
    ("podman", "podman"),
    ("musl-gcc", "musl-tools"),
    (CA_BUNDLE, "ca-certificates"),
];

/// What goes into the image, before staging.
#[derive(Debug)]
pub struct Inputs {
    pub binary: PathBuf,
    pub dist: PathBuf,
    pub node_modules: PathBuf,
    pub ca_bundle: PathBuf,
}

/// Builds the image and tags it `12st-mall:<version>` (or `tag`).
pub fn build(tag: Option<String>) -> Result<()> {
    debian_packages()?;
    musl_target()?;
    setup::ensure_all()?;
    wasm::build(&[])?;
    let binary = musl_binary()?;
    let version = wasm::crate_version("mall")?;
    let tag = tag.unwrap_or_else(|| format!("{NAME}:{version}"));
    let inputs = Inputs {
        binary,
        dist: PathBuf::from(wasm::DIST),
        node_modules: PathBuf::from("node_modules"),
        ca_bundle: PathBuf::from(CA_BUNDLE),
    };
    step(&format!("staging the build context in {CONTEXT}"));
    stage(&inputs, Path::new(CONTEXT))?;
    step(&format!(
        "building the image {tag} (podman build -f {CONTAINERFILE})"
    ));
    podman_build(
        Path::new(CONTAINERFILE),
        Path::new(CONTEXT),
        &tag,
        &version,
        false,
    )?;
    let summary = inspect(&tag)?;
    step(&format!(
        "built {tag}: {summary}; load it into the cluster's registry and `kubectl apply -k deploy/`"
    ));
    Ok(())
}

/// Installs the Debian packages that are missing, saying which and why.
fn debian_packages() -> Result<()> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(program, _)| !present(program))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        step("podman, musl-tools and ca-certificates: already installed");
        return Ok(());
    }
    let list = missing.join(" ");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root {
        bail!("the image needs the Debian packages {list}: run `sudo apt-get install -y {list}`");
    }
    step(&format!(
        "installing {list} from Debian (podman builds the image, musl-gcc compiles the C parts \
         of the static binary, ca-certificates gives the image its CA bundle)"
    ));
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Whether a program is on the PATH (or, for an absolute path, the file exists).
fn present(program: &str) -> bool {
    if Path::new(program).is_absolute() {
        return Path::new(program).exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

fn musl_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (the image's binary needs the musl target)")?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|t| t.trim() == MUSL)
    {
        step(&format!("{MUSL} target: already installed"));
        return Ok(());
    }
    step(&format!("installing the {MUSL} target (rustup target add)"));
    run(Command::new("rustup").args(["target", "add", MUSL]))
}

/// Builds the release binary for musl and checks that it needs no dynamic loader.
fn musl_binary() -> Result<PathBuf> {
    step(&format!(
        "building the static mall binary (cargo build --release --target {MUSL} -p mall)"
    ));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo)
        .args(["build", "--release", "--target", MUSL, "-p", "mall"])
        // The C parts (SQLite, ring) are compiled by musl-gcc, against musl's headers.
        .env("CC_x86_64_unknown_linux_musl", "musl-gcc"))?;
    let binary = Path::new("target").join(MUSL).join("release").join("mall");
    let bytes = fs::read(&binary).with_context(|| format!("reading {}", binary.display()))?;
    ensure!(
        !needs_loader(&bytes)?,
        "{} asks for a dynamic loader, so it cannot start on `scratch`",
        binary.display()
    );
    Ok(binary)
}

/// Whether an ELF executable names a program interpreter (a dynamic loader such as
/// ld-linux): a static binary has no `PT_INTERP` program header.
fn needs_loader(elf: &[u8]) -> Result<bool> {
    use object::read::elf::{FileHeader, ProgramHeader};
    let header = object::elf::FileHeader64::<object::Endianness>::parse(elf)
        .context("not a 64-bit ELF file")?;
    let endian = header
        .endian()
        .context("an ELF file of unknown byte order")?;
    let programs = header
        .program_headers(endian, elf)
        .context("unreadable ELF program headers")?;
    Ok(programs
        .iter()
        .any(|p| p.p_type(endian) == object::elf::PT_INTERP))
}

/// Lays out the build context the Containerfile expects, replacing an earlier one.
pub fn stage(inputs: &Inputs, context: &Path) -> Result<()> {
    if context.exists() {
        fs::remove_dir_all(context).with_context(|| format!("clearing {}", context.display()))?;
    }
    fs::create_dir_all(context.join("data"))
        .with_context(|| format!("creating {}", context.display()))?;
    copy_file(&inputs.binary, &context.join("mall"))?;
    copy_file(&inputs.ca_bundle, &context.join("ca-certificates.crt"))?;
    ensure!(
        inputs.dist.join("index.html").is_file(),
        "{} has no index.html: run `cargo xtask build` first",
        inputs.dist.display()
    );
    copy_dir(&inputs.dist, &context.join("dist"))?;
    for package in GRAPHIQL_PACKAGES {
        let from = inputs.node_modules.join(package);
        ensure!(
            from.is_dir(),
            "{} is missing: run `npm install` at the repository root",
            from.display()
        );
        copy_dir(&from, &context.join("node_modules").join(package))?;
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for item in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let item = item?;
        let target = to.join(item.file_name());
        // Follows symbolic links, so the image holds the files themselves.
        if item.path().is_dir() {
            copy_dir(&item.path(), &target)?;
        } else {
            copy_file(&item.path(), &target)?;
        }
    }
    Ok(())
}

/// `podman build` of the Containerfile on the staged context.
pub fn podman_build(
    containerfile: &Path,
    context: &Path,
    tag: &str,
    version: &str,
    quiet: bool,
) -> Result<()> {
    let mut command = Command::new("podman");
    command.arg("build");
    if quiet {
        command.arg("--quiet").stdout(Stdio::null());
    }
    run(command
        .arg("--file")
        .arg(containerfile)
        .args(["--tag", tag, "--build-arg"])
        .arg(format!("VERSION={version}"))
        .arg(context))
}

/// A line about the built image from `podman image inspect`: its size and how it starts.
fn inspect(tag: &str) -> Result<String> {
    let image = inspect_json(tag)?;
    let size = image["Size"].as_u64().unwrap_or_default();
    Ok(format!(
        "{:.1} MB, runs {} as user {}",
        size as f64 / 1e6,
        image["Config"]["Entrypoint"],
        image["Config"]["User"]
    ))
}

/// The one image `podman image inspect` describes.
pub fn inspect_json(tag: &str) -> Result<serde_json::Value> {
    let out = Command::new("podman")
        .args(["image", "inspect", tag])
        .output()
        .context("running podman image inspect")?;
    ensure!(
        out.status.success(),
        "podman image inspect {tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut images: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).context("reading podman image inspect's JSON")?;
    ensure!(
        images.len() == 1,
        "podman image inspect {tag}: not one image"
    );
    Ok(images.remove(0))
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
    fn a_dynamically_linked_binary_is_refused_for_scratch() {
        // This test's own executable is linked against glibc and names its loader.
        let me = fs::read(std::env::current_exe().expect("the test's path")).expect("readable");
        assert!(needs_loader(&me).expect("an ELF file"));
        assert!(needs_loader(b"#!/bin/sh\n").is_err());
        // Debian's ldconfig (package libc-bin, always installed) is static-pie, like the
        // mall's musl binary.
        let ldconfig = fs::read("/usr/sbin/ldconfig").expect("Debian's ldconfig");
        assert!(!needs_loader(&ldconfig).expect("an ELF file"));
    }

    /// Builds deploy/Containerfile on a staged context (this test's executable stands in for
    /// the musl binary, which only `cargo xtask image` builds) where podman is installed.
    #[test]
    fn the_containerfile_builds_on_scratch_and_starts_the_mall_unprivileged() {
        if !present("podman") {
            println!("podman is not installed: `cargo xtask image` installs it; not checked here");
            return;
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let scratch = Scratch::new();
        let dist = scratch.path().join("dist");
        fs::create_dir_all(dist.join("shell")).expect("dist");
        fs::write(dist.join("index.html"), "<!doctype html>").expect("index.html");
        let node_modules = scratch.path().join("node_modules");
        for package in GRAPHIQL_PACKAGES {
            fs::create_dir_all(node_modules.join(package)).expect("a package");
            fs::write(node_modules.join(package).join("package.json"), "{}").expect("a file");
        }
        let ca = scratch.path().join("ca.crt");
        fs::write(&ca, "").expect("a CA bundle");
        let inputs = Inputs {
            binary: std::env::current_exe().expect("the test's path"),
            dist,
            node_modules,
            ca_bundle: ca,
        };
        let context = scratch.path().join("context");
        stage(&inputs, &context).expect("staged");

        let tag = format!("localhost/{NAME}-test:{}", std::process::id());
        podman_build(&root.join(CONTAINERFILE), &context, &tag, "9.9.9", true)
            .expect("podman build");
        let image = inspect_json(&tag).expect("inspect");
        let files = exported_files(&tag);
        let _ = Command::new("podman")
            .args(["rmi", "--force", &tag])
            .output();

        let config = &image["Config"];
        assert_eq!(
            config["Entrypoint"],
            serde_json::json!(["/usr/local/bin/mall"])
        );
        assert_eq!(config["User"], "65534:65534", "never runs as root");
        let env: Vec<&str> = config["Env"]
            .as_array()
            .expect("Env")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        for wanted in [
            "MALL_HOST=0.0.0.0",
            "MALL_DIST=/srv/mall/dist",
            "MALL_DATA_DIR=/var/lib/mall",
            "MALL_BFF__NODE_MODULES=/srv/mall/node_modules",
        ] {
            assert!(env.contains(&wanted), "{wanted} in {env:?}");
        }
        for port in ["8081/tcp", "8082/tcp", "8083/tcp", "8084/tcp", "8088/tcp"] {
            assert!(config["ExposedPorts"].get(port).is_some(), "exposes {port}");
        }
        assert_eq!(
            config["Labels"]["org.opencontainers.image.version"],
            "9.9.9"
        );
        for wanted in [
            "usr/local/bin/mall",
            "srv/mall/dist/index.html",
            "srv/mall/node_modules/graphiql/package.json",
            "srv/mall/node_modules/react-dom/package.json",
            "etc/ssl/certs/ca-certificates.crt",
        ] {
            assert!(
                files.iter().any(|(f, _)| f == wanted),
                "{wanted} in the image"
            );
        }
        // The embedded default writes its data here as the unprivileged user.
        assert!(
            files
                .iter()
                .any(|(f, owner)| f.trim_end_matches('/') == "var/lib/mall"
                    && owner == "65534/65534"),
            "/var/lib/mall belongs to 65534: {files:?}"
        );
        let foreign: Vec<&String> = files
            .iter()
            .map(|(f, _)| f)
            .filter(|f| {
                !IMAGE_PATHS
                    .iter()
                    .any(|p| p.starts_with(f.as_str()) || f.starts_with(p))
            })
            .collect();
        assert!(
            foreign.is_empty(),
            "nothing but the mall's files: {foreign:?}"
        );
    }

    /// Where the mall's files go; an exported container adds the mount points podman
    /// creates for any container.
    const IMAGE_PATHS: [&str; 10] = [
        "usr/local/bin/mall",
        "srv/mall/",
        "etc/ssl/certs/ca-certificates.crt",
        "var/lib/mall/",
        "dev/",
        "proc/",
        "sys/",
        "run/",
        "etc/hosts",
        "etc/resolv.conf",
    ];

    /// A temporary directory of this test, removed when it ends.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            let path = std::env::temp_dir().join(format!("mall-image-test-{}", std::process::id()));
            fs::create_dir_all(&path).expect("a temporary directory");
            Scratch(path)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// The image's files and their numeric owners, from a container that is created (not
    /// started: containers cannot run on every machine that builds) and exported.
    fn exported_files(tag: &str) -> Vec<(String, String)> {
        let name = format!("{NAME}-test-{}", std::process::id());
        let created = Command::new("podman")
            .args(["create", "--name", &name, tag])
            .output()
            .expect("podman create");
        assert!(created.status.success(), "{created:?}");
        let listing = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "podman export {name} | tar --list --verbose --numeric-owner"
            ))
            .output()
            .expect("podman export");
        let _ = Command::new("podman").args(["rm", &name]).output();
        assert!(listing.status.success(), "{listing:?}");
        String::from_utf8_lossy(&listing.stdout)
            .lines()
            .filter_map(|l| {
                let fields: Vec<&str> = l.split_whitespace().collect();
                Some((fields.get(5)?.to_string(), fields.get(1)?.to_string()))
            })
            .collect()
    }
}
