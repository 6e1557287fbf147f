//! Which program the printed scripts call to reach the cluster: `--kubectl
//! PROGRAM`, else `DOCKER_CREDENTIAL_KEYRING_KUBECTL`, else `kubectl`, or
//! `oc` when `oc` is on `PATH` and `kubectl` is not (an OpenShift
//! workstation). The choice is checked here and quoted where it is printed
//! ([`super::shell::quote`]).

use std::ffi::OsStr;

use anyhow::{anyhow, bail, Result};

/// The environment variable naming the program.
pub(crate) const ENV: &str = "DOCKER_CREDENTIAL_KEYRING_KUBECTL";

/// The program for this process: `flag`, the environment, or the `PATH` rule.
pub(crate) fn choose(flag: Option<&str>) -> Result<String> {
    let from_env = match std::env::var_os(ENV) {
        Some(value) if !value.is_empty() => Some(
            value
                .into_string()
                .map_err(|_| anyhow!("{ENV} is not UTF-8: name the program in plain text"))?,
        ),
        _ => None,
    };
    choose_from(
        flag,
        from_env.as_deref(),
        std::env::var_os("PATH").as_deref(),
    )
}

/// [`choose`] with its inputs handed in.
fn choose_from(flag: Option<&str>, env: Option<&str>, path: Option<&OsStr>) -> Result<String> {
    if let Some(program) = flag {
        check("--kubectl", program)?;
        return Ok(program.to_owned());
    }
    if let Some(program) = env {
        check(ENV, program)?;
        return Ok(program.to_owned());
    }
    let on_path = |name: &str| crate::paths::find_program(path, name).is_some();
    Ok(if !on_path("kubectl") && on_path("oc") {
        "oc"
    } else {
        "kubectl"
    }
    .to_owned())
}

/// Refuses a `program` (given with `source`) that is not a plain program
/// name or path: letters, digits and `._+-/` only, not starting with `-`.
pub(crate) fn check(source: &str, program: &str) -> Result<()> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._+-/".contains(c);
    if program.is_empty() || program.starts_with('-') || !program.chars().all(plain) {
        bail!("{source} {program:?} is not a program name or path (letters, digits and ._+-/ only): name kubectl, oc, or a path such as /usr/local/bin/kubectl");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let file = dir.path().join(if cfg!(windows) {
                format!("{name}.exe")
            } else {
                (*name).to_owned()
            });
            std::fs::write(&file, "").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        dir
    }

    #[test]
    fn flag_then_environment_then_path() {
        let oc_only = dir_with(&["oc"]);
        let both = dir_with(&["oc", "kubectl"]);
        let none = dir_with(&[]);
        let path = |d: &tempfile::TempDir| Some(d.path().as_os_str().to_owned());
        let pick = |flag, env, p: Option<std::ffi::OsString>| {
            choose_from(flag, env, p.as_deref()).unwrap()
        };
        assert_eq!(pick(None, None, path(&oc_only)), "oc");
        assert_eq!(pick(None, None, path(&both)), "kubectl");
        assert_eq!(pick(None, None, path(&none)), "kubectl");
        assert_eq!(pick(None, None, None), "kubectl");
        assert_eq!(pick(None, Some("/opt/k"), path(&oc_only)), "/opt/k");
        assert_eq!(pick(Some("oc"), Some("/opt/k"), path(&both)), "oc");
    }

    #[test]
    fn only_plain_names_and_paths() {
        for ok in [
            "kubectl",
            "oc",
            "/usr/local/bin/kubectl-1.32",
            "./bin/oc",
            "k3s+x",
        ] {
            check("--kubectl", ok).unwrap();
        }
        for bad in [
            "", "-n", "k;rm", "a b", "$(x)", "k`x`", "k|x", "~/k", "k\n", "k'",
        ] {
            let err = check("--kubectl", bad).unwrap_err().to_string();
            assert!(
                err.contains("is not a program name or path"),
                "{bad:?}: {err}"
            );
        }
        let err = choose_from(None, Some("x y"), None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(ENV), "{err}");
    }
}
