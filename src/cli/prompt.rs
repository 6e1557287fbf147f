//! Reading a secret from a human: from stdin (`--password-stdin`) or an
//! interactive no-echo prompt on a terminal. Never from argv.

use std::io::IsTerminal;

use anyhow::{bail, Context, Result};

use crate::secret::Secret;

/// Reads a secret from stdin as docker's `--password-stdin` does: the whole
/// input, bounded, with one trailing newline (`\n` or `\r\n`) removed.
pub(crate) fn secret_from_stdin() -> Result<Secret> {
    let mut text = zeroize::Zeroizing::new(crate::input::read_stdin(&mut std::io::stdin().lock())?);
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
    // A tab is a password character docker and kubectl accept (tests/it/export.rs
    // pins kubectl parity with one); NUL, escapes and other controls mean binary data.
    if text.chars().any(|c| c.is_control() && c != '\t') {
        bail!("the password on standard input contains control characters (binary data?): pipe in the password as text");
    }
    Ok(Secret::new(std::mem::take(&mut *text)))
}

/// `--password-stdin --auth-password-stdin`: stdin holds two lines, the
/// registry password then the auth server password (each without its line end).
pub(crate) fn two_secrets_from_stdin() -> Result<(Secret, Secret)> {
    let text = zeroize::Zeroizing::new(crate::input::read_stdin(&mut std::io::stdin().lock())?);
    crate::input::two_lines(&text).map_err(|lines| {
        anyhow::anyhow!(
            "with --password-stdin and --auth-password-stdin, standard input must be two non-empty lines: the registry password, then the auth server password (got {lines} line(s))"
        )
    })
}

/// Asks for a non-secret line (a username) on the terminal, echoed as typed.
/// Fails with advice when stdin is not a terminal.
pub(crate) fn line_from_tty(prompt: &str) -> Result<String> {
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

/// Asks for a secret on the terminal without echo (rpassword: termios on
/// Unix, the console mode on Windows; prompt and input on the terminal itself).
/// Fails with advice when stdin is not a terminal.
pub(crate) fn secret_from_tty(prompt: &str) -> Result<Secret> {
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password: use --password-stdin");
    }
    // rpassword shows the prompt, then turns echo off: a reply typed the
    // moment the prompt appears could be echoed in between. Echo goes off first.
    let _echo = EchoOff::new();
    let mut text = zeroize::Zeroizing::new(
        rpassword::prompt_password(prompt).context("cannot read the password from the terminal")?,
    );
    Ok(Secret::new(std::mem::take(&mut *text)))
}

/// Terminal echo off on standard input for its lifetime (Unix; on Windows
/// rpassword sets the console mode before anything can be typed at the prompt).
struct EchoOff {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new() -> Self {
        #[cfg(unix)]
        {
            let mut term = std::mem::MaybeUninit::<libc::termios>::uninit();
            // SAFETY: tcgetattr fills `term` when it returns 0; fd 0 is a terminal (checked).
            if unsafe { libc::tcgetattr(0, term.as_mut_ptr()) } != 0 {
                return EchoOff { saved: None };
            }
            // SAFETY: initialised by the successful tcgetattr above.
            let saved = unsafe { term.assume_init() };
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            // SAFETY: a valid termios for fd 0.
            let ok = unsafe { libc::tcsetattr(0, libc::TCSANOW, &quiet) } == 0;
            EchoOff {
                saved: ok.then_some(saved),
            }
        }
        #[cfg(not(unix))]
        EchoOff {}
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            // SAFETY: restores the settings read from fd 0.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, saved) };
        }
    }
}
