//! The protocol's stdin path: bounded UTF-8 read, then the `store` request
//! parser. Properties: never panics; an error is one line that never quotes
//! the secret; a parsed request keeps the secret byte for byte.
#![no_main]

use docker_credential_keyring::printable::is_unsafe;
use docker_credential_keyring::input::read_stdin;
use docker_credential_keyring::protocol::{error_line, parse_store_request};
use libfuzzer_sys::fuzz_target;

/// `input` (a JSON object) with every "secret" field, in any case, replaced
/// by a string of as many characters that shares none with `secret`.
fn with_other_secret(input: &str, secret: &str) -> String {
    let filler = (0x21..)
        .filter_map(char::from_u32)
        .find(|c| !secret.contains(*c))
        .expect("a secret holds finitely many characters");
    let mut value: serde_json::Value = serde_json::from_str(input).expect("parsed before");
    if let Some(object) = value.as_object_mut() {
        for (key, field) in object.iter_mut() {
            if key.eq_ignore_ascii_case("secret") && field.is_string() {
                *field = filler.to_string().repeat(secret.chars().count()).into();
            }
        }
    }
    value.to_string()
}

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
            // Debug shows the URL and username, and of the secret nothing.
            assert_eq!(
                format!("{request:?}"),
                format!(
                    "StoreRequest {{ server_url: {:?}, username: {:?}, secret: <redacted> }}",
                    request.server_url, request.username
                )
            );
        }
        Err(err) => {
            let line = error_line(&err);
            assert!(!line.contains('\n'), "{line}");
            // Whatever the input held, the line reaches a terminal with no
            // control or bidi character (escaped by crate::printable).
            assert!(!line.chars().any(is_unsafe), "{line:?}");
            if let Some(secret) = secret.filter(|s| s.len() >= 4 && line.contains(s.as_str())) {
                // The text may be there by coincidence (a secret "ServerURL"):
                // the same request with another secret of the same length
                // must then give an error that still holds it.
                if let Err(again) = parse_store_request(&with_other_secret(&input, &secret)) {
                    let again = error_line(&again);
                    assert!(again.contains(&secret), "error quotes the secret: {line}");
                }
            }
        }
    }
});
