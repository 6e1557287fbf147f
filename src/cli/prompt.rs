//! Reading a secret from a human: from stdin (`--password-stdin`) or an
//! interactive no-echo prompt on a terminal. Never from argv.

use std::io::{IsTerminal, Read};

use anyhow::{bail, Context, Result};

use crate::secret::Secret;

/// Reads a secret from stdin as docker's `--password-stdin` does: the whole
/// input, bounded, with one trailing newline (`\n` or `\r\n`) removed.
pub fn secret_from_stdin() -> Result<Secret> {
    let mut text =
        zeroize::Zeroizing::new(crate::protocol::read_stdin(&mut std::io::stdin().lock())?);
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        bail!("no password on standard input (pipe it in: `echo \"$PASSWORD\" | ... --password-stdin`)");
    }
    if text.trim().is_empty() {
        bail!("the password on standard input is only whitespace: pipe in the real password");
    }
    // A tab is a password character docker and kubectl accept (tests/export.rs
    // pins kubectl parity with one); NUL, escapes and other controls mean binary data.
    if text.chars().any(|c| c.is_control() && c != '\t') {
        bail!("the password on standard input contains control characters (binary data?): pipe in the password as text");
    }
    Ok(Secret::new(std::mem::take(&mut *text)))
}

/// Asks for a non-secret line (a username) on the terminal, echoed as typed.
/// Fails with advice when stdin is not a terminal.
pub fn line_from_tty(prompt: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the username: pass --username");
    }
    eprint!("{prompt}");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the username")?;
    Ok(line.trim().to_owned())
}

/// Asks for a secret on the terminal without echo. Fails with advice when
/// stdin is not a terminal.
pub fn secret_from_tty(prompt: &str) -> Result<Secret> {
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password: use --password-stdin");
    }
    // Echo goes off before the prompt shows, so nothing typed after it is echoed.
    let _echo = EchoOff::new();
    eprint!("{prompt}");
    let mut line = zeroize::Zeroizing::new(String::with_capacity(1024));
    let mut byte = [0u8; 1];
    let mut stdin = std::io::stdin().lock();
    loop {
        match stdin.read(&mut byte).context("cannot read the password")? {
            0 => break,
            _ if byte[0] == b'\n' => break,
            _ => line.push(byte[0] as char),
        }
    }
    eprintln!();
    let bytes: Vec<u8> = line.chars().map(|c| c as u8).collect();
    let text = zeroize::Zeroizing::new(String::from_utf8(bytes).map_err(|err| {
        zeroize::Zeroize::zeroize(&mut err.into_bytes());
        anyhow::anyhow!("the password is not valid UTF-8")
    })?);
    Ok(Secret::new(text.trim_end_matches('\r').to_owned()))
}

/// Turns terminal echo off for its lifetime (Unix: `stty -echo`).
struct EchoOff {
    #[cfg(unix)]
    restore: bool,
}

impl EchoOff {
    fn new() -> Self {
        #[cfg(unix)]
        {
            let ok = std::process::Command::new("stty")
                .arg("-echo")
                .stdin(std::process::Stdio::inherit())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            EchoOff { restore: ok }
        }
        #[cfg(not(unix))]
        EchoOff {}
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        if self.restore {
            let _ = std::process::Command::new("stty")
                .arg("echo")
                .stdin(std::process::Stdio::inherit())
                .status();
        }
    }
}
