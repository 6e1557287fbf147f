//! Delegated-auth pairs: a registry linked to the auth server (SSO/token
//! realm) that issues its tokens. Stored in the index next to the credentials.

use serde::{Deserialize, Serialize};

/// A registry's link to its auth server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// Key of the auth server (host, or host + realm path prefix).
    #[serde(rename = "authServer")]
    pub auth_server: String,
}
