//! A document named on the command line (`import FILE`, `export --merge FILE`,
//! `--service-accounts -`): a file or standard input, read bounded and as
//! UTF-8 text, through the wiping reader the protocol uses (a pull secret
//! holds passwords).

use anyhow::{anyhow, bail, Context, Result};

/// Largest input read (a pull secret with hundreds of registries is ~100 KiB).
const MAX_SOURCE: u64 = 16 * 1024 * 1024;

/// Reads FILE or standard input (`-`), bounded, as UTF-8 text.
pub(crate) fn read_source(source: &str) -> Result<String> {
    let max = MAX_SOURCE as usize;
    let mut bytes = if source == "-" {
        crate::input::read_limited(&mut std::io::stdin().lock(), max)
            .context("cannot read standard input")?
    } else {
        std::fs::File::open(source)
            .and_then(|mut f| crate::input::read_limited(&mut f, max))
            .with_context(|| format!("cannot read {source}"))?
    };
    if bytes.len() > max {
        bail!(
            "{} is larger than {} MiB: not a pull secret",
            if source == "-" {
                "standard input"
            } else {
                source
            },
            MAX_SOURCE / 1024 / 1024
        );
    }
    String::from_utf8(std::mem::take(&mut *bytes)).map_err(|err| {
        zeroize::Zeroize::zeroize(&mut err.into_bytes());
        anyhow!("{source} is not UTF-8 text")
    })
}
