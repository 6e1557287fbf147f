//! The `WWW-Authenticate` parser (`pair discover`, `login --discover`).
//! Properties: never panics; an error points inside the header; a parsed
//! header written back (parameters as quoted strings) parses to the same
//! challenges; several header lines parse to the concatenation of each.
#![no_main]

use docker_credential_keyring::www_authenticate::{parse, parse_headers, Challenge};
use libfuzzer_sys::fuzz_target;

/// `challenges` as one header value, every parameter value quoted and escaped.
fn write(challenges: &[Challenge]) -> String {
    let each: Vec<String> = challenges
        .iter()
        .map(|c| {
            let mut s = c.scheme.clone();
            if let Some(token) = &c.token68 {
                s.push(' ');
                s.push_str(token);
            }
            let params: Vec<String> = c
                .params
                .iter()
                .map(|(n, v)| {
                    let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
                    format!("{n}=\"{escaped}\"")
                })
                .collect();
            if !params.is_empty() {
                s.push(' ');
                s.push_str(&params.join(", "));
            }
            s
        })
        .collect();
    each.join(", ")
}

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    match parse(header) {
        Err(err) => {
            assert!(
                err.at <= header.len(),
                "{err} in a {}-byte header",
                header.len()
            );
        }
        Ok(challenges) => {
            for c in &challenges {
                assert!(!c.scheme.is_empty(), "{header:?}");
                assert!(c.params.iter().all(|(n, _)| *n == n.to_ascii_lowercase()));
            }
            let written = write(&challenges);
            let again = parse(&written)
                .unwrap_or_else(|e| panic!("{header:?} written as {written:?}: {e}"));
            assert_eq!(again, challenges, "{header:?} written as {written:?}");
            let twice = parse_headers([header, header]).expect("each line parses");
            assert_eq!(twice.len(), 2 * challenges.len());
        }
    }
});
