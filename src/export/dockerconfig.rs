//! The `.dockerconfigjson` / `.dockercfg` payloads: building our entries the
//! way `kubectl create secret docker-registry` does, and reading entries back.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use base64::Engine;
use serde_json::{Map, Value};

use crate::secret::Secret;

/// The standard padded base64 that kubectl, docker and kubelet use.
pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Which payload: `{"auths":{...}}` or the legacy bare map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    DockerConfigJson,
    DockerCfg,
}

impl PayloadKind {
    /// The Secret `type` that carries this payload.
    pub(crate) fn secret_type(self) -> &'static str {
        match self {
            PayloadKind::DockerConfigJson => "kubernetes.io/dockerconfigjson",
            PayloadKind::DockerCfg => "kubernetes.io/dockercfg",
        }
    }

    /// The Secret `data` key that holds the payload.
    pub(crate) fn data_key(self) -> &'static str {
        match self {
            PayloadKind::DockerConfigJson => ".dockerconfigjson",
            PayloadKind::DockerCfg => ".dockercfg",
        }
    }
}

/// What one exported registry entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// username + password (+ email): the form kubelet and every client read.
    Password {
        username: String,
        password: Secret,
        email: Option<String>,
    },
    /// An identity (refresh) token, only with `--include-tokens`.
    IdentityToken(Secret),
}

impl Entry {
    /// The entry as a JSON object, fields in kubectl's order:
    /// username, password, email (omitted when empty), auth.
    pub(crate) fn to_value(&self) -> Value {
        let mut map = Map::new();
        match self {
            Entry::Password {
                username,
                password,
                email,
            } => {
                map.insert("username".into(), Value::String(username.clone()));
                map.insert(
                    "password".into(),
                    Value::String(password.expose().to_owned()),
                );
                if let Some(email) = email.as_deref().filter(|e| !e.is_empty()) {
                    map.insert("email".into(), Value::String(email.to_owned()));
                }
                let auth = B64.encode(format!("{username}:{}", password.expose()));
                map.insert("auth".into(), Value::String(auth));
            }
            Entry::IdentityToken(token) => {
                map.insert(
                    "identitytoken".into(),
                    Value::String(token.expose().to_owned()),
                );
            }
        }
        Value::Object(map)
    }
}

/// The payload map for `entries` (keys sorted, as Go marshals a map).
pub fn payload_value(kind: PayloadKind, entries: &BTreeMap<String, Entry>) -> Value {
    let auths: Map<String, Value> = entries
        .iter()
        .map(|(k, e)| (k.clone(), e.to_value()))
        .collect();
    wrap(kind, auths)
}

/// Wraps an auths map in the payload shape of `kind`.
pub(crate) fn wrap(kind: PayloadKind, auths: Map<String, Value>) -> Value {
    match kind {
        PayloadKind::DockerConfigJson => {
            let mut top = Map::new();
            top.insert("auths".into(), Value::Object(auths));
            Value::Object(top)
        }
        PayloadKind::DockerCfg => Value::Object(auths),
    }
}

/// The payload bytes: compact Go-style JSON, no trailing newline
/// (byte-equal to kubectl's `.dockerconfigjson`).
pub fn payload_bytes(value: &Value) -> String {
    crate::gojson::to_string(value)
}

/// A credential read from someone else's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub username: String,
    pub password: Secret,
    pub email: Option<String>,
}

/// Why an entry cannot be imported but is not an error (skipped with a note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// No `auth` and no username/password (e.g. `{}` next to a credsStore).
    NoAuth,
    /// Only an identity token: a pull secret's reader (kubelet) ignores it,
    /// and `import` copies username/password pairs only.
    IdentityTokenOnly,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unusable::NoAuth => "no auth, username or password in the entry",
            Unusable::IdentityTokenOnly => "only an identity token, which import does not copy (`migrate` moves the tokens of a docker config.json into the store)",
        })
    }
}

/// Why a username cannot go into a pull secret, if it cannot: `auth` is
/// base64 of `username:password`, and kubelet and registries split it at
/// the first ':' (RFC 7617: a user-id has no ':'). `export` refuses such a
/// credential, `import` skips it.
pub(crate) fn unrepresentable_username(username: &str) -> Option<&'static str> {
    username.contains(':').then_some(
        "the username contains ':', which a pull secret cannot represent (kubelet and registries split \"auth\" at the first ':')",
    )
}

/// Reads one entry the way kubelet does: `auth` wins over username/password.
/// Malformed input is an error naming `key`.
pub fn read_entry(key: &str, value: &Value) -> Result<std::result::Result<Found, Unusable>> {
    let key = crate::registry::shown(key);
    let Some(obj) = value.as_object() else {
        bail!("entry {key:?} is not a JSON object");
    };
    let text = |field: &str| -> Result<Option<String>> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => bail!("entry {key:?}: field {field:?} is not a string"),
        }
    };
    let email = text("email")?.filter(|e| !e.is_empty());
    if let Some(auth) = text("auth")?.filter(|a| !a.is_empty()) {
        let bytes = B64
            .decode(auth.trim())
            .map_err(|_| anyhow::anyhow!("entry {key:?}: \"auth\" is not valid base64"))?;
        let decoded = String::from_utf8(bytes).map_err(|_| {
            anyhow::anyhow!("entry {key:?}: \"auth\" does not decode to UTF-8 text")
        })?;
        let Some((user, pass)) = decoded.split_once(':') else {
            bail!("entry {key:?}: \"auth\" does not decode to username:password (no ':')");
        };
        if user.is_empty() {
            bail!("entry {key:?}: \"auth\" has an empty username");
        }
        return Ok(Ok(Found {
            username: user.to_owned(),
            password: Secret::new(pass.to_owned()),
            email,
        }));
    }
    match (text("username")?, text("password")?) {
        (Some(user), Some(pass)) if !user.is_empty() => Ok(Ok(Found {
            username: user,
            password: Secret::new(pass),
            email,
        })),
        _ if text("identitytoken")?.is_some_and(|t| !t.is_empty()) => {
            Ok(Err(Unusable::IdentityTokenOnly))
        }
        _ => Ok(Err(Unusable::NoAuth)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_fields_in_kubectl_order_and_email_omitted_when_empty() {
        let e = Entry::Password {
            username: "u".into(),
            password: "p".into(),
            email: Some(String::new()),
        };
        let mut m = BTreeMap::new();
        m.insert("quay.io".to_owned(), e);
        let v = payload_value(PayloadKind::DockerConfigJson, &m);
        assert_eq!(
            payload_bytes(&v),
            r#"{"auths":{"quay.io":{"username":"u","password":"p","auth":"dTpw"}}}"#
        );
        let v = payload_value(PayloadKind::DockerCfg, &m);
        assert_eq!(
            payload_bytes(&v),
            r#"{"quay.io":{"username":"u","password":"p","auth":"dTpw"}}"#
        );
    }

    #[test]
    fn auth_wins_and_splits_at_first_colon() {
        let v: Value =
            serde_json::json!({"username":"x","password":"y","auth": B64.encode("a:b:c")});
        let found = read_entry("k", &v).unwrap().unwrap();
        assert_eq!(found.username, "a");
        assert_eq!(found.password.expose(), "b:c");
    }

    #[test]
    fn bad_entries_name_the_key() {
        for (v, msg) in [
            (serde_json::json!({"auth":"!!!"}), "not valid base64"),
            (serde_json::json!({"auth": B64.encode("nocolon")}), "no ':'"),
            (serde_json::json!({"auth": 5}), "not a string"),
            (serde_json::json!("x"), "not a JSON object"),
        ] {
            let err = read_entry("reg.example.com", &v).unwrap_err().to_string();
            assert!(
                err.contains("reg.example.com") && err.contains(msg),
                "{err}"
            );
        }
        assert_eq!(
            read_entry("k", &serde_json::json!({})).unwrap(),
            Err(Unusable::NoAuth)
        );
        assert_eq!(
            read_entry("k", &serde_json::json!({"identitytoken":"t"})).unwrap(),
            Err(Unusable::IdentityTokenOnly)
        );
    }
}
