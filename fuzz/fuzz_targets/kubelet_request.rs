//! The kubelet credential provider's request reader and response writer
//! (`kubelet::parse_request`, `registry_of`, `render`). Properties: never
//! panics; an error is one printable line and never quotes the request's
//! `serviceAccountToken`; an accepted request has a known `apiVersion`, an
//! image whose registry parses, and its response (with credentials made of
//! the rest of the input) is JSON that gives back every username and
//! password byte for byte, the request's `apiVersion`, and only the fields of
//! that version (the kubelet decodes strictly).
#![no_main]

use std::collections::BTreeMap;

use docker_credential_keyring::kubelet::{self, Answer, CacheFor};
use docker_credential_keyring::secret::Secret;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The response fields each version has.
const V1: &[&str] = &[
    "kind",
    "apiVersion",
    "cacheKeyType",
    "cacheDuration",
    "serviceAccountTokenCacheType",
    "auth",
];
const V1BETA1: &[&str] = &["kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth"];

fuzz_target!(|data: &[u8]| {
    // The request, then after a NUL the credentials (username and password
    // split at the next NUL) and a cache duration from the last 4 bytes.
    let mut parts = data.splitn(3, |b| *b == 0);
    let Ok(text) = std::str::from_utf8(parts.next().unwrap_or_default()) else {
        return;
    };
    let username = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let password = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let request = match kubelet::parse_request(text) {
        Ok(request) => request,
        Err(err) => {
            let message = format!("{err:#}");
            let token = serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| v.get("serviceAccountToken")?.as_str().map(str::to_owned));
            if let Some(token) = token.filter(|t| t.len() >= 8 && message.contains(t.as_str())) {
                // A leak, unless the message holds that text anyway (a token
                // that spells a word of the message): with the token replaced
                // by other characters, the message must still hold it.
                let filler = if token.starts_with('Q') { "Z" } else { "Q" };
                let scrubbed = text.replace(&token, &filler.repeat(token.chars().count()));
                let again = kubelet::parse_request(&scrubbed).err().map(|e| format!("{e:#}"));
                assert!(
                    again.is_some_and(|m| m.contains(&token)),
                    "an error quotes the token: {message}"
                );
            }
            return;
        }
    };
    let version = request.api_version.rsplit('/').next().expect("a version");
    assert!(
        request.api_version.starts_with("credentialprovider.kubelet.k8s.io/")
            && matches!(version, "v1" | "v1beta1"),
        "{request:?}"
    );
    let registry = match kubelet::registry_of(&request.image) {
        Ok(registry) => registry,
        Err(err) => {
            let message = format!("{err:#}");
            assert!(!message.contains('\n'), "{message:?}");
            return;
        }
    };
    let seconds = i64::from(password.len() as u32 % 100_000);
    let answer = Answer {
        auth: BTreeMap::from([(
            registry.as_str().to_owned(),
            (username.clone(), Secret::new(password.clone())),
        )]),
        cache: match seconds % 3 {
            0 => CacheFor::Default,
            _ => CacheFor::Seconds(seconds),
        },
        warnings: Vec::new(),
    };
    let line = kubelet::render(&request, &answer);
    assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'), "one line");
    let response: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert_eq!(response["kind"], "CredentialProviderResponse");
    assert_eq!(response["apiVersion"], request.api_version.as_str());
    let allowed = if version == "v1" { V1 } else { V1BETA1 };
    for field in response.as_object().expect("an object").keys() {
        assert!(allowed.contains(&field.as_str()), "{version}: unknown field {field}");
    }
    let entry = &response["auth"][registry.as_str()];
    assert_eq!(entry["username"], username.as_str(), "{line:?}");
    assert_eq!(entry["password"], password.as_str(), "{line:?}");
    if let CacheFor::Seconds(s) = answer.cache {
        assert_eq!(response["cacheDuration"], kubelet::go_duration(s).as_str());
    }
});
