//! The external OpenID provider of the `oidc` project: the npm `oidc-provider` that the
//! `mall-auth` tests start (`auth/tests/oidc-provider/`, installed by `cargo xtask`'s setup),
//! on a free port, with its development sign-in pages. Its client `mall` takes the mall's
//! callback at any loopback port (RFC 8252), since the mall starts after it on a free port.
//! Stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

// Where the provider's script and npm package are.
use crate::setup::OIDC_PROVIDER as DIR;
use crate::step;

/// What the shop's sign-in page calls it.
pub const NAME: &str = "Test ID";

/// How long the provider may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The running provider.
pub struct OidcProvider {
    child: Child,
    /// Its issuer URL (`http://127.0.0.1:PORT`).
    pub issuer: String,
}

impl OidcProvider {
    pub fn start() -> Result<OidcProvider> {
        step(&format!(
            "starting the OpenID provider (node {DIR}/provider.mjs)"
        ));
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(DIR)
            .env("PORT", "0")
            .env("REDIRECT_URI", "http://127.0.0.1/auth/oidc/callback")
            .env("REDIRECT_ANY_PORT", "1")
            .stdout(Stdio::piped())
            .spawn()
            .context("starting node (Node.js runs the OpenID provider)")?;
        let stdout = child.stdout.take().context("the provider's stdout")?;
        let (tx, rx) = mpsc::channel();
        // Keeps reading: a closed pipe would end the provider at its next line.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("[oidc-provider] {line}");
                if let Some(issuer) = line.strip_prefix("issuer ") {
                    let _ = tx.send(issuer.trim().to_owned());
                }
            }
        });
        let mut provider = OidcProvider {
            child,
            issuer: String::new(),
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(issuer) => provider.issuer = issuer,
            Err(_) => bail!("the OpenID provider did not start within {START_TIMEOUT:?}"),
        }
        Ok(provider)
    }

    /// Writes a BFF configuration that signs in at this provider (staff: its `shop-staff`
    /// group) to `path`.
    pub fn write_bff_config(&self, path: &Path) -> Result<()> {
        std::fs::write(path, bff_config(&self.issuer))
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// The `[auth.oidc]` section for a provider at `issuer`.
fn bff_config(issuer: &str) -> String {
    format!(
        "[auth.oidc]\n\
         issuer = \"{issuer}\"\n\
         client_id = \"mall\"\n\
         client_secret = \"mall-test-secret\"\n\
         staff_claim = \"groups\"\n\
         staff_values = [\"shop-staff\"]\n\
         name = \"{NAME}\"\n"
    )
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        step(&format!(
            "stopping the OpenID provider (pid {})",
            self.child.id()
        ));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bff_configuration_parses_as_an_oidc_section() {
        let text = super::bff_config("http://127.0.0.1:4000");
        let value: toml::Value = toml::from_str(&text).expect("TOML");
        assert_eq!(
            value["auth"]["oidc"]["issuer"].as_str(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(value["auth"]["oidc"]["name"].as_str(), Some(super::NAME));
    }
}
