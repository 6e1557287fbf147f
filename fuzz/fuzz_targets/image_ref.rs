//! The image-reference parser (`image_ref::parse`, read by `check --image`
//! and the kubelet provider). Properties: never panics; what it accepts,
//! docker reads the same way (registry and repository), by distribution's
//! `ParseNormalizedNamed` over its reference grammar (`reference/regexp.go`,
//! the oracle below); what docker reads with a sha256/sha512 digest, a port
//! up to 65535, a host name (not IPv6) and a name of at most 255 characters
//! it accepts; a parsed reference written back
//! (`registry/repository[:tag][@digest]`) parses to the same reference; the
//! credential keys are most specific first, each a prefix of the one before;
//! an error is one printable line.
#![no_main]

use std::sync::OnceLock;

use docker_credential_keyring::image_ref::{self, ImageRef};
use docker_credential_keyring::registry::ServerKey;
use libfuzzer_sys::fuzz_target;
use regex::Regex;

/// distribution's `ReferenceRegexp`, anchored, with its captures: domain,
/// path, tag, digest. Go's regexp is leftmost-first, like this crate's, so the
/// optional domain is taken whenever it can be.
fn grammar() -> &'static Regex {
    static GRAMMAR: OnceLock<Regex> = OnceLock::new();
    GRAMMAR.get_or_init(|| {
        let alnum = "[a-z0-9]+";
        let separator = "(?:[._]|__|[-]+)";
        let component = format!("{alnum}(?:{separator}{alnum})*");
        let domain_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
        let domain_name = format!("{domain_component}(?:\\.{domain_component})*");
        let host = format!("(?:{domain_name}|\\[(?:[a-fA-F0-9:]+)\\])");
        let domain = format!("{host}(?::[0-9]+)?");
        let path = format!("{component}(?:/{component})*");
        let tag = "[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}";
        let digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";
        Regex::new(&format!("^(?:({domain})/)?({path})(?::({tag}))?(?:@({digest}))?$"))
            .expect("the grammar")
    })
}

/// What docker's `ParseNormalizedNamed` makes of `input` when it names a
/// registry we can reach: (registry, repository, digest), the registry
/// lower-case, Docker Hub's spellings as `docker.io`. `None` when docker
/// refuses it, or reads it with no registry at all (`g_b.c-d/x`: a first
/// component with a `.` that is no host name becomes a path).
fn docker_reads(input: &str) -> Option<(String, String, Option<String>)> {
    // splitDockerDomain
    let (mut domain, mut remainder) = match input.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => ("docker.io".to_owned(), input.to_owned()),
    };
    // Docker Hub's spellings, in any case. docker compares them case-sensitively
    // and reads `registry-1.docker.io` (the Hub's API host) as a registry of
    // its own, so `docKer.io/nc` or `registry-1.docker.io/alpine` name a
    // repository the Hub does not have; `image_ref` reads every spelling as
    // Docker Hub, `library/` and all (host names are case-insensitive).
    if ["docker.io", "index.docker.io", "registry-1.docker.io"]
        .iter()
        .any(|hub| domain.eq_ignore_ascii_case(hub))
    {
        domain = "docker.io".to_owned();
    }
    if domain == "docker.io" && !remainder.contains('/') {
        remainder = format!("library/{remainder}");
    }
    let remote_name = remainder.split(':').next().unwrap_or_default();
    if remote_name.to_lowercase() != remote_name {
        return None;
    }
    // Parse(domain + "/" + remainder)
    let joined = format!("{domain}/{remainder}");
    let m = grammar().captures(&joined)?;
    if m.get(1).map(|d| d.as_str()) != Some(domain.as_str()) {
        return None;
    }
    // A port is a number: `:05000` is `:5000` (a longer one is refused).
    let registry = match domain.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') && port.len() <= 5 => {
            let port = port.trim_start_matches('0');
            format!("{host}:{}", if port.is_empty() { "0" } else { port })
        }
        _ => domain,
    };
    Some((registry.to_ascii_lowercase(), m[2].to_owned(), m.get(4).map(|d| d.as_str().to_owned())))
}

/// Whether docker's reading also passes the checks made after it (and the
/// ones a reachable registry needs): a known digest, a port that fits, not
/// IPv6 (left to `ServerKey`), the name length.
fn reachable(registry: &str, repository: &str, digest: Option<&str>) -> bool {
    let digest_ok = digest.is_none_or(|d| {
        let (algorithm, hex) = d.split_once(':').expect("the grammar's ':'");
        let length = match algorithm {
            "sha256" => 64,
            "sha512" => 128,
            _ => return false,
        };
        hex.len() == length && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    let port_ok = registry
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.len() <= 5 && port.parse::<u16>().is_ok_and(|p| p > 0));
    digest_ok && port_ok && !registry.starts_with('[') && registry.len() + 1 + repository.len() <= 255
}

/// The reference written back in its canonical form.
fn written(r: &ImageRef) -> String {
    let mut out = format!("{}/{}", r.registry.as_str(), r.repository);
    if let Some(tag) = &r.tag {
        out.push(':');
        out.push_str(tag);
    }
    if let Some(digest) = &r.digest {
        out.push('@');
        out.push_str(digest);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let docker = docker_reads(input);
    let r = match image_ref::parse(input) {
        Err(err) => {
            let message = err.to_string();
            assert!(
                !message.chars().any(char::is_control),
                "an error is one printable line: {message:?}"
            );
            if let Some((registry, repository, digest)) = &docker {
                assert!(
                    !reachable(registry, repository, digest.as_deref()),
                    "{input:?}: refused ({message}) although docker reads it as {docker:?}"
                );
            }
            return;
        }
        Ok(r) => r,
    };
    let Some((registry, repository, _)) = &docker else {
        panic!("{input:?}: accepted ({r:?}) but docker refuses it or finds no registry in it");
    };
    assert_eq!(
        (r.registry.as_str(), r.repository.as_str()),
        (registry.as_str(), repository.as_str()),
        "{input:?}: read otherwise than docker reads it"
    );
    assert_eq!(
        r.registry.as_str(),
        ServerKey::parse(r.registry.as_str()).expect("the registry is a key").as_str()
    );
    assert!(r.registry.path().is_empty() && !r.registry.is_http(), "{r:?}");
    if let Some(digest) = &r.digest {
        assert!(image_ref::is_digest(digest), "{r:?}");
    }
    // A registry named by upper case alone (`Team/app` is on host `team`)
    // has no lower-case spelling; every other one is written back.
    let host = r.registry.as_str();
    if !(host.contains(['.', ':']) || host == "localhost") {
        return;
    }
    let again = image_ref::parse(&written(&r))
        .unwrap_or_else(|e| panic!("{input:?} written back as {:?} refused: {e}", written(&r)));
    assert_eq!(
        (&again.registry, &again.repository, &again.tag, &again.digest),
        (&r.registry, &r.repository, &r.tag, &r.digest),
        "{input:?} written back as {:?}",
        written(&r)
    );
    let keys = r.credential_keys();
    assert_eq!(keys.last().map(String::as_str), Some(r.registry.as_str()));
    assert_eq!(keys[0], format!("{}/{}", r.registry.as_str(), r.repository));
    for pair in keys.windows(2) {
        assert!(pair[0].starts_with(&format!("{}/", pair[1])), "{keys:?}");
        ServerKey::parse(&pair[0]).unwrap_or_else(|e| panic!("{keys:?}: {e}"));
    }
});
