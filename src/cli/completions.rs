//! `completions SHELL` and `completions man`: shell completions and the roff
//! man page, generated from the clap definition (packaging installs both).

use std::io::Write;

use clap::ValueEnum;
use clap_complete::Shell;

use super::CommandResult;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  docker-credential-keyring completions bash > /usr/share/bash-completion/completions/docker-credential-keyring
  docker-credential-keyring completions zsh > /usr/share/zsh/vendor-completions/_docker-credential-keyring
  docker-credential-keyring completions fish > ~/.config/fish/completions/docker-credential-keyring.fish
  docker-credential-keyring completions man > /usr/share/man/man1/docker-credential-keyring.1

Exit codes: 0 printed, 1 error (e.g. standard output is closed), 2 bad command line.")]
pub(crate) struct Args {
    /// What to print
    #[arg(value_enum)]
    pub(crate) target: Target,
}

/// A shell's completion script, or the man page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Target {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
    /// The man page (roff), for man1
    Man,
}

pub(crate) fn run(args: Args) -> CommandResult {
    let mut cmd = super::command();
    let mut out = std::io::stdout().lock();
    let shell = match args.target {
        Target::Man => {
            render_man(cmd, &mut out)?;
            out.flush()?;
            return Ok(0);
        }
        Target::Bash => Shell::Bash,
        Target::Zsh => Shell::Zsh,
        Target::Fish => Shell::Fish,
        Target::Elvish => Shell::Elvish,
        Target::Powershell => Shell::PowerShell,
    };
    cmd.set_bin_name(crate::BINARY_NAME);
    cmd.build();
    clap_complete::Generator::try_generate(&shell, &cmd, &mut out)?;
    out.flush()?;
    Ok(0)
}

/// One page for the whole tool (packaging installs a single man1 page): the
/// usual sections from clap_mangen, then every command with its options, the
/// protocol verbs, the files, the environment and the exit status.
fn render_man(mut cmd: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    writeln!(out, ".SH COMMANDS")?;
    for sub in cmd.get_subcommands_mut() {
        let name = sub.get_name().to_owned();
        let usage = sub.render_usage().to_string();
        let usage = usage.trim_start_matches("Usage:").trim();
        writeln!(out, ".SS \"{}\"", roff(&name))?;
        writeln!(out, "{}", roff(usage))?;
        if let Some(about) = sub.get_about() {
            writeln!(out, ".PP\n{}", roff(&about.to_string()))?;
        }
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help")
        {
            let mut flags = Vec::new();
            if let Some(short) = arg.get_short() {
                flags.push(format!("\\fB-{short}\\fR"));
            }
            if let Some(long) = arg.get_long() {
                flags.push(format!("\\fB--{}\\fR", roff(long)));
            }
            let value = arg
                .get_value_names()
                .map(|v| {
                    v.iter()
                        .map(|n| format!("<{n}>"))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_else(|| format!("<{}>", arg.get_id().as_str().to_uppercase()));
            let takes_value = arg.get_action().takes_values();
            let head = match (flags.is_empty(), takes_value) {
                (true, _) => roff(&value),
                (false, true) => format!("{} {}", flags.join(", "), roff(&value)),
                (false, false) => flags.join(", "),
            };
            writeln!(out, ".TP\n{head}")?;
            let mut help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_owned())
                .collect();
            if !values.is_empty() && takes_value {
                help.push_str(&format!(" [{}]", values.join(", ")));
            }
            writeln!(out, "{}", roff(&help))?;
        }
        if let Some(after) = sub.get_after_help() {
            writeln!(out, ".PP\n.nf\n{}\n.fi", roff(&after.to_string()))?;
        }
    }
    writeln!(out, ".SH PROTOCOL")?;
    writeln!(
        out,
        "{}",
        roff("Docker, podman and skopeo run the binary with one verb (store, get, erase, list, version) and the request on standard input, as docker-credential-helpers define it. Enable it with \"credsStore\": \"keyring\" (or credHelpers) in ~/.docker/config.json; for podman and skopeo, credHelpers in the containers auth.json. See the configure command.")
    )?;
    writeln!(out, ".SH FILES")?;
    for (file, what) in [
        (
            "$XDG_DATA_HOME/docker-credential-keyring/store.json",
            "the index of credentials, and the secrets of the file store (mode 0600)",
        ),
        (
            "$XDG_CONFIG_HOME/docker-credential-keyring/config.json",
            "the store choice, {\"store\": \"auto\"}",
        ),
        (
            "$DOCKER_CONFIG/config.json, ~/.docker/config.json",
            "docker's configuration, edited by configure and migrate",
        ),
        (
            "$REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json",
            "the containers auth file (podman, skopeo, buildah)",
        ),
    ] {
        writeln!(out, ".TP\n{}\n{}", roff(file), roff(what))?;
    }
    writeln!(out, ".SH ENVIRONMENT")?;
    for (var, what) in [
        (
            crate::store::STORE_ENV,
            "auto, file, secret-service, keychain or windows: where new secrets go",
        ),
        (
            crate::store::TIMEOUT_ENV,
            "seconds a keyring call may take (default 5)",
        ),
        (
            crate::log::LOG_ENV,
            "debug: diagnostics on standard error (never secrets)",
        ),
    ] {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(var), roff(what))?;
    }
    writeln!(
        out,
        ".SH \"EXIT STATUS\"\n.nf\n{}\n.fi",
        roff(super::EXIT_CODES)
    )?;
    man.render_version_section(out)?;
    Ok(())
}

/// Escapes text for roff: backslashes, hyphens, and lines starting with `.` or `'`.
fn roff(text: &str) -> String {
    text.replace('\\', "\\e")
        .replace('-', "\\-")
        .lines()
        .map(|line| {
            if line.starts_with(['.', '\'']) {
                format!("\\&{line}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
