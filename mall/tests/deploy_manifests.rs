//! The Kubernetes manifests in deploy/ agree with the binary: every flag they pass exists,
//! each role listens on the port its Service and probes expect, and the BFF's configuration
//! they mount is one the BFF accepts.

use std::path::{Path, PathBuf};
use std::process::Command;

use mall::BFF_PORT;
use mall_services::Role;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn manifest(name: &str) -> String {
    let path = deploy_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The container's arguments: the `- ` items under `args:`, in order.
fn args(manifest: &str) -> Vec<String> {
    let mut lines = manifest.lines().skip_while(|l| l.trim() != "args:").skip(1);
    let mut out = Vec::new();
    for line in lines.by_ref() {
        let Some(item) = line.trim().strip_prefix("- ") else {
            break;
        };
        out.push(item.trim().to_owned());
    }
    out
}

fn value_after<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).map(String::as_str)
}

fn container_port(manifest: &str) -> u16 {
    manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("containerPort:"))
        .and_then(|p| p.trim().parse().ok())
        .expect("a containerPort")
}

fn help() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mall"))
        .arg("--help")
        .output()
        .expect("mall --help runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_flag_the_manifests_pass_exists() {
    let help = help();
    for name in [
        "order.yaml",
        "delivery.yaml",
        "product.yaml",
        "mypage.yaml",
        "bff.yaml",
    ] {
        let args = args(&manifest(name));
        assert!(!args.is_empty(), "{name} passes arguments");
        for flag in args.iter().filter(|a| a.starts_with("--")) {
            assert!(help.contains(flag.as_str()), "{name}: `mall` has no {flag}");
        }
    }
}

#[test]
fn each_role_listens_where_its_service_points() {
    for role in Role::ALL {
        let text = manifest(&format!("{}.yaml", role.name()));
        let args = args(&text);
        assert_eq!(value_after(&args, "--target"), Some(role.name()));
        assert_eq!(container_port(&text), role.default_port(), "{role:?}");
        let url = format!("http://{}:{}", role.name(), role.default_port());
        let flag = format!("--{}-url", role.name());
        assert_eq!(value_after(&args, &flag), Some(url.as_str()), "{role:?}");
        assert!(
            value_after(&args, "--bus").is_some_and(|b| b.starts_with("nats://")),
            "{role:?} alone needs the shared bus"
        );
    }
    let bff = manifest("bff.yaml");
    assert_eq!(value_after(&args(&bff), "--target"), Some("bff"));
    assert_eq!(container_port(&bff), BFF_PORT);
}

#[test]
fn the_mounted_bff_configuration_is_valid() {
    let text = manifest("bff-config.yaml");
    let toml: String = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("bff.toml: |"))
        .skip(1)
        .map(|l| l.strip_prefix("    ").unwrap_or(l.trim()))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(toml.contains("[resilience.all]"), "{toml}");
    mall_bff::BffConfig::from_toml(&toml).expect("the BFF accepts the mounted configuration");
}
