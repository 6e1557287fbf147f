//! Kubernetes object names, checked before anything is rendered: a name
//! kubectl would refuse must fail here, naming the flag, not at `apply` time.
//!
//! Namespaces are DNS-1123 labels; Secret, ServiceAccount and RoleBinding
//! names are DNS-1123 subdomains (dot-separated labels).

use anyhow::{bail, Result};

/// Longest DNS-1123 label (a namespace, or one part of a subdomain).
const LABEL_MAX: usize = 63;
/// Longest DNS-1123 subdomain (an object name).
const SUBDOMAIN_MAX: usize = 253;

/// Refuses `name`, given with `flag`, unless it is a valid namespace.
pub(crate) fn check_namespace(flag: &str, name: &str) -> Result<()> {
    check(flag, name, false)
}

/// Refuses `name`, given with `flag`, unless it is a valid object name
/// (Secret, ServiceAccount, RoleBinding).
pub(crate) fn check_object_name(flag: &str, name: &str) -> Result<()> {
    check(flag, name, true)
}

/// One check for both rules: a subdomain is labels joined by '.'.
fn check(flag: &str, name: &str, subdomain: bool) -> Result<()> {
    let (max, parts) = if subdomain {
        (SUBDOMAIN_MAX, "letters, digits, '-' and '.'")
    } else {
        (LABEL_MAX, "letters, digits and '-'")
    };
    let ok = name.len() <= max
        && if subdomain {
            name.split('.').all(is_label)
        } else {
            is_label(name)
        };
    if !ok {
        bail!("{flag} {name:?} is not a valid Kubernetes name (lower-case {parts}, starting and ending with a letter or digit, at most {max} characters)");
    }
    Ok(())
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`; lengths are checked by the callers
/// (Kubernetes bounds a subdomain's total length, not its parts').
fn is_label(part: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !part.is_empty()
        && part.chars().all(|c| alnum(c) || c == '-')
        && part.starts_with(alnum)
        && part.ends_with(alnum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_labels() {
        for ok in ["a", "team-a", "0", &"a".repeat(63)] {
            check_namespace("-n", ok).unwrap();
        }
        for bad in ["", "Team", "a.b", "-a", "a-", "a_b", &"a".repeat(64)] {
            let err = check_namespace("-n", bad).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("-n {bad:?} is not a valid Kubernetes name")),
                "{err}"
            );
        }
    }

    #[test]
    fn object_names_are_subdomains() {
        let long = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ]
        .join(".");
        assert_eq!(long.len(), 253);
        for ok in ["pull-secret", "a.b-c.d", "0", long.as_str()] {
            check_object_name("--name", ok).unwrap();
        }
        let too_long = format!("{long}e");
        for bad in [
            "",
            "Bad_Name",
            "a..b",
            "a.-b",
            ".a",
            "a.",
            too_long.as_str(),
        ] {
            let err = check_object_name("--name", bad).unwrap_err().to_string();
            assert!(err.contains("is not a valid Kubernetes name"), "{err}");
        }
    }
}
