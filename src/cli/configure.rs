//! `configure`: not implemented yet (see the open issues).

use super::CommandResult;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CommandResult {
    anyhow::bail!("`configure` is not implemented yet")
}

#[derive(Debug, clap::Args)]
pub struct UnconfigureArgs {}

pub fn run_unconfigure(_args: UnconfigureArgs) -> CommandResult {
    anyhow::bail!("`unconfigure` is not implemented yet")
}
