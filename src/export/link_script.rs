//! The shell script that `export --link-commands` prints (and `export
//! --link-service-account` shows on stderr): it links (or unlinks) pull
//! Secrets to live ServiceAccounts the way `oc secrets link` does.
//!
//! `ServiceAccount.imagePullSecrets` and `secrets` are atomic lists (no
//! strategic-merge key), so `kubectl apply` of a ServiceAccount would replace
//! a whole list and drop e.g. OpenShift's `default-dockercfg-*` entry. The
//! script instead reads the list and patches it with JSON patches that are
//! valid under strict RFC 6902 (see `link_script.sh`, whose functions every
//! script starts with), each carrying the `resourceVersion` read, so a
//! ServiceAccount changed meanwhile gets 409 Conflict and is read again
//! (bounded, never forced). A link first waits, bounded, for its
//! ServiceAccount and on OpenShift for the account's own image pull secret
//! (the controller that adds it would otherwise race the link). What comes from the cluster is read one name a line
//! and compared whole (`grep -xF`), never word-split or globbed; what we put
//! in (program, namespace, names) goes through [`shell::quote`].

use super::shell;

/// The shell functions every script defines first (`dck_link`, `dck_unlink`).
const FUNCTIONS: &str = include_str!("link_script.sh");

/// Which ServiceAccount lists a link touches, as `oc secrets link --for`
/// names them: `pull` is `imagePullSecrets`, `mount` is `secrets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkFor {
    pub(crate) pull: bool,
    pub(crate) mount: bool,
}

impl LinkFor {
    /// `oc`'s default.
    pub(crate) const PULL: LinkFor = LinkFor {
        pull: true,
        mount: false,
    };

    /// The `--for` spelling, which the script's functions read.
    fn word(self) -> &'static str {
        match (self.pull, self.mount) {
            (true, true) => "pull,mount",
            (false, true) => "mount",
            _ => "pull",
        }
    }
}

/// One ServiceAccount to link: its namespace (`None`: the current
/// context's) and name.
pub(crate) type Target = (Option<String>, String);

/// What every link in one script shares.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The program that talks to the cluster (`kubectl`, `oc`, or a path).
    pub(crate) program: String,
    pub(crate) to: LinkFor,
    /// Take the Secrets out of the lists instead.
    pub(crate) unlink: bool,
    /// How long a link waits for its ServiceAccount (and, on OpenShift, for
    /// the account's own image pull secret), in seconds.
    pub(crate) wait: u32,
}

/// The script linking every Secret of `secrets` (names already checked by
/// [`super::kube_name`]) to each target. It runs in a subshell, so pasting
/// it leaves the shell's variables alone, and exits 1 when any link failed.
pub(crate) fn script(targets: &[Target], secrets: &[&str], options: &Options) -> String {
    let verb = if options.unlink {
        "dck_unlink"
    } else {
        "dck_link"
    };
    let mut out = format!("(\n{FUNCTIONS}");
    for (namespace, sa) in targets {
        let mut words = vec![
            shell::quote(&options.program),
            shell::quote(namespace.as_deref().unwrap_or("")),
            shell::quote(sa),
            options.to.word().to_owned(),
        ];
        if !options.unlink {
            words.push(options.wait.to_string());
        }
        words.extend(secrets.iter().map(|s| shell::quote(s)));
        out.push_str(&format!("{verb} {} || dck_rc=1\n", words.join(" ")));
    }
    out.push_str("exit \"$dck_rc\"\n)\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_one_quoted_word() {
        let options = Options {
            program: "/opt/my tools/kubectl".into(),
            to: LinkFor::PULL,
            unlink: false,
            wait: 60,
        };
        let text = script(
            &[
                (Some("team-a".into()), "default".into()),
                (None, "b.c".into()),
            ],
            &["pull-secret"],
            &options,
        );
        assert!(text.starts_with("(\n# Links pull Secrets"), "{text}");
        assert!(
            text.ends_with(
                "dck_link '/opt/my tools/kubectl' team-a default pull 60 pull-secret || dck_rc=1\n\
                 dck_link '/opt/my tools/kubectl' '' b.c pull 60 pull-secret || dck_rc=1\n\
                 exit \"$dck_rc\"\n)\n"
            ),
            "{text}"
        );
        let unlink = Options {
            program: "kubectl".into(),
            to: LinkFor {
                pull: true,
                mount: true,
            },
            unlink: true,
            wait: 60,
        };
        let text = script(&[(None, "sa".into())], &["a", "b"], &unlink);
        assert!(
            text.contains("\ndck_unlink kubectl '' sa pull,mount a b || dck_rc=1\n"),
            "{text}"
        );
    }
}
