//! The index file `store.json`: every credential's metadata, the file store's
//! secrets, and the delegated-auth pairs. One file, replaced atomically under a
//! lock, so readers never need a lock and never see a torn state.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::StoreKind;
use crate::secret::Secret;

/// File name of the index inside the data dir.
pub const DB_FILE: &str = "store.json";
/// File name of the writers' lock inside the data dir.
pub const LOCK_FILE: &str = "store.lock";
/// Format version written by this build.
pub const DB_VERSION: u32 = 1;

/// The whole index file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub version: u32,
    /// Credentials by normalised key (see [`crate::registry::ServerKey`]).
    #[serde(default)]
    pub credentials: BTreeMap<String, Record>,
    /// Delegated-auth pairs: registry key -> pair (see [`crate::pairs`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pairs: BTreeMap<String, crate::pairs::Pair>,
    /// Keys written by newer versions, kept as they are.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            version: DB_VERSION,
            credentials: BTreeMap::new(),
            pairs: BTreeMap::new(),
            extra: serde_json::Map::new(),
        }
    }
}

/// One credential's entry in the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The ServerURL spelling the client stored (what `list` reports).
    #[serde(rename = "serverURL")]
    pub server_url: String,
    pub username: String,
    /// Which store holds the secret.
    pub store: StoreKind,
    /// The secret itself, only for the file store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// Email to put in exported pull secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Database {
    /// Reads the index; a missing file is an empty store. A file others can
    /// read, or one that does not parse, is refused and left untouched.
    pub fn load(path: &Path) -> Result<Database> {
        let Some(bytes) = read_private(path)? else {
            return Ok(Database::default());
        };
        let db: Database = serde_json::from_slice(&bytes).map_err(|err| corrupt(path, err))?;
        if db.version > DB_VERSION {
            bail!(
                "the credential store {} was written by a newer docker-credential-keyring (format {}); upgrade this one",
                path.display(),
                db.version
            );
        }
        Ok(db)
    }

    /// Writes the index atomically, mode 0600.
    pub fn save(&self, path: &Path) -> Result<()> {
        // The encoded file holds the file store's secrets: wipe it when done.
        let mut bytes = zeroize::Zeroizing::new(
            serde_json::to_vec_pretty(self).context("cannot encode the store")?,
        );
        bytes.push(b'\n');
        crate::fsutil::write_atomic(path, &bytes, 0o600)
    }
}

/// The non-secret part of a record, for `list` (the secret is skipped, not copied).
#[derive(Debug, Deserialize)]
pub struct RecordMeta {
    #[serde(rename = "serverURL")]
    pub server_url: String,
    pub username: String,
    pub store: StoreKind,
}

/// The index without any secret: what `list` needs (credential metadata and pairs).
#[derive(Debug, Default, Deserialize)]
pub struct IndexView {
    #[serde(default)]
    pub credentials: BTreeMap<String, RecordMeta>,
    #[serde(default)]
    pub pairs: BTreeMap<String, crate::pairs::Pair>,
}

/// Every key with its metadata, without reading any secret into memory.
pub fn list_index(path: &Path) -> Result<BTreeMap<String, RecordMeta>> {
    Ok(read_index_view(path)?.credentials)
}

/// The whole index minus the secrets, in one read.
pub fn read_index_view(path: &Path) -> Result<IndexView> {
    let Some(bytes) = read_private(path)? else {
        return Ok(IndexView::default());
    };
    serde_json::from_slice(&bytes).map_err(|err| corrupt(path, err))
}

fn corrupt(path: &Path, err: serde_json::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "the credential store {} is corrupt (line {}, column {}); it was left untouched: restore it from a backup, or move it away to start an empty store",
        path.display(),
        err.line(),
        err.column()
    )
}

/// Reads `path` if it exists, refusing a file that group or others can access.
/// The bytes hold the file store's secrets, so they are wiped when dropped.
fn read_private(path: &Path) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    let Some(bytes) = crate::fsutil::read_if_exists(path)? else {
        return Ok(None);
    };
    let bytes = zeroize::Zeroizing::new(bytes);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "refusing to use the credential store {}: its mode {:o} lets other users read it; run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    Ok(Some(bytes))
}
