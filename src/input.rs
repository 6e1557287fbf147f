//! Bounded, wiping readers of standard input and small files: every request,
//! password and document the helper reads from outside comes through here, so
//! a runaway pipe cannot eat memory and no copy of a secret is left in freed
//! memory.

use std::io::{self, Read};

use anyhow::{anyhow, bail, Context, Result};

use crate::secret::Secret;

/// Largest stdin we accept. Upstream reads one line of at most 64 KiB; we allow
/// more (large identity tokens) but bound it so a runaway pipe cannot eat memory.
pub(crate) const MAX_INPUT: usize = 1024 * 1024;

/// Reads all of stdin, refusing more than [`MAX_INPUT`] bytes and non-UTF-8.
pub fn read_stdin(reader: &mut impl Read) -> Result<String> {
    use zeroize::Zeroize;
    let mut buf = read_limited(reader, MAX_INPUT).context("cannot read standard input")?;
    if buf.len() > MAX_INPUT {
        bail!(
            "input too large: more than {} KiB on standard input",
            MAX_INPUT / 1024
        );
    }
    let bytes = std::mem::take(&mut *buf);
    String::from_utf8(bytes).map_err(|err| {
        err.into_bytes().zeroize();
        anyhow!("input is not valid UTF-8 text")
    })
}

/// Reads `reader` to its end or to `max + 1` bytes (so callers can tell
/// "too large" apart), into a buffer that is wiped when dropped.
///
/// The buffer grows by doubling, and each outgrown buffer is wiped before it
/// is freed, so no copy of a secret is left in freed memory. It starts small:
/// the final buffer is wiped whole (its capacity), and a 1 MiB one would cost
/// `get` a page fault per 4 KiB on every call.
pub(crate) fn read_limited(
    reader: &mut impl Read,
    max: usize,
) -> io::Result<zeroize::Zeroizing<Vec<u8>>> {
    use zeroize::Zeroizing;
    let mut buf: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(1024));
    let mut limited = reader.take(max as u64 + 1);
    loop {
        if buf.len() == buf.capacity() {
            let mut bigger = Vec::with_capacity(buf.capacity() * 2);
            bigger.extend_from_slice(&buf);
            // The old buffer is wiped as it drops (Zeroizing).
            drop(std::mem::replace(&mut buf, Zeroizing::new(bigger)));
        }
        let len = buf.len();
        let spare = buf.capacity() - len;
        buf.resize(len + spare, 0);
        let read = loop {
            match limited.read(&mut buf[len..]) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match read {
            Ok(0) => {
                buf.truncate(len);
                return Ok(buf);
            }
            Ok(n) => buf.truncate(len + n),
            Err(err) => return Err(err),
        }
    }
}

/// Two non-empty lines, each without its line end (`\n` or `\r\n`, the last
/// one optional), as two secrets; else the number of lines found. `login`
/// reads the registry and auth server passwords this way from one stdin.
pub(crate) fn two_lines(text: &str) -> std::result::Result<(Secret, Secret), usize> {
    let body = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(text);
    let lines: Vec<&str> = body
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    match lines.as_slice() {
        [first, second] if !first.is_empty() && !second.is_empty() => Ok((
            Secret::new((*first).to_owned()),
            Secret::new((*second).to_owned()),
        )),
        _ => Err(lines.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_is_bounded_and_utf8() {
        let big = vec![b'a'; MAX_INPUT + 1];
        assert!(read_stdin(&mut &big[..])
            .unwrap_err()
            .to_string()
            .contains("too large"));
        let exact = vec![b'a'; MAX_INPUT];
        assert_eq!(read_stdin(&mut &exact[..]).unwrap().len(), MAX_INPUT);
        let bad = [0xffu8, 0xfe];
        assert!(read_stdin(&mut &bad[..])
            .unwrap_err()
            .to_string()
            .contains("UTF-8"));
    }

    #[test]
    fn two_lines_convention() {
        let (a, b) = two_lines("reg-pw\nsso-pw\n").unwrap();
        assert_eq!((a.expose(), b.expose()), ("reg-pw", "sso-pw"));
        let (a, b) = two_lines("reg pw\r\nsso:pw").unwrap();
        assert_eq!((a.expose(), b.expose()), ("reg pw", "sso:pw"));
        for (bad, n) in [
            ("only-one\n", 1),
            ("a\nb\nc\n", 3),
            ("\nb\n", 2),
            ("a\n\n", 2),
            ("", 1),
        ] {
            assert_eq!(two_lines(bad).err(), Some(n), "{bad:?}");
        }
    }
}
