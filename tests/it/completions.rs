//! `completions`: the script of every shell clap supports and the man page,
//! generated from the command definitions (subcommands, options, exit
//! status), and an unknown shell refused with exit 2.

use crate::common::human::run;
use crate::common::{Backend, Env};

#[test]
fn completions_and_man_page() {
    let env = Env::new(Backend::File);
    for (shell, marker) in [
        (
            "bash",
            "-o bashdefault -o default docker-credential-keyring",
        ),
        ("zsh", "#compdef docker-credential-keyring"),
        ("fish", "complete -c docker-credential-keyring"),
        ("elvish", "docker-credential-keyring"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(&env, &["completions", shell], b"");
        out.ok();
        assert!(
            out.stdout.contains(marker),
            "{shell}: {}",
            &out.stdout[..200.min(out.stdout.len())]
        );
        assert!(
            out.stdout.contains("configure"),
            "{shell} completes subcommands"
        );
    }
    let out = run(&env, &["completions", "man"], b"");
    out.ok();
    assert!(
        out.stdout.contains(".TH docker-credential-keyring 1"),
        "{}",
        &out.stdout[..300]
    );
    for section in [
        ".SH COMMANDS",
        ".SS \"configure\"",
        ".SS \"doctor\"",
        ".SH \"EXIT STATUS\"",
        ".SH FILES",
    ] {
        assert!(out.stdout.contains(section), "{section}");
    }
    assert!(
        out.stdout.contains("\\-\\-password\\-stdin"),
        "options are listed"
    );
    let out = run(&env, &["completions", "tcsh"], b"");
    assert_eq!(out.code, 2);
}
