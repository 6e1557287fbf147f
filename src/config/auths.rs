//! Plaintext credentials in a config file's `auths` map, as docker and
//! containers/image write them when no helper is configured:
//! `{"auths": {"quay.io": {"auth": base64("user:password")}}}`, or with an
//! `identitytoken` (username `<token>` for the helper protocol).
//!
//! `import` and `migrate` read them with [`plaintext_auths`]; `migrate` removes
//! them with [`strip_plaintext`], leaving the empty `{}` marker docker writes
//! for a registry whose secret lives in a helper.

use anyhow::{bail, Result};
use serde_json::{Map, Value};

use crate::registry::IDENTITY_TOKEN_USER;
use crate::secret::Secret;

/// Members of an `auths` entry that hold a secret (or the username bound to it).
const SECRET_FIELDS: &[&str] = &["auth", "identitytoken", "password", "registrytoken"];

/// One plaintext credential found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaintextAuth {
    /// The entry's key exactly as in the file (`https://index.docker.io/v1/`, `quay.io`).
    pub server: String,
    /// `<token>` when the secret is an identity token.
    pub username: String,
    pub secret: Secret,
    pub email: Option<String>,
}

/// Every entry of `root["auths"]` that holds a secret, in file order. Entries
/// without one (`{}` markers) are skipped. An entry that cannot be decoded is an
/// error naming the entry (never its value).
pub fn plaintext_auths(root: &Map<String, Value>) -> Result<Vec<PlaintextAuth>> {
    let Some(auths) = root.get("auths") else {
        return Ok(Vec::new());
    };
    let Some(auths) = auths.as_object() else {
        bail!("\"auths\" is not a JSON object");
    };
    let mut found = Vec::new();
    for (server, entry) in auths {
        let Some(entry) = entry.as_object() else {
            bail!(
                "the \"auths\" entry {:?} is not a JSON object",
                crate::registry::shown(server)
            );
        };
        if let Some(auth) = decode_entry(server, entry)? {
            found.push(auth);
        }
    }
    Ok(found)
}

fn field<'a>(entry: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    entry
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
        .filter(|s| !s.is_empty())
}

/// Docker's rule: an identity token wins (the helper stores it with username
/// `<token>`); otherwise `auth` (or `username`/`password`), decoded by the one
/// reader of auths entries, [`crate::export::dockerconfig::read_entry`].
fn decode_entry(server: &str, entry: &Map<String, Value>) -> Result<Option<PlaintextAuth>> {
    let email = field(entry, "email").map(str::to_owned);
    if let Some(token) = field(entry, "identitytoken") {
        return Ok(Some(PlaintextAuth {
            server: server.to_owned(),
            username: IDENTITY_TOKEN_USER.to_owned(),
            secret: Secret::from(token),
            email,
        }));
    }
    let entry = Value::Object(entry.clone());
    match crate::export::dockerconfig::read_entry(server, &entry)? {
        Ok(found) => Ok(Some(PlaintextAuth {
            server: server.to_owned(),
            username: found.username,
            secret: found.password,
            email: found.email,
        })),
        Err(_) => Ok(None),
    }
}

/// Removes the secret (and the username bound to it) from the `auths` entries
/// named in `servers`, leaving `{}` (or the entry's other members, like `email`).
pub fn strip_plaintext<'a>(
    root: &mut Map<String, Value>,
    servers: impl IntoIterator<Item = &'a str>,
) {
    let Some(auths) = root.get_mut("auths").and_then(Value::as_object_mut) else {
        return;
    };
    for server in servers {
        if let Some(entry) = auths.get_mut(server).and_then(Value::as_object_mut) {
            entry.retain(|k, _| {
                let k = k.to_ascii_lowercase();
                !SECRET_FIELDS.contains(&k.as_str()) && k != "username"
            });
        }
    }
}

/// Replaces every secret value in `value` with `REDACTED`, and the
/// `user:password@` of keys and URLs (an `auths` key, a proxy URL) with
/// `***@` ([`crate::registry::shown`]), for diffs.
pub fn redact(value: &mut Value) {
    use crate::registry::shown;
    match value {
        Value::Object(map) => {
            *map = std::mem::take(map)
                .into_iter()
                .map(|(k, mut v)| {
                    let secret = SECRET_FIELDS.iter().any(|f| k.eq_ignore_ascii_case(f));
                    match &mut v {
                        Value::String(s) if secret && !s.is_empty() => *s = "REDACTED".to_owned(),
                        other => redact(other),
                    }
                    (shown(&k), v)
                })
                .collect();
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        Value::String(s) if s.contains("://") => *s = shown(s),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn reads_auth_identity_token_and_skips_markers() {
        let r = root(
            r#"{"auths":{
                "https://index.docker.io/v1/":{"auth":"dXNlcjpwYTpzcw==","email":"u@example.com"},
                "quay.io":{},
                "tok.example.com":{"auth":"","identitytoken":"refresh"},
                "plain.example.com":{"username":"a","password":"b"}}}"#,
        );
        let found = plaintext_auths(&r).unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].server, "https://index.docker.io/v1/");
        assert_eq!(found[0].username, "user");
        assert_eq!(found[0].secret.expose(), "pa:ss");
        assert_eq!(found[0].email.as_deref(), Some("u@example.com"));
        assert_eq!(found[1].username, IDENTITY_TOKEN_USER);
        assert_eq!(found[1].secret.expose(), "refresh");
        assert_eq!(found[2].username, "a");
    }

    #[test]
    fn undecodable_entries_are_named_without_their_value() {
        let err = plaintext_auths(&root(r#"{"auths":{"x.io":{"auth":"!!notbase64secret"}}}"#))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.io") && !err.contains("notbase64secret"),
            "{err}"
        );
        let err = plaintext_auths(&root(r#"{"auths":{"x.io":{"auth":"bm9jb2xvbg=="}}}"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.io") && err.contains("no ':'"), "{err}");
    }

    #[test]
    fn strip_leaves_markers_and_other_members() {
        let mut r = root(
            r#"{"auths":{"a.io":{"auth":"YTpi","email":"e"},"b.io":{"identitytoken":"t"},"c.io":{"auth":"YTpi"}}}"#,
        );
        strip_plaintext(&mut r, ["a.io", "b.io"]);
        assert_eq!(
            Value::Object(r),
            serde_json::json!({"auths":{"a.io":{"email":"e"},"b.io":{},"c.io":{"auth":"YTpi"}}})
        );
    }

    #[test]
    fn redact_hides_user_information_in_keys_and_urls() {
        let mut v: Value = serde_json::from_str(
            r#"{"auths":{"u:KeyPw@x.io":{}},"proxies":{"default":{"httpProxy":"http://u:UrlPw@proxy:3128"}},"email":"me@example.com"}"#,
        )
        .unwrap();
        redact(&mut v);
        let text = v.to_string();
        assert!(!text.contains("KeyPw") && !text.contains("UrlPw"), "{text}");
        assert!(
            text.contains(r#""***@x.io""#) && text.contains("http://***@proxy:3128"),
            "{text}"
        );
        assert!(text.contains("me@example.com"), "{text}");
    }

    #[test]
    fn redacts_secrets() {
        let mut v = serde_json::json!({"auths":{"a":{"auth":"YTpi","Password":"p","email":"e"}}});
        redact(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"auths":{"a":{"auth":"REDACTED","Password":"REDACTED","email":"e"}}})
        );
    }
}
