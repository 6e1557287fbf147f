//! The protocol's stdin path: bounded UTF-8 read, then the `store` request
//! parser. Properties: never panics; an error is one line that never quotes
//! the secret; a parsed request keeps the secret byte for byte.
#![no_main]

use docker_credential_keyring::protocol::{error_line, parse_store_request, read_stdin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = read_stdin(&mut &data[..]) else {
        return;
    };
    // The secret the input carries, if it is a JSON object with one.
    let secret = serde_json::from_str::<serde_json::Value>(&input)
        .ok()
        .and_then(|v| {
            v.as_object()?.iter().rev().find_map(|(k, v)| {
                k.eq_ignore_ascii_case("secret")
                    .then(|| v.as_str().map(str::to_owned))
                    .flatten()
            })
        });
    match parse_store_request(&input) {
        Ok(request) => {
            if let Some(secret) = &secret {
                assert_eq!(request.secret.expose(), secret);
            }
            // Debug redacts the secret (unless the URL or username happens
            // to hold the same text).
            let debug = format!("{request:?}");
            let secret = request.secret.expose();
            if secret.len() >= 4
                && !request.server_url.contains(secret)
                && !request.username.contains(secret)
            {
                assert!(!debug.contains(secret), "Debug shows the secret: {debug}");
            }
            assert!(debug.contains("<redacted>"), "{debug}");
        }
        Err(err) => {
            let line = error_line(&err);
            assert!(!line.contains('\n'), "{line}");
            if let Some(secret) = secret.filter(|s| s.len() >= 4) {
                assert!(!line.contains(&secret), "error quotes the secret: {line}");
            }
        }
    }
});
