//! The Python tools the tests use, pinned, in one virtualenv at `target/tools/venv`:
//! Schemathesis (fuzzes the services' OpenAPI documents and the BFF's GraphQL schema) and
//! kubernetes-validate (checks deploy/ against the Kubernetes schemas, offline).
//!
//! Idempotent and fast when done: a stamp file in the venv records the pinned list it was
//! installed from; when it matches and the tools' scripts still point at a Python that
//! exists, nothing runs. Changing a pin reinstalls.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::step;

/// Where the virtualenv lives, relative to the workspace root.
pub const VENV: &str = "target/tools/venv";

/// The PyPI packages and their pinned versions, with the command each one provides.
pub const PACKAGES: &[(&str, &str, &str)] = &[
    ("schemathesis", "4.32.5", "schemathesis"),
    ("kubernetes-validate", "1.37.0", "kubernetes-validate"),
];

/// Records what the venv was installed from.
const STAMP: &str = ".mall-requirements";

/// The path of a command installed in the venv (`tool("schemathesis")`).
pub fn tool(name: &str) -> PathBuf {
    Path::new(VENV).join("bin").join(name)
}

fn requirements() -> String {
    PACKAGES
        .iter()
        .map(|(name, version, _)| format!("{name}=={version}\n"))
        .collect()
}

/// Makes the venv and installs the pinned packages, unless that is already done.
pub fn ensure() -> Result<()> {
    let venv = Path::new(VENV);
    let wanted = requirements();
    let names = PACKAGES
        .iter()
        .map(|(n, v, _)| format!("{n} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let stamp = std::fs::read_to_string(venv.join(STAMP)).unwrap_or_default();
    if stamp == wanted && PACKAGES.iter().all(|(_, _, cmd)| runnable(&tool(cmd))) {
        step(&format!("Python tools ({names}): already installed"));
        return Ok(());
    }
    // The real path, not the one through the `target` symlink, goes into the scripts' `#!`
    // lines: they keep working from any checkout that shares this target directory.
    let parent = venv.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let real = parent
        .canonicalize()
        .with_context(|| format!("resolving {}", parent.display()))?
        .join("venv");
    let python = real.join("bin").join("python");
    if !runnable(&python) {
        step(&format!(
            "creating a Python virtualenv for the test tools (python3 -m venv {VENV})"
        ));
        run(
            Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(&real),
            "python3 -m venv (Debian: apt-get install python3-venv)",
        )?;
    }
    step(&format!(
        "installing the pinned Python tools into {VENV} (pip install {names})"
    ));
    let pins: Vec<String> = wanted.lines().map(str::to_owned).collect();
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(&pins),
        "pip install",
    )?;
    if !PACKAGES.iter().all(|(_, _, cmd)| runnable(&tool(cmd))) {
        step("a tool's script names a Python that is gone; reinstalling the pinned packages");
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(["--force-reinstall", "--no-deps"])
                .args(&pins),
            "pip install --force-reinstall",
        )?;
    }
    for (_, _, cmd) in PACKAGES {
        if !runnable(&tool(cmd)) {
            bail!(
                "pip installed the packages but {} is missing",
                tool(cmd).display()
            );
        }
    }
    std::fs::write(venv.join(STAMP), wanted).context("writing the venv's stamp")?;
    Ok(())
}

/// The file exists and, for a script, the interpreter its `#!` line names exists too (a
/// venv made through another checkout's path breaks when that checkout goes).
fn runnable(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    match bytes.strip_prefix(b"#!") {
        None => true,
        Some(rest) => {
            let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
            let interpreter = String::from_utf8_lossy(line);
            let interpreter = interpreter.split_whitespace().next().unwrap_or_default();
            Path::new(interpreter).exists()
        }
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_package_is_pinned_to_one_version() {
        for line in requirements().lines() {
            let (name, version) = line.split_once("==").expect("pinned");
            assert!(!name.is_empty());
            assert!(
                version.split('.').all(|p| p.parse::<u32>().is_ok()),
                "{line}"
            );
        }
        assert!(requirements().contains("schemathesis==4."));
    }

    #[test]
    fn a_script_whose_interpreter_is_gone_is_not_runnable() {
        let dir = std::env::temp_dir().join(format!("xtask-python-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let gone = dir.join("gone");
        std::fs::write(&gone, "#!/nowhere/python3\nprint(1)\n").expect("write");
        assert!(!runnable(&gone));
        let fine = dir.join("fine");
        std::fs::write(&fine, "#!/bin/sh\necho\n").expect("write");
        assert!(runnable(&fine));
        assert!(!runnable(&dir.join("missing")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
