//! One child process of the run (a `mall` process or the run's NATS server): started with
//! its output in a log file, killed with SIGKILL, paused with SIGSTOP, stopped with SIGTERM,
//! and "up" when each of its probes answers (`/healthz`: under load a restarted consumer may
//! stay behind the log's head for a while, so `/readyz` is no sign of a process being up).

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Why a process is not up.
#[derive(Debug, thiserror::Error)]
pub enum NotUp {
    #[error("{name} exited ({status}) on start: {error}")]
    Exited {
        name: String,
        status: std::process::ExitStatus,
        /// The last line of its log that is not a backtrace.
        error: String,
    },
    #[error("{name} did not answer within {within:?} ({why}); the end of its log:\n{tail}")]
    Silent {
        name: String,
        within: Duration,
        why: String,
        tail: String,
    },
}

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
    pub async fn ready(&mut self, http: &reqwest::Client, within: Duration) -> Result<(), NotUp> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return Err(NotUp::Exited {
                    name: self.name.clone(),
                    status,
                    error: self.last_error(),
                });
            }
            let mut failing = None;
            for probe in &self.probes {
                if let Err(why) = answers(http, probe).await {
                    failing = Some(why);
                    break;
                }
            }
            let Some(why) = failing else {
                return Ok(());
            };
            if Instant::now() > deadline {
                return Err(NotUp::Silent {
                    name: self.name.clone(),
                    within,
                    why,
                    tail: self.log_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn last_error(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .rev()
            .find(|l| l.starts_with("Error") || l.contains("ERROR"))
            .unwrap_or("(nothing in its log)")
            .to_owned()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A failed run must not leave its processes behind.
        self.kill();
    }
}

/// `Ok` when the probe answers; otherwise what it answered.
async fn answers(http: &reqwest::Client, probe: &Probe) -> Result<(), String> {
    match probe {
        Probe::Http(url) => {
            let response = http
                .get(url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            if response.status().is_success() {
                return Ok(());
            }
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            Err(format!("{url} answered {status}: {body}"))
        }
        Probe::Tcp(addr) => tokio::net::TcpStream::connect(addr)
            .await
            .map(drop)
            .map_err(|e| format!("{addr}: {e}")),
    }
}
