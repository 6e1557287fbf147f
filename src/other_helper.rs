//! Another credential helper (`docker-credential-NAME`) spoken to through its
//! own protocol (`list`, `get`, `store`, `erase`): how `migrate` moves
//! credentials out of it, `configure` sees whether it holds any, and
//! `unconfigure --move-back` returns them. No helper-specific code: what any
//! helper on `PATH` answers is all we use.
//!
//! Every call is bounded: a deadline per call (the child is killed when it
//! runs out, [`HELPER_TIMEOUT_ENV`]) and at most [`MAX_ANSWER`] bytes read.
//! The answers may hold secrets, so an error never quotes the helper's
//! stdout: it names the helper, the action, the exit status and at most a
//! sanitized first line of its stderr.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::protocol::ERR_NOT_FOUND;
use crate::secret::Secret;
use crate::store::Credential;

/// Seconds each call to another helper may take (default 60: Debian's
/// secretservice `list` of 1,000 credentials takes about 4 s, an unlock prompt longer).
pub(crate) const HELPER_TIMEOUT_ENV: &str = "DOCKER_CREDENTIAL_KEYRING_HELPER_TIMEOUT";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The most bytes read from one answer (a `list` of thousands of keys fits).
pub(crate) const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// The most bytes of a helper's stderr kept (for its first line in an error).
const MAX_STDERR: usize = 64 * 1024;

/// Helpers that mint short-lived credentials on `get` instead of keeping
/// what they are given: whatever their `list` says is not a store to move.
const MINTING: &[&str] = &["ecr-login", "gcr", "gcloud", "acr-env"];

/// Whether `name` is a helper whose credentials are minted, not stored.
pub(crate) fn mints_credentials(name: &str) -> bool {
    MINTING.contains(&name)
}

/// A `docker-credential-NAME` program found on `PATH`.
#[derive(Debug, Clone)]
pub(crate) struct OtherHelper {
    pub(crate) name: String,
    program: PathBuf,
    timeout: Duration,
}

/// What one call returned (the child exited in time).
struct Answer {
    status: ExitStatus,
    stdout: Zeroizing<Vec<u8>>,
    stderr: Vec<u8>,
}

/// upstream's `{"ServerURL","Username","Secret"}`, both ways.
#[derive(Serialize, Deserialize)]
struct WireCredential {
    #[serde(rename = "ServerURL")]
    server_url: String,
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: Secret,
}

impl OtherHelper {
    /// `docker-credential-NAME` as docker finds it on `PATH`.
    pub(crate) fn find(name: &str) -> Result<OtherHelper> {
        let plain = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if name.is_empty() || !name.chars().all(plain) {
            bail!(
                "{:?} is not a credential helper name (docker runs docker-credential-NAME)",
                crate::printable::clipped(name, 60)
            );
        }
        let program = crate::paths::program_on_path(&format!("docker-credential-{name}"))
            .ok_or_else(|| {
                anyhow!("docker-credential-{name} is not on PATH: install it, or put its directory on PATH")
            })?;
        Ok(OtherHelper {
            name: name.to_owned(),
            program,
            timeout: timeout(),
        })
    }

    /// The program's name as messages show it.
    pub(crate) fn program_name(&self) -> String {
        format!("docker-credential-{}", self.name)
    }

    /// `list`: server URL (as stored) -> username.
    pub(crate) fn list(&self) -> Result<BTreeMap<String, String>> {
        let answer = self.call("list", b"unused")?;
        let stdout = self.successful("list", &answer)?;
        let text = std::str::from_utf8(stdout).map_err(|_| {
            anyhow!(
                "{} list answered text that is not UTF-8",
                self.program_name()
            )
        })?;
        serde_json::from_str(text).map_err(|_| {
            anyhow!(
                "{} list did not answer a JSON object of server URLs and usernames",
                self.program_name()
            )
        })
    }

    /// `get`: the credential kept for `server`, `None` when the helper says
    /// it has none (upstream's "credentials not found in native keychain").
    pub(crate) fn get(&self, server: &str) -> Result<Option<Credential>> {
        let answer = self.call("get", server.as_bytes())?;
        if !answer.status.success() && is_not_found(&answer.stdout) {
            return Ok(None);
        }
        let stdout = self.successful("get", &answer)?;
        let wire: WireCredential = serde_json::from_slice(stdout).map_err(|_| {
            anyhow!(
                "{} get {} did not answer JSON {{\"ServerURL\",\"Username\",\"Secret\"}}",
                self.program_name(),
                crate::registry::shown(server)
            )
        })?;
        Ok(Some(Credential {
            // The spelling the helper keeps it under, whatever it echoes.
            server_url: server.to_owned(),
            username: wire.username,
            secret: wire.secret,
        }))
    }

    /// `store`: hands `credential` to the helper.
    pub(crate) fn store(&self, credential: &Credential) -> Result<()> {
        let wire = WireCredential {
            server_url: credential.server_url.clone(),
            username: credential.username.clone(),
            secret: credential.secret.clone(),
        };
        let input = Zeroizing::new(serde_json::to_vec(&wire)?);
        let answer = self.call("store", &input)?;
        self.successful("store", &answer).map(|_| ())
    }

    /// `erase`: removes the credential for `server` (a missing one is fine).
    pub(crate) fn erase(&self, server: &str) -> Result<()> {
        let answer = self.call("erase", server.as_bytes())?;
        if !answer.status.success() && is_not_found(&answer.stdout) {
            return Ok(());
        }
        self.successful("erase", &answer).map(|_| ())
    }

    /// The answer's stdout when the call succeeded; else an error naming
    /// the exit status and the first line of stderr, never stdout.
    fn successful<'a>(&self, action: &str, answer: &'a Answer) -> Result<&'a [u8]> {
        if answer.status.success() {
            return Ok(&answer.stdout);
        }
        let status = match answer.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_owned(),
        };
        let first = String::from_utf8_lossy(&answer.stderr)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| crate::printable::clipped(&crate::printable::printable(l), 200).into_owned());
        match first {
            Some(line) => bail!("{} {action} failed ({status}): {line}", self.program_name()),
            None => bail!("{} {action} failed ({status})", self.program_name()),
        }
    }

    /// Runs `program action` with `input` on stdin, within the deadline.
    fn call(&self, action: &str, input: &[u8]) -> Result<Answer> {
        crate::debug!("running {} {action}", self.program_name());
        let mut child = Command::new(&self.program)
            .arg(action)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", self.program.display()))?;
        let deadline = Instant::now() + self.timeout;
        let (done, finished) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        let out_done = done.clone();
        std::thread::spawn(move || {
            let _ = out_done.send(Some(crate::input::read_limited(&mut { out }, MAX_ANSWER)));
        });
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut err = err;
            let _ = err_tx.send(crate::input::read_limited(&mut err, MAX_STDERR));
            // The rest is read and dropped: closing the pipe would kill a
            // helper that logs more (a Go program dies of SIGPIPE on fd 2).
            let _ = std::io::copy(&mut err, &mut std::io::sink());
        });
        if let Some(mut stdin) = child.stdin.take() {
            // On its own thread: a hung helper that never reads a large
            // input must not block us past the deadline. A helper that does
            // not read its stdin (list) may close it: EPIPE is ignored.
            let input = Zeroizing::new(input.to_vec());
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        drop(done);
        let stdout = match finished.recv_timeout(remaining(deadline)) {
            Ok(Some(Ok(bytes))) => bytes,
            Ok(_) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                kill(&mut child);
                bail!("cannot read the answer of {} {action}", self.program_name());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                kill(&mut child);
                bail!("{}", self.timed_out(action));
            }
        };
        if stdout.len() > MAX_ANSWER {
            kill(&mut child);
            bail!(
                "{} {action} answered more than {} MiB; nothing was changed",
                self.program_name(),
                MAX_ANSWER / (1024 * 1024)
            );
        }
        let status = wait_until(&mut child, deadline)
            .ok_or_else(|| anyhow!("{}", self.timed_out(action)))?;
        // Its stderr only matters for an error; after a success, a child it
        // left running with that stderr (a daemon it started) is not waited for.
        let stderr = if status.success() {
            Ok(Ok(Zeroizing::new(Vec::new())))
        } else {
            err_rx.recv_timeout(remaining(deadline))
        };
        let stderr = stderr
            .ok()
            .and_then(|r| r.ok())
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Ok(Answer {
            status,
            stdout,
            stderr,
        })
    }

    fn timed_out(&self, action: &str) -> String {
        format!(
            "{} {action} did not answer within {:.0}s and was stopped (a locked keyring waiting for a prompt?); raise {HELPER_TIMEOUT_ENV} if it is only slow",
            self.program_name(),
            self.timeout.as_secs_f64()
        )
    }
}

fn is_not_found(stdout: &[u8]) -> bool {
    std::str::from_utf8(stdout).is_ok_and(|s| s.trim() == ERR_NOT_FOUND)
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// Waits for a child that closed its stdout; kills it at the deadline.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            kill(child);
            return None;
        }
        std::thread::sleep(pause.min(remaining(deadline)));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The bound on each call ([`HELPER_TIMEOUT_ENV`], seconds).
fn timeout() -> Duration {
    crate::settings::seconds_from_env(HELPER_TIMEOUT_ENV, DEFAULT_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_words() {
        assert!(OtherHelper::find("../bin/sh").is_err());
        assert!(OtherHelper::find("").is_err());
        let err = OtherHelper::find("surely-not-installed-here").unwrap_err();
        assert!(err.to_string().contains("not on PATH"), "{err}");
    }

    #[test]
    fn not_found_is_upstreams_exact_text() {
        assert!(is_not_found(b"credentials not found in native keychain\n"));
        assert!(!is_not_found(b"some other failure"));
    }
}
