//! `doctor`: one screen that says why things do or do not work, each problem
//! with the command that fixes it. Exit 1 when something is broken.

use super::CommandResult;
use crate::doctor::{self, Report, Status};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Exit codes: 0 nothing is broken (warnings may remain), 1 something is broken (see FAIL lines), 2 bad command line.")]
pub(crate) struct Args {
    /// Print the checks as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// Print only problems (warnings and failures)
    #[arg(short, long, conflicts_with = "json")]
    pub(crate) quiet: bool,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let report = doctor::run();
    if args.json {
        let out = serde_json::json!({
            "ok": !report.broken(),
            "version": env!("CARGO_PKG_VERSION"),
            "checks": report.checks,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_report(&report, args.quiet);
    }
    Ok(if report.broken() { 1 } else { 0 })
}

fn print_report(report: &Report, quiet: bool) {
    for check in &report.checks {
        if quiet && matches!(check.status, Status::Ok | Status::Info) {
            continue;
        }
        crate::outln!("[{}] {}: {}", label(check.status), check.name, check.detail);
        if let Some(fix) = &check.fix {
            crate::outln!("       fix: {fix}");
        }
    }
    let fails = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    let warns = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Warn)
        .count();
    match (fails, warns) {
        (0, 0) => crate::outln!("Everything looks fine."),
        (0, w) => crate::outln!("Nothing is broken; {w} warning(s)."),
        (f, _) => crate::outln!("{f} problem(s) to fix."),
    }
}

/// The bracketed status column of a text line.
fn label(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok  ",
        Status::Info => "info",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
    }
}
