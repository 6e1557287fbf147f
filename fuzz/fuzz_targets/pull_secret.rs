//! The pull-secret readers (`import`, `export --merge`): a `.dockerconfigjson`,
//! a `.dockercfg`, a Secret or a List of Secrets, in JSON or YAML; and the
//! live ServiceAccounts of `export --service-accounts` (a link keeps every
//! live `imagePullSecrets` entry, in order, and holds the Secret).
//! Properties: never panics; an error never quotes a secret of the input,
//! and an error of the reader (a document that does not parse, in JSON or
//! YAML) quotes no text of the input at all;
//! read → write → read is stable (the credentials read, written as a payload,
//! read back the same; a document merged with nothing and rendered reads back
//! the same entries).
#![no_main]

use std::collections::BTreeMap;

use docker_credential_keyring::export::dockerconfig::{payload_bytes, payload_value, read_entry};
use docker_credential_keyring::export::document::{Document, Metadata, Shape};
use docker_credential_keyring::export::{link, yaml, Entry, PayloadKind};
use docker_credential_keyring::reader::{self, Syntax};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// Every secret-bearing string of the input (and of base64 `data` payloads
/// and `auth` fields inside it), at least 8 bytes long, that is not also an
/// object key or a non-secret value (an error may name a registry).
fn secrets(v: &Value, out: &mut Vec<String>, plain: &mut Vec<String>) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                plain.push(k.clone());
                match (k.to_ascii_lowercase().as_str(), v) {
                    ("password" | "identitytoken" | "auth", Value::String(s)) => {
                        out.push(s.clone());
                        if let Some(pass) = b64
                            .decode(s.trim())
                            .ok()
                            .and_then(|b| String::from_utf8(b).ok())
                            .and_then(|d| d.split_once(':').map(|(_, p)| p.to_owned()))
                        {
                            out.push(pass);
                        }
                    }
                    (_, Value::String(s)) => {
                        plain.push(s.clone());
                        if let Some(inner) = b64
                            .decode(s.trim())
                            .ok()
                            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                        {
                            secrets(&inner, out, plain);
                        }
                        if let Ok(inner) = serde_json::from_str::<Value>(s) {
                            secrets(&inner, out, plain);
                        }
                    }
                    (_, v) => secrets(v, out, plain),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| secrets(i, out, plain)),
        _ => {}
    }
}

fn parse_any(text: &str) -> Option<Value> {
    serde_json::from_str::<Value>(text)
        .ok()
        .or_else(|| yaml::parse(text).ok())
}

/// Every error message the readers give for `text`.
fn error_messages(text: &str) -> Vec<String> {
    match Document::parse(text) {
        Err(err) => vec![format!("{err:#}")],
        Ok(doc) => doc
            .entries()
            .unwrap_or_default()
            .iter()
            .filter_map(|(key, value)| read_entry(key, value).err())
            .map(|err| format!("{err:#}"))
            .collect(),
    }
}

/// `text` with `secret` replaced by other characters of the same length
/// everywhere: in the text, and inside base64 strings (payloads, `auth`).
fn scrub(text: &str, secret: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let filler = (0x41..)
        .filter_map(char::from_u32)
        .find(|c| c.is_alphanumeric() && !secret.contains(*c))
        .expect("a secret holds finitely many characters");
    let mut out = text.replace(secret, &filler.to_string().repeat(secret.chars().count()));
    let mut strings = Vec::new();
    if let Some(root) = parse_any(text) {
        collect_strings(&root, &mut strings);
    }
    for encoded in strings {
        let Some(decoded) = b64
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        else {
            continue;
        };
        let scrubbed = scrub(&decoded, secret);
        if scrubbed != decoded {
            out = out.replace(&encoded, &b64.encode(scrubbed));
        }
    }
    out
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

fn check_error(text: &str, err: &anyhow::Error) {
    let message = format!("{err:#}");
    let Some(root) = parse_any(text) else { return };
    let (mut found, mut plain) = (Vec::new(), Vec::new());
    secrets(&root, &mut found, &mut plain);
    for s in found {
        if s.len() >= 8 && !plain.iter().any(|p| p.contains(&s)) && message.contains(&s) {
            // A leak, unless the text is there by coincidence (a password
            // "username:password"): with the secret replaced everywhere, the
            // readers' errors must then still hold it.
            let again = error_messages(&scrub(text, &s));
            assert!(
                again.iter().any(|m| m.contains(&s)),
                "error quotes a secret: {message}"
            );
        }
    }
}

/// When the reader refuses the document (it does not parse), the error
/// holds no text of the input at all, whatever its shape (type tags,
/// anchors, keys, base64): a word of 6 or more letters or digits that the
/// message shows came from the input if scrubbing it from the input gives
/// the same message with the word scrubbed there too. (A word the message
/// holds anyway, its own vocabulary or a line number, stays as it was.)
fn check_reader_error(text: &str) {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() || reader::parse(trimmed, Syntax::guess(trimmed)).is_ok() {
        return;
    }
    let messages = |text: &str| {
        let mut out = Vec::new();
        if let Err(err) = Document::parse(text) {
            out.push(format!("{err:#}"));
        }
        if let Err(err) = link::parse_service_accounts(text) {
            out.push(format!("{err:#}"));
        }
        out
    };
    let before = messages(text);
    assert_eq!(before.len(), 2, "a document the reader refuses was accepted");
    let words = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 6);
    for word in words {
        if !before.iter().any(|m| m.contains(word)) {
            continue;
        }
        let filler = if word.starts_with('Q') { "Z" } else { "Q" };
        let filler = filler.repeat(word.chars().count());
        let after = messages(&text.replace(word, &filler));
        for (message, again) in before.iter().zip(&after) {
            assert!(
                !message.contains(word) || *again != message.replace(word, &filler),
                "a reader error shows text of the input ({word:?}): {message}"
            );
        }
    }
}

/// The usable credentials of a document, by key. A username with a ':' has
/// no `auth` spelling (RFC 7617: the first ':' ends the user-id), so it is
/// left out of the round trip.
fn credentials(entries: &[(String, Value)]) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    for (key, value) in entries {
        if let Ok(Ok(found)) = read_entry(key, value) {
            if found.username.contains(':') {
                continue;
            }
            out.insert(
                key.clone(),
                Entry::Password {
                    username: found.username,
                    password: found.password,
                    email: found.email,
                },
            );
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(accounts) = link::parse_service_accounts(text) {
        let live = serde_json::from_str::<Value>(text)
            .ok()
            .or_else(|| yaml::parse(text).ok())
            .expect("it parsed once");
        let items = match live.get("items") {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![live],
        };
        assert_eq!(accounts.len(), items.len(), "one account per item");
        for (account, item) in accounts.iter().zip(&items) {
            let linked = account.linked(&["pull-secret"]);
            let pull = linked["imagePullSecrets"].as_array().expect("a list");
            assert!(pull.iter().any(|e| e["name"] == "pull-secret"), "{linked}");
            let before = item
                .get("imagePullSecrets")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                &pull[..before.len()],
                &before[..],
                "a live entry was lost: {linked}"
            );
        }
    }
    check_reader_error(text);
    let doc = match Document::parse(text) {
        Ok(doc) => doc,
        Err(err) => return check_error(text, &err),
    };
    let entries = doc.entries().expect("parse validated the entries");
    for (key, value) in &entries {
        if let Err(err) = read_entry(key, value) {
            check_error(text, &err);
        }
    }
    // Credentials read, written as a payload of either kind, read back the same.
    let creds = credentials(&entries);
    for kind in [PayloadKind::DockerConfigJson, PayloadKind::DockerCfg] {
        let written = payload_bytes(&payload_value(kind, &creds));
        let again = Document::parse(&written)
            .unwrap_or_else(|e| panic!("our own payload {written:?} refused: {e:#}"));
        let again = credentials(&again.entries().expect("validated"));
        assert_eq!(again, creds, "{written:?}");
    }
    // A document merged with nothing and rendered keeps every entry.
    if matches!(doc.shape, Shape::List) {
        return;
    }
    let (payload, _) = doc
        .merged_payload(&Map::new(), &[])
        .expect("a Secret or payload merges");
    let rendered = doc
        .render_with(&payload, Metadata::KeepAll)
        .expect("a merged document renders");
    let again = Document::parse(&rendered)
        .unwrap_or_else(|e| panic!("rendered {rendered:?} refused: {e:#}"));
    let sorted = |mut v: Vec<(String, Value)>| {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(
        sorted(again.entries().expect("validated")),
        sorted(entries),
        "{rendered:?}"
    );
});
