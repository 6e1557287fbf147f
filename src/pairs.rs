//! Delegated-auth pairs: a registry linked to the auth server (SSO/token
//! realm) that issues its tokens. Stored in the index next to the credentials.
//!
//! Rules (the one place they live):
//! - a registry has at most one auth server; an auth server may serve many registries;
//! - an auth server answers with its own credential if one is stored, else with
//!   the credential of its paired registry when exactly one registry (or several
//!   that agree) is paired with it.

use serde::{Deserialize, Serialize};

use crate::store::Database;

/// A registry's link to its auth server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// Key of the auth server (host, or host + realm path prefix).
    #[serde(rename = "authServer")]
    pub auth_server: String,
}

/// Which stored credential answers for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A credential is stored under the key itself.
    Own(String),
    /// The key is an auth server without its own credential: use this registry's.
    ViaRegistry(String),
    /// An auth server whose paired registries hold different usernames.
    Conflict(Vec<String>),
    /// Nothing answers.
    None,
}

/// Registry keys paired with `auth_server`, sorted.
pub fn registries_for<'a>(db: &'a Database, auth_server: &str) -> Vec<&'a str> {
    db.pairs
        .iter()
        .filter(|(_, p)| p.auth_server == auth_server)
        .map(|(r, _)| r.as_str())
        .collect()
}

/// Resolves `key` to the stored credential that answers for it.
pub fn resolve(db: &Database, key: &str) -> Resolution {
    if db.credentials.contains_key(key) {
        return Resolution::Own(key.to_owned());
    }
    let stored: Vec<&str> = registries_for(db, key)
        .into_iter()
        .filter(|r| db.credentials.contains_key(*r))
        .collect();
    match stored.as_slice() {
        [] => Resolution::None,
        [one] => Resolution::ViaRegistry((*one).to_owned()),
        many => {
            let first = &db.credentials[many[0]].username;
            if many.iter().all(|r| &db.credentials[*r].username == first) {
                Resolution::ViaRegistry(many[0].to_owned())
            } else {
                Resolution::Conflict(many.iter().map(|s| (*s).to_owned()).collect())
            }
        }
    }
}
