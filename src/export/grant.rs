//! `grant-pull`'s subjects and the names of their RoleBindings.
//!
//! Who may pull, as `oc policy add-role-to-user` / `add-role-to-group`
//! name them: service accounts of a namespace, users, groups. A user
//! `system:serviceaccount:NS:NAME` is that ServiceAccount (oc's rule), and
//! every service account of a namespace is the group
//! `system:serviceaccounts:NS`.
//!
//! Each subject gets a RoleBinding of its own, named by [`binding_name`], so
//! applying one never rewrites another's `subjects`. The name is injective
//! over (kind, namespace, name) by construction: its second label says the
//! kind and the form, and namespaces (DNS-1123 labels) hold no dot:
//!
//! - `image-puller.sa.<namespace>.<name>`: a ServiceAccount;
//! - `image-puller.sas.<namespace>`: the group `system:serviceaccounts:<namespace>`;
//! - `image-puller.user.<name>`, `image-puller.group.<name>`: a user or group
//!   whose name is a valid object name;
//! - `image-puller.<kind>-h.<hash>[.<hint>]`: any subject whose plain name
//!   would not be a valid object name (`:` or `@` in it, capitals, longer
//!   than 253 characters): the hash is SHA-256 of the kind, namespace and
//!   name (80 bits shown), the hint a readable part of the name.

use anyhow::{bail, Result};

use super::kube_name;

/// Who `grant-pull` lets pull.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum PullSubject {
    ServiceAccount { namespace: String, name: String },
    User(String),
    Group(String),
}

/// The group of every service account of a namespace.
const SERVICE_ACCOUNTS_GROUP: &str = "system:serviceaccounts:";
/// The user name of a service account (`system:serviceaccount:NS:NAME`).
const SERVICE_ACCOUNT_USER: &str = "system:serviceaccount:";
/// Longest user or group name accepted (Kubernetes sets none; a bound).
const SUBJECT_MAX: usize = 1024;

/// The command line's subjects, before they are checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    pub(crate) from_namespace: Option<String>,
    pub(crate) service_accounts: Vec<String>,
    pub(crate) all_service_accounts: bool,
    pub(crate) users: Vec<String>,
    pub(crate) groups: Vec<String>,
}

impl Request {
    /// The subjects, checked, each once, in the order given; with none named,
    /// the `default` service account of `--from-namespace`.
    pub(crate) fn subjects(&self) -> Result<Vec<PullSubject>> {
        let from = || -> Result<&str> {
            let Some(ns) = self.from_namespace.as_deref() else {
                bail!("--service-account and --all-service-accounts need --from-namespace NAMESPACE (the namespace of the pods that pull)");
            };
            kube_name::check_namespace("--from-namespace", ns)?;
            Ok(ns)
        };
        let mut out = Vec::new();
        let named = self.all_service_accounts
            || !self.service_accounts.is_empty()
            || !self.users.is_empty()
            || !self.groups.is_empty();
        if !named && self.from_namespace.is_none() {
            bail!("name who pulls: --from-namespace NAMESPACE (its default service account), --service-account, --user or --group");
        }
        if !named {
            out.push(service_account(from()?, "default")?);
        }
        for sa in &self.service_accounts {
            out.push(service_account(from()?, sa)?);
        }
        if self.all_service_accounts {
            out.push(PullSubject::Group(format!(
                "{SERVICE_ACCOUNTS_GROUP}{}",
                from()?
            )));
        }
        for user in &self.users {
            out.push(user_subject(user)?);
        }
        for group in &self.groups {
            check_subject_name("--group", group)?;
            out.push(PullSubject::Group(group.clone()));
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|s| seen.insert(s.clone()));
        Ok(out)
    }
}

fn service_account(namespace: &str, name: &str) -> Result<PullSubject> {
    kube_name::check_object_name("--service-account", name)?;
    Ok(PullSubject::ServiceAccount {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    })
}

/// `--user NAME`; `system:serviceaccount:NS:NAME` is that service account.
fn user_subject(user: &str) -> Result<PullSubject> {
    check_subject_name("--user", user)?;
    let Some(rest) = user.strip_prefix(SERVICE_ACCOUNT_USER) else {
        return Ok(PullSubject::User(user.to_owned()));
    };
    let Some((namespace, name)) = rest.split_once(':') else {
        bail!("--user {user:?}: a service account user is system:serviceaccount:NAMESPACE:NAME");
    };
    kube_name::check_namespace("--user namespace", namespace)?;
    kube_name::check_object_name("--user service account", name)?;
    Ok(PullSubject::ServiceAccount {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    })
}

/// A user or group name: not empty, no control characters, no `/` (oc's
/// path-segment rule), bounded.
fn check_subject_name(flag: &str, name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > SUBJECT_MAX
        || name.chars().any(|c| c.is_control() || c == '/')
        || name == "."
        || name == ".."
    {
        bail!("{flag} {name:?} is not a user or group name (not empty, no '/' or control characters, at most {SUBJECT_MAX} bytes)");
    }
    Ok(())
}

/// The RoleBinding name of `subject` (see the module header).
pub(crate) fn binding_name(subject: &PullSubject) -> String {
    const PREFIX: &str = "image-puller";
    let (kind, namespace, name) = match subject {
        PullSubject::ServiceAccount { namespace, name } => {
            ("sa", namespace.as_str(), name.as_str())
        }
        PullSubject::User(name) => ("user", "", name.as_str()),
        PullSubject::Group(name) => ("group", "", name.as_str()),
    };
    let plain = match subject {
        PullSubject::ServiceAccount { namespace, name } => {
            format!("{PREFIX}.sa.{namespace}.{name}")
        }
        PullSubject::Group(name) => match name.strip_prefix(SERVICE_ACCOUNTS_GROUP) {
            Some(ns) if kube_name::check_namespace("", ns).is_ok() => format!("{PREFIX}.sas.{ns}"),
            _ => format!("{PREFIX}.group.{name}"),
        },
        PullSubject::User(name) => format!("{PREFIX}.user.{name}"),
    };
    if kube_name::check_object_name("", &plain).is_ok() {
        return plain;
    }
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{kind}\0{namespace}\0{name}").as_bytes(),
    );
    let hash: String = digest.as_ref()[..10]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let hint = hint(&format!("{namespace} {name}"));
    if hint.is_empty() {
        format!("{PREFIX}.{kind}-h.{hash}")
    } else {
        format!("{PREFIX}.{kind}-h.{hash}.{hint}")
    }
}

/// A readable label from `text`: lower-case letters and digits, other runs
/// as one `-`, at most 40 characters, starting and ending alphanumeric.
fn hint(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sa(namespace: &str, name: &str) -> PullSubject {
        PullSubject::ServiceAccount {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn names_by_kind() {
        assert_eq!(binding_name(&sa("a", "b-c")), "image-puller.sa.a.b-c");
        assert_eq!(
            binding_name(&PullSubject::Group("system:serviceaccounts:a-b-c".into())),
            "image-puller.sas.a-b-c"
        );
        assert_eq!(
            binding_name(&PullSubject::Group("devs".into())),
            "image-puller.group.devs"
        );
        let alice = binding_name(&PullSubject::User("alice@example.com".into()));
        assert!(alice.starts_with("image-puller.user-h."), "{alice}");
        assert!(alice.ends_with(".alice-example-com"), "{alice}");
        kube_name::check_object_name("", &alice).unwrap();
        let long = binding_name(&sa(&"n".repeat(63), &"x".repeat(253)));
        assert!(long.starts_with("image-puller.sa-h."), "{long}");
        assert!(long.len() <= 253);
    }

    /// Every string of `alphabet` up to `max` characters.
    fn strings(alphabet: &[char], max: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    /// No two distinct subjects share a binding name, and every name is a
    /// valid object name: all namespaces and names over `a`, `b`, `-`, `.`
    /// up to a few characters, as service accounts, users and groups, plus
    /// the service-account group and user spellings and over-long names.
    #[test]
    fn distinct_subjects_never_share_a_name() {
        let namespaces: Vec<String> = strings(&['a', 'b', '-'], 4)
            .into_iter()
            .filter(|n| kube_name::check_namespace("", n).is_ok())
            .collect();
        let words = strings(&['a', 'b', '-', '.'], 5);
        let names: Vec<&String> = words
            .iter()
            .filter(|n| kube_name::check_object_name("", n).is_ok())
            .collect();
        let mut subjects = Vec::new();
        for ns in &namespaces {
            for name in &names {
                subjects.push(sa(ns, name));
            }
            subjects.push(PullSubject::Group(format!("system:serviceaccounts:{ns}")));
            subjects.push(PullSubject::User(format!("{ns}:x")));
        }
        for word in words.iter().filter(|w| !w.is_empty()) {
            subjects.push(PullSubject::User(word.clone()));
            subjects.push(PullSubject::Group(word.clone()));
            subjects.push(PullSubject::Group(format!("system:serviceaccounts:{word}")));
            subjects.push(PullSubject::User(format!("{word}@example.com")));
        }
        for n in [200, 240, 250, 253] {
            subjects.push(sa("a", &"b".repeat(n)));
            subjects.push(PullSubject::User("u".repeat(n)));
            subjects.push(PullSubject::Group("g".repeat(n)));
        }
        let mut by_name: HashMap<String, &PullSubject> = HashMap::new();
        for subject in &subjects {
            let name = binding_name(subject);
            kube_name::check_object_name("", &name).unwrap_or_else(|e| panic!("{subject:?}: {e}"));
            if let Some(other) = by_name.insert(name.clone(), subject) {
                assert_eq!(other, subject, "{name} names both");
            }
        }
        assert!(by_name.len() > 10_000, "{}", by_name.len());
    }

    #[test]
    fn subjects_from_the_command_line() {
        let request = |f: &dyn Fn(&mut Request)| {
            let mut r = Request::default();
            f(&mut r);
            r.subjects()
        };
        assert_eq!(
            request(&|r| r.from_namespace = Some("a".into())).unwrap(),
            [sa("a", "default")]
        );
        let several = request(&|r| {
            r.from_namespace = Some("a".into());
            r.service_accounts = vec!["x".into(), "y".into(), "x".into()];
            r.users = vec!["system:serviceaccount:a:y".into(), "alice".into()];
            r.groups = vec!["devs".into()];
        })
        .unwrap();
        assert_eq!(
            several,
            [
                sa("a", "x"),
                sa("a", "y"),
                PullSubject::User("alice".into()),
                PullSubject::Group("devs".into())
            ]
        );
        for (bad, why) in [
            (Request::default(), "name who pulls"),
            (
                Request {
                    service_accounts: vec!["x".into()],
                    ..Request::default()
                },
                "need --from-namespace",
            ),
            (
                Request {
                    users: vec!["system:serviceaccount:a".into()],
                    ..Request::default()
                },
                "system:serviceaccount:NAMESPACE:NAME",
            ),
            (
                Request {
                    groups: vec!["a/b".into()],
                    ..Request::default()
                },
                "is not a user or group name",
            ),
        ] {
            let err = bad.subjects().unwrap_err().to_string();
            assert!(err.contains(why), "{err}");
        }
    }
}
