//! Image references (`registry/repo[:tag|@digest]`) as `check --image`
//! takes them, parsed by docker/distribution's reference grammar
//! (`reference/regexp.go`, `normalize.go`) so that a reference means here
//! what it means to docker: a first component without `.` or `:` that is not
//! `localhost` is a Docker Hub path, and a single Docker Hub name gets
//! `library/`. Everything is checked before any network I/O; errors quote
//! the reference only through the sanitiser.

use std::fmt;

use crate::registry::{ServerKey, DOCKER_HUB_KEY};

/// The longest repository name (distribution's `NameTotalLengthMax`).
const MAX_NAME: usize = 255;

/// The longest tag (the grammar's `[\w][\w.-]{0,127}`).
const MAX_TAG: usize = 128;

/// The tag asked for when the reference names neither tag nor digest.
const DEFAULT_TAG: &str = "latest";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// As given (for reports).
    pub given: String,
    /// The registry (`docker.io` for Docker Hub), without path.
    pub registry: ServerKey,
    /// The repository path on it (`library/alpine`, `team/app`).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// What the manifest is asked by: the digest, else the tag, else `latest`.
    pub fn manifest_reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or(DEFAULT_TAG)
    }

    /// `registry/repository`, the stored-credential keys that may serve it,
    /// most specific first (`host/team/app`, `host/team`, `host`), as podman
    /// looks them up.
    pub fn credential_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut path = self.repository.as_str();
        loop {
            keys.push(format!("{}/{path}", self.registry.as_str()));
            match path.rfind('/') {
                Some(i) => path = &path[..i],
                None => break,
            }
        }
        keys.push(self.registry.as_str().to_owned());
        keys
    }
}

/// Why a reference was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError(String);

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RefError {}

fn refuse(given: &str, why: &str) -> RefError {
    RefError(format!(
        "invalid image reference {:?}: {why} (expected REGISTRY/REPOSITORY[:TAG|@sha256:DIGEST], e.g. registry.example.com/team/app:1.0)",
        crate::printable::printable(given)
    ))
}

/// Parses `input` by the reference grammar.
pub fn parse(input: &str) -> Result<ImageRef, RefError> {
    let given = input;
    if input.is_empty() {
        return Err(refuse(given, "it is empty"));
    }
    if input.len() > 4 * MAX_NAME {
        return Err(refuse(given, "it is too long"));
    }
    if input.contains("://") {
        return Err(refuse(given, "an image reference has no scheme"));
    }
    let (rest, digest) = match input.split_once('@') {
        Some((rest, digest)) => (rest, Some(check_digest(given, digest)?)),
        None => (input, None),
    };
    // A tag is after the last ':' that follows the last '/'.
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        check_tag(given, tag)?;
    }
    let (domain, remainder) = split_domain(name);
    let registry = check_domain(given, domain)?;
    let repository = if registry.as_str() == DOCKER_HUB_KEY && !remainder.contains('/') {
        format!("library/{remainder}")
    } else {
        remainder.to_owned()
    };
    check_repository(given, &repository)?;
    if registry.as_str().len() + 1 + repository.len() > MAX_NAME {
        return Err(refuse(
            given,
            "the repository name is longer than 255 characters",
        ));
    }
    Ok(ImageRef {
        given: given.to_owned(),
        registry,
        repository,
        tag: tag.map(str::to_owned),
        digest,
    })
}

/// docker's `splitDockerDomain`: the first component is a registry when it
/// has a `.` or `:`, is `localhost`, or has upper case (a repository path
/// has none, a host name may).
fn split_domain(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first, rest)
        }
        _ => (DOCKER_HUB_KEY, name),
    }
}

fn check_domain(given: &str, domain: &str) -> Result<ServerKey, RefError> {
    if !domain_ok(domain) {
        return Err(refuse(
            given,
            "the registry is a host name (labels of letters, digits and inner '-', joined by '.') or a bracketed IPv6 address, then an optional :PORT",
        ));
    }
    // `index.docker.io` and the other Docker Hub spellings are `docker.io`.
    ServerKey::parse(domain).map_err(|e| refuse(given, &e.to_string()))
}

/// The grammar's domain: `host[:port]`, the host a name of dot-separated
/// labels (`[A-Za-z0-9]`, inner `-`) or `[` IPv6 hex and colons `]`, the port
/// digits.
fn domain_ok(domain: &str) -> bool {
    let (host, port) = match domain.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((address, after)) => {
                let address_ok = !address.is_empty()
                    && address.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
                if !address_ok {
                    return false;
                }
                (None, after)
            }
            None => return false,
        },
        None => match domain.find(':') {
            Some(i) => (Some(&domain[..i]), &domain[i..]),
            None => (Some(domain), ""),
        },
    };
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        matches!((bytes.first(), bytes.last()), (Some(a), Some(z)) if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    host.is_none_or(|h| h.split('.').all(label_ok)) && port_ok
}

/// Path components: `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn check_repository(given: &str, repository: &str) -> Result<(), RefError> {
    if repository.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(refuse(given, "repository names must be lowercase"));
    }
    for component in repository.split('/') {
        if !component_ok(component) {
            return Err(refuse(
                given,
                "each repository path component is lowercase letters and digits, separated by '.', '_', '__' or '-'",
            ));
        }
    }
    Ok(())
}

fn component_ok(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let dashes = separator.bytes().all(|b| b == b'-');
        if !(matches!(separator, "." | "_" | "__") || dashes) {
            return false;
        }
    }
    true
}

/// `[\w][\w.-]{0,127}`.
fn check_tag(given: &str, tag: &str) -> Result<(), RefError> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = tag.len() <= MAX_TAG
        && tag.chars().next().is_some_and(word)
        && tag.chars().all(|c| word(c) || matches!(c, '.' | '-'));
    match ok {
        true => Ok(()),
        false => Err(refuse(
            given,
            "a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
        )),
    }
}

/// `ALGORITHM:HEX`; `sha256` (64 lower-case hex) and `sha512` (128) are the
/// ones registries serve.
fn check_digest(given: &str, digest: &str) -> Result<String, RefError> {
    match digest_problem(digest) {
        None => Ok(digest.to_owned()),
        Some(why) => Err(refuse(given, &why)),
    }
}

/// Whether `text` is a digest by the grammar above (a registry's
/// `Docker-Content-Digest` is checked by it before it is reported).
pub fn is_digest(text: &str) -> bool {
    digest_problem(text).is_none()
}

/// What is wrong with `digest`, if anything.
fn digest_problem(digest: &str) -> Option<String> {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("", ""));
    let length = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Some("a digest is sha256:<64 hex digits>".into()),
    };
    let hex_ok = hex.len() == length
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (!hex_ok).then(|| format!("a {algorithm} digest is {length} lower-case hex digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(input: &str) -> (String, String, Option<String>, Option<String>) {
        let r = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        (
            r.registry.as_str().to_owned(),
            r.repository,
            r.tag,
            r.digest,
        )
    }

    #[test]
    fn docker_hub_spellings() {
        let hub = |repo: &str, tag: Option<&str>| {
            (
                "docker.io".to_owned(),
                repo.to_owned(),
                tag.map(str::to_owned),
                None,
            )
        };
        assert_eq!(parts("alpine"), hub("library/alpine", None));
        assert_eq!(parts("alpine:3.20"), hub("library/alpine", Some("3.20")));
        assert_eq!(parts("docker.io/alpine"), hub("library/alpine", None));
        assert_eq!(parts("index.docker.io/alpine"), hub("library/alpine", None));
        assert_eq!(
            parts("docker.io/library/alpine"),
            hub("library/alpine", None)
        );
        assert_eq!(parts("bitnami/redis:7"), hub("bitnami/redis", Some("7")));
        assert_eq!(parts("a/b/c"), hub("a/b/c", None));
        // Upper case makes the first component a host, as in docker.
        assert_eq!(parts("Team/app").0, "team");
    }

    #[test]
    fn registries_ports_tags_and_digests() {
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(
            parts("127.0.0.1:5000/team/app:v1"),
            (
                "127.0.0.1:5000".into(),
                "team/app".into(),
                Some("v1".into()),
                None
            )
        );
        assert_eq!(
            parts(&format!("localhost/app@{d}")),
            ("localhost".into(), "app".into(), None, Some(d.clone()))
        );
        assert_eq!(
            parts(&format!("Reg.Example.com/team/app:1.0@{d}")),
            (
                "reg.example.com".into(),
                "team/app".into(),
                Some("1.0".into()),
                Some(d.clone())
            )
        );
        assert_eq!(
            parts("[::1]:5000/a__b.c-d---e"),
            ("[::1]:5000".into(), "a__b.c-d---e".into(), None, None)
        );
        let r = parse(&format!("quay.io/x/y:t@{d}")).unwrap();
        assert_eq!(r.manifest_reference(), d);
        assert_eq!(parse("quay.io/x/y:t").unwrap().manifest_reference(), "t");
        assert_eq!(parse("quay.io/x/y").unwrap().manifest_reference(), "latest");
    }

    #[test]
    fn registry_hosts_by_the_domain_grammar() {
        for bad in [
            "registry-1.-1.doa.io/alpine",
            "a..b/x",
            "a.b./x",
            "-a.b/x",
            "a-.b/x",
            "a.b:/x",
            "a.b:5x/x",
            "[]:5000/x",
            "[::1/x",
            "[::g]/x",
            "[::1]x/x",
            "a_b.c/x",
        ] {
            let err = parse(bad).expect_err(bad).to_string();
            assert!(err.contains("the registry is a host name"), "{bad}: {err}");
        }
        for good in [
            "a-b.c-d.io/x",
            "a.b:5000/x",
            "[fe80::1]:5000/x",
            "1.2.3.4/x",
            "A.B/x",
        ] {
            parse(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    #[test]
    fn credential_keys_most_specific_first() {
        let r = parse("reg.example.com:5000/team/sub/app:v1").unwrap();
        assert_eq!(
            r.credential_keys(),
            [
                "reg.example.com:5000/team/sub/app",
                "reg.example.com:5000/team/sub",
                "reg.example.com:5000/team",
                "reg.example.com:5000"
            ]
        );
    }

    #[test]
    fn bad_references_are_refused_with_the_reason() {
        for (input, why) in [
            ("", "empty"),
            ("https://reg.example.com/app", "no scheme"),
            ("reg.example.com/Team/app", "lowercase"),
            ("team/App", "lowercase"),
            ("reg.example.com/team//app", "component"),
            ("reg.example.com/team/app-", "component"),
            ("reg.example.com/-app", "component"),
            ("reg.example.com/a...b", "component"),
            ("reg.example.com/app:", "tag"),
            ("reg.example.com/app:.v1", "tag"),
            ("reg.example.com/app@sha256:abc", "64"),
            ("reg.example.com/app@md5:abc", "sha256:"),
            ("reg.example.com:99999/app", "port"),
            ("user@reg.example.com/app", "sha256:"),
            ("reg.example.com/app\u{1b}[31m", "component"),
            ("reg.exa_mple.com/app", "host"),
        ] {
            let err = parse(input).unwrap_err().to_string();
            assert!(err.contains(why), "{input:?}: {err}");
            assert!(!err.contains('\u{1b}'), "{err}");
        }
        let long = format!("reg.example.com/{}", "a".repeat(250));
        assert!(parse(&long).unwrap_err().to_string().contains("255"));
        let tag = format!("reg.example.com/app:{}", "t".repeat(129));
        assert!(parse(&tag).unwrap_err().to_string().contains("128"));
    }
}
