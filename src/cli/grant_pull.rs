//! `grant_pull`: not implemented yet (see the open issues).

use super::CommandResult;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CommandResult {
    anyhow::bail!("`grant_pull` is not implemented yet")
}
