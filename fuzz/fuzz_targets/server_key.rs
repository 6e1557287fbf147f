//! The server-URL normaliser (`registry::ServerKey::parse`). Properties:
//! never panics; idempotent (a key re-parses to itself); equal keys stay
//! equal: every other spelling of the same credential (surrounding
//! whitespace, an explicit `https://`, a trailing slash, `/v2/`, upper-case
//! scheme and host, the config-file spelling) parses to the same key.
#![no_main]

use docker_credential_keyring::registry::ServerKey;
use libfuzzer_sys::fuzz_target;

fn same(spelling: &str, key: &ServerKey) {
    match ServerKey::parse(spelling) {
        Ok(other) => assert_eq!(other.as_str(), key.as_str(), "{spelling:?}"),
        Err(err) => panic!("{spelling:?} (a spelling of {key}) refused: {err}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(key) = ServerKey::parse(input) else {
        return;
    };
    // Idempotent, and the config-file spelling means the same credential.
    same(key.as_str(), &key);
    same(key.config_key(), &key);
    // Other spellings of the same input.
    let trimmed = input.trim();
    same(&format!(" {input}\n"), &key);
    same(&format!("{trimmed}/"), &key);
    if !trimmed.contains("://") {
        same(&format!("https://{trimmed}"), &key);
    }
    // Rebuilt from the parts, shouted: scheme and host are case-insensitive.
    let scheme = if key.is_http() { "HTTP://" } else { "HTTPS://" };
    let port = key.port().map(|p| format!(":{p}")).unwrap_or_default();
    let host = key.host().to_ascii_uppercase();
    same(&format!("{scheme}{host}{port}{}", key.path()), &key);
    if key.path().is_empty() {
        same(&format!("{scheme}{host}{port}/v2/"), &key);
    }
});
