//! `import`: not implemented yet (see the open issues).

use super::CommandResult;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CommandResult {
    anyhow::bail!("`import` is not implemented yet")
}
