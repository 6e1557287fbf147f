//! A document named on the command line (`import FILE`, `export --merge FILE`,
//! `--service-accounts -`): a file or standard input, read bounded and as
//! UTF-8 text, through the wiping reader the protocol uses (a pull secret
//! holds passwords).

use anyhow::{anyhow, Context, Result};

/// Largest input read (a pull secret with hundreds of registries is ~100 KiB).
const MAX_SOURCE: u64 = 16 * 1024 * 1024;

/// Largest input `audit` reads: `kubectl get secrets -A -o json` of a big
/// cluster (10,000 Secrets with their managed fields are ~20 MiB).
pub(crate) const MAX_CLUSTER_SOURCE: u64 = 128 * 1024 * 1024;

/// Reads FILE or standard input (`-`), bounded, as UTF-8 text.
pub(crate) fn read_source(source: &str) -> Result<String> {
    read_source_up_to(source, MAX_SOURCE, "not a pull secret")
}

/// [`read_source`] with its own bound `max` (bytes), and what to say past it.
pub(crate) fn read_source_up_to(source: &str, max: u64, past_it: &str) -> Result<String> {
    let too_large = || {
        let shown = if source == "-" {
            "standard input"
        } else {
            source
        };
        anyhow!(
            "{shown} is larger than {} MiB: {past_it}",
            max / 1024 / 1024
        )
    };
    let mut bytes = if source == "-" {
        crate::input::read_limited(&mut std::io::stdin().lock(), max as usize)
            .context("cannot read standard input")?
    } else {
        let mut file =
            std::fs::File::open(source).with_context(|| format!("cannot read {source}"))?;
        // A regular file's size is known: refused before reading it.
        if file.metadata().is_ok_and(|m| m.is_file() && m.len() > max) {
            return Err(too_large());
        }
        crate::input::read_limited(&mut file, max as usize)
            .with_context(|| format!("cannot read {source}"))?
    };
    if bytes.len() > max as usize {
        return Err(too_large());
    }
    String::from_utf8(std::mem::take(&mut *bytes)).map_err(|err| {
        zeroize::Zeroize::zeroize(&mut err.into_bytes());
        anyhow!("{source} is not UTF-8 text")
    })
}
