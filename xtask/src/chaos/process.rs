//! One child process of the run (a `mall` process or the run's NATS server): started with
//! its output in a log file, killed with SIGKILL, paused with SIGSTOP, stopped with SIGTERM,
//! and "ready" when each of its probes answers.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Something that answers when the process is ready.
#[derive(Debug, Clone)]
pub enum Probe {
    /// An HTTP URL that answers 200.
    Http(String),
    /// A TCP address that accepts.
    Tcp(String),
}

#[derive(Debug)]
pub struct Process {
    pub name: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    probes: Vec<Probe>,
    child: Option<Child>,
}

impl Process {
    pub fn new(
        name: &str,
        program: PathBuf,
        args: Vec<String>,
        env: Vec<(String, String)>,
        log: PathBuf,
        probes: Vec<Probe>,
    ) -> Process {
        Process {
            name: name.to_owned(),
            program,
            args,
            env,
            log,
            probes,
            child: None,
        }
    }

    pub fn start(&mut self) -> Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} ({})", self.name, self.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) -> Result<()> {
        let Some(pid) = self.pid() else {
            bail!("{} is not running", self.name)
        };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill -{signal} {} ({}) failed", pid, self.name);
        }
        Ok(())
    }

    /// SIGTERM, then SIGKILL if it has not exited within 10 s.
    pub async fn stop(&mut self) {
        if self.signal("CONT").is_err() || self.signal("TERM").is_err() {
            self.kill();
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(None)) => tokio::time::sleep(Duration::from_millis(50)).await,
                _ => {
                    self.child = None;
                    return;
                }
            }
        }
        self.kill();
    }

    /// Waits until every probe answers, failing if the process exits or `within` passes.
    pub async fn ready(&mut self, http: &reqwest::Client, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                bail!("{} exited ({status}); {}", self.name, self.log_tail());
            }
            let mut all = true;
            for probe in &self.probes {
                if !answers(http, probe).await {
                    all = false;
                    break;
                }
            }
            if all {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} was not ready within {within:?}; {}",
                    self.name,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        format!("the end of its log:\n{tail}")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A failed run must not leave its processes behind.
        self.kill();
    }
}

async fn answers(http: &reqwest::Client, probe: &Probe) -> bool {
    match probe {
        Probe::Http(url) => http
            .get(url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success()),
        Probe::Tcp(addr) => tokio::net::TcpStream::connect(addr).await.is_ok(),
    }
}
