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
pub(crate) const DB_FILE: &str = "store.json";
/// File name of the writers' lock inside the data dir.
pub(crate) const LOCK_FILE: &str = "store.lock";
/// Format version written by this build.
pub(crate) const DB_VERSION: u32 = 1;

/// The whole index file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Database {
    pub(crate) version: u32,
    /// Credentials by normalised key (see [`crate::registry::ServerKey`]).
    #[serde(default)]
    pub(crate) credentials: BTreeMap<String, Record>,
    /// Delegated-auth pairs: registry key -> pair (see [`crate::pairs`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) pairs: BTreeMap<String, Pair>,
    /// Keys written by newer versions, kept as they are.
    #[serde(flatten)]
    pub(crate) extra: serde_json::Map<String, serde_json::Value>,
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

/// A registry's link to the auth server that issues its tokens. Index data
/// (written under the index's lock, read in the same file read as the
/// credentials); the rules over it live in [`crate::pairs`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pair {
    /// Key of the auth server (host, or host + realm path prefix).
    #[serde(rename = "authServer")]
    pub(crate) auth_server: String,
    /// Whose credential the registry's token requests carry (absent: the
    /// registry's own, which is also what an index written before this field
    /// means: an older pair never uses a credential the user did not tie to it).
    #[serde(
        rename = "authCredential",
        default,
        skip_serializing_if = "AuthCredential::is_registry"
    )]
    pub(crate) auth_credential: AuthCredential,
    /// The username of the auth server's credential the pair was tied to: a
    /// credential stored later under another username (`docker login` of the
    /// auth server, an import) is not the one the user tied, so the tie lapses.
    #[serde(
        rename = "authUsername",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) auth_username: Option<String>,
}

/// How a pair relates to the auth server's own stored credential (the trust
/// rule over it lives in [`crate::pairs`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum AuthCredential {
    /// The auth server's credential was stored by the same `login` that made
    /// the pair (or the user agreed to share one stored that way): the pair
    /// owns it, and the last owner's logout removes it.
    Owned,
    /// The auth server's credential was stored on its own (it is also a
    /// registry, say) and the user agreed to use it for this registry: used,
    /// never removed with the pair.
    Shared,
    /// Not tied: the registry's own credential is what its token requests
    /// carry. A value written by a newer version reads as this (the safe side).
    #[default]
    #[serde(other)]
    Registry,
}

impl AuthCredential {
    fn is_registry(&self) -> bool {
        *self == AuthCredential::Registry
    }

    /// Whether the registry's token requests carry the auth server's own credential.
    pub(crate) fn uses_auth_server_credential(self) -> bool {
        self != AuthCredential::Registry
    }
}

/// One credential's entry in the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The ServerURL spelling the client stored (what `list` reports).
    #[serde(rename = "serverURL")]
    pub(crate) server_url: String,
    pub(crate) username: String,
    /// Which store holds the secret.
    pub(crate) store: StoreKind,
    /// The secret itself, only for the file store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) secret: Option<Secret>,
    /// Email to put in exported pull secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    /// Where the keyring keeps the secret (a Secret Service item's D-Bus
    /// path), so `get` reads it directly instead of searching: a hint, checked
    /// before it is trusted and replaced when stale (`store::secrets::Found`).
    /// Optional, so the format stays 1: older versions ignore it (and drop it
    /// when they rewrite the index), and a record without it is searched for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) item: Option<String>,
}

impl Database {
    /// Reads the index; a missing file is an empty store. A file others can
    /// read, or one that does not parse, is refused and left untouched.
    pub(crate) fn load(path: &Path) -> Result<Database> {
        let Some((bytes, _)) = read_private(path)? else {
            return Ok(Database::default());
        };
        let db: Database = serde_json::from_slice(&bytes).map_err(|err| corrupt(path, err))?;
        check_version(path, db.version)?;
        Ok(db)
    }

    /// Writes the index atomically, mode 0600.
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
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
pub(crate) struct RecordMeta {
    #[serde(rename = "serverURL")]
    pub(crate) server_url: String,
    pub(crate) username: String,
    pub(crate) store: StoreKind,
}

/// The index without any secret: what `list` needs (credential metadata and pairs).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct IndexView {
    /// The format, checked by the readers ([`check_version`]); 0 when missing.
    #[serde(default)]
    pub(crate) version: u32,
    #[serde(default)]
    pub(crate) credentials: BTreeMap<String, RecordMeta>,
    #[serde(default)]
    pub(crate) pairs: BTreeMap<String, Pair>,
}

/// The whole index minus the secrets, in one read.
pub(crate) fn read_index_view(path: &Path) -> Result<IndexView> {
    IndexBytes::read(path)?.view()
}

/// The record under `key` alone, for `get` (the hot path: docker calls it once
/// per registry per command). Unlike [`Database::load`] it allocates nothing for
/// the other records: they are scanned and skipped, and the whole-file
/// `#[serde(flatten)]` buffering of [`Database`] is avoided. With 1000 stored
/// credentials this is several times fewer instructions than a full load.
pub(crate) fn find_record(path: &Path, key: &str) -> Result<Option<Record>> {
    find_record_pinned(path, key).map(|(record, _)| record)
}

/// [`find_record`], and the file it was read from, held ([`Pinned`]), so a
/// reader that must read the record again under the lock can tell whether
/// it changed instead (a `stat`, not a second parse).
pub(crate) fn find_record_pinned(
    path: &Path,
    key: &str,
) -> Result<(Option<Record>, Option<Pinned>)> {
    // The file holds the file store's secrets: wipe our copy when done.
    let Some((bytes, pinned)) = read_private(path)? else {
        return Ok((None, None));
    };
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let (version, record) = serde::de::DeserializeSeed::deserialize(find::Index(key), &mut de)
        .and_then(|found| de.end().map(|()| found))
        .map_err(|err| corrupt(path, err))?;
    check_version(path, version)?;
    Ok((record, Some(pinned)))
}

/// The index file as one read found it, kept open: while it is, its inode
/// cannot be reused, so [`Pinned::still_current`] tells exactly whether the
/// path still names that file. Every write replaces the file
/// (`fsutil::write_atomic`: a new file renamed over it), so the same file
/// means the same contents.
pub(crate) struct Pinned {
    _file: std::fs::File,
    #[cfg(unix)]
    id: (u64, u64),
}

impl Pinned {
    fn new(file: std::fs::File, _metadata: &std::fs::Metadata) -> Pinned {
        Pinned {
            _file: file,
            #[cfg(unix)]
            id: {
                use std::os::unix::fs::MetadataExt;
                (_metadata.dev(), _metadata.ino())
            },
        }
    }

    /// Whether `path` still names the file that was read: no writer has
    /// replaced the index since. Always `false` where files have no inode
    /// numbers to compare (Windows): the caller reads again.
    pub(crate) fn still_current(&self, path: &Path) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(path).is_ok_and(|now| (now.dev(), now.ino()) == self.id)
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            false
        }
    }
}

/// Serde visitors for [`find_record`]: walk `{"version", "credentials": {..}}`
/// and deserialize only the entry whose key matches.
mod find {
    use std::fmt;

    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

    use super::Record;

    /// Seed for the whole file: yields (version, the matching record).
    pub(crate) struct Index<'k>(pub(crate) &'k str);

    /// Seed for the `credentials` object.
    struct Credentials<'k>(&'k str);

    /// Seed for one map key: whether it equals the wanted one (no allocation,
    /// escaped keys included).
    struct KeyIs<'k>(&'k str);

    impl<'de> DeserializeSeed<'de> for Index<'_> {
        type Value = (u32, Option<Record>);
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Index<'_> {
        type Value = (u32, Option<Record>);
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("the credential store object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut version, mut record) = (None, None);
            while let Some(name) = map.next_key::<String>()? {
                match name.as_str() {
                    // Refused as the other readers' derived Deserialize does,
                    // so no command reads an index another one refuses.
                    "version" if version.is_some() => {
                        return Err(serde::de::Error::duplicate_field("version"))
                    }
                    "version" => version = Some(map.next_value()?),
                    "credentials" => record = map.next_value_seed(Credentials(self.0))?,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok((version.unwrap_or(0), record))
        }
    }

    impl<'de> DeserializeSeed<'de> for Credentials<'_> {
        type Value = Option<Record>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Credentials<'_> {
        type Value = Option<Record>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of credentials")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(is_wanted) = map.next_key_seed(KeyIs(self.0))? {
                if is_wanted {
                    // JSON objects may repeat a key; the last one wins, as in a full load.
                    found = Some(map.next_value::<Record>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }

    impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for KeyIs<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a credential key")
        }
        fn visit_str<E>(self, v: &str) -> Result<bool, E> {
            Ok(v == self.0)
        }
    }
}

/// The index file's bytes, read for `list`: [`IndexBytes::listed`] borrows
/// every ServerURL and username from them instead of allocating each.
pub(crate) struct IndexBytes(Option<zeroize::Zeroizing<Vec<u8>>>, std::path::PathBuf);

/// One line of `list`, borrowed from [`IndexBytes`] (owned only when the JSON
/// string had escapes).
#[derive(Debug, Deserialize)]
pub(crate) struct ListedRef<'a> {
    #[serde(rename = "serverURL", borrow)]
    pub(crate) server_url: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) username: std::borrow::Cow<'a, str>,
}

impl ListedRef<'static> {
    /// A line that is not in the index bytes (an auth server `list` adds).
    pub(crate) fn owned(server_url: String, username: String) -> Self {
        ListedRef {
            server_url: server_url.into(),
            username: username.into(),
        }
    }
}

impl IndexBytes {
    /// Reads the index (a missing file lists nothing).
    pub(crate) fn read(path: &Path) -> Result<IndexBytes> {
        // The file holds the file store's secrets: wipe our copy on drop.
        let bytes = read_private(path)?.map(|(bytes, _)| bytes);
        Ok(IndexBytes(bytes, path.to_path_buf()))
    }

    /// Every credential's ServerURL spelling and username, in index (key)
    /// order (secrets and other fields are skipped, never copied), plus
    /// whether the index holds any pair (then
    /// `list` also reports auth servers; see [`crate::pairs::listed_auth_servers`]).
    pub(crate) fn listed_and_pairs(&self) -> Result<(Vec<ListedRef<'_>>, bool)> {
        #[derive(Deserialize)]
        struct View<'a> {
            #[serde(default)]
            version: u32,
            #[serde(default, borrow, deserialize_with = "map_values")]
            credentials: Vec<ListedRef<'a>>,
            #[serde(default)]
            pairs: Option<serde::de::IgnoredAny>,
        }
        let Some(bytes) = &self.0 else {
            return Ok((Vec::new(), false));
        };
        let view: View = serde_json::from_slice(bytes).map_err(|err| corrupt(&self.1, err))?;
        check_version(&self.1, view.version)?;
        Ok((view.credentials, view.pairs.is_some()))
    }

    /// The same bytes as an [`IndexView`] (metadata and pairs, no secret).
    pub(crate) fn view(&self) -> Result<IndexView> {
        match &self.0 {
            None => Ok(IndexView::default()),
            Some(bytes) => {
                let view: IndexView =
                    serde_json::from_slice(bytes).map_err(|err| corrupt(&self.1, err))?;
                check_version(&self.1, view.version)?;
                Ok(view)
            }
        }
    }
}

/// Deserializes a JSON object's values into a Vec, ignoring the keys (no map built).
fn map_values<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Values<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Values<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of credentials")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some((serde::de::IgnoredAny, value)) = map.next_entry()? {
                out.push(value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Values(std::marker::PhantomData))
}

/// Refuses an index whose format this build does not know, whichever command
/// reads it (a newer one may mean something else by the same fields; writing
/// it back would lose what it added).
fn check_version(path: &Path, version: u32) -> Result<()> {
    if version > DB_VERSION {
        bail!(
            "the credential store {} was written by a newer docker-credential-keyring (format {}); upgrade this one",
            path.display(),
            version
        );
    }
    if version != DB_VERSION {
        bail!(
            "the credential store {} has format {version}, which no docker-credential-keyring writes; it was left untouched: restore it from a backup, or move it away to start an empty store",
            path.display()
        );
    }
    Ok(())
}

fn corrupt(path: &Path, err: serde_json::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "the credential store {} is corrupt (line {}, column {}); it was left untouched: restore it from a backup, or move it away to start an empty store",
        path.display(),
        err.line(),
        err.column()
    )
}

/// Reads `path` if it exists, refusing a file that group or others can access;
/// the file stays open in the [`Pinned`] returned with the bytes. The bytes
/// hold the file store's secrets, so they are wiped when dropped.
fn read_private(path: &Path) -> Result<Option<(zeroize::Zeroizing<Vec<u8>>, Pinned)>> {
    use std::io::Read;
    let cannot_read = || format!("cannot read {}", path.display());
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(cannot_read),
    };
    let metadata = file.metadata().with_context(cannot_read)?;
    let capacity = usize::try_from(metadata.len()).unwrap_or(0);
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(capacity));
    file.read_to_end(&mut bytes).with_context(cannot_read)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "refusing to use the credential store {}: its mode {:o} lets other users read it; run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    Ok(Some((bytes, Pinned::new(file, &metadata))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_ties_an_auth_credential_only_when_it_says_so() {
        let read = |pair: &str| -> AuthCredential {
            let text = format!(r#"{{"version":1,"pairs":{{"r.example":{pair}}}}}"#);
            let db: Database = serde_json::from_str(&text).unwrap();
            db.pairs["r.example"].auth_credential
        };
        // Written before the field existed, or by a newer version: not tied.
        assert_eq!(
            read(r#"{"authServer":"s.example"}"#),
            AuthCredential::Registry
        );
        assert_eq!(
            read(r#"{"authServer":"s.example","authCredential":"from-the-future"}"#),
            AuthCredential::Registry
        );
        assert_eq!(
            read(r#"{"authServer":"s.example","authCredential":"owned"}"#),
            AuthCredential::Owned
        );
        // Not tied is the absence of the field, as before.
        let pair = Pair {
            auth_server: "s.example".into(),
            auth_credential: AuthCredential::Registry,
            auth_username: None,
        };
        assert_eq!(
            serde_json::to_string(&pair).unwrap(),
            r#"{"authServer":"s.example"}"#
        );
    }

    fn record(user: &str, secret: &str) -> Record {
        Record {
            server_url: format!("{user}.example.com"),
            username: user.to_owned(),
            store: StoreKind::File,
            secret: Some(Secret::from(secret)),
            email: None,
            item: None,
        }
    }

    /// The keyring item a record keeps is optional in both directions: an
    /// index written before it (or by a version that drops it) reads as "no
    /// item", and one that has it stays format 1, its other fields as before.
    #[test]
    fn a_kept_item_is_optional_and_leaves_the_format_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = private_file(
            &dir,
            r#"{"version":1,"credentials":{
                "old":{"serverURL":"old.io","username":"u","store":"secret-service"},
                "new":{"serverURL":"new.io","username":"v","store":"secret-service",
                       "item":"/org/freedesktop/secrets/collection/login/7"}}}"#,
        );
        assert_eq!(find_record(&path, "old").unwrap().unwrap().item, None);
        let new = find_record(&path, "new").unwrap().unwrap();
        assert_eq!(
            new.item.as_deref(),
            Some("/org/freedesktop/secrets/collection/login/7")
        );
        let db = Database::load(&path).unwrap();
        assert_eq!(db.credentials["new"], new);
        db.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""version": 1"#), "{text}");
        assert_eq!(text.matches(r#""item""#).count(), 1, "{text}");
        // `list` reads past it.
        let index = IndexBytes::read(&path).unwrap();
        assert_eq!(index.listed_and_pairs().unwrap().0.len(), 2);
        assert_eq!(read_index_view(&path).unwrap().credentials.len(), 2);
    }

    fn private_file(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let path = dir.path().join(DB_FILE);
        crate::fsutil::write_atomic(&path, text.as_bytes(), 0o600).unwrap();
        path
    }

    #[test]
    fn find_record_agrees_with_a_full_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        let mut db = Database::default();
        for i in 0..50 {
            db.credentials.insert(
                format!("host{i}"),
                record(&format!("u{i}"), &format!("s{i}")),
            );
        }
        // A key that needs escaping in JSON, and a key that is a prefix of others.
        db.credentials
            .insert("quo\"te\\host/päth".to_owned(), record("q", "sq"));
        db.credentials.insert("host".to_owned(), record("h", "sh"));
        db.save(&path).unwrap();
        let loaded = Database::load(&path).unwrap();
        for key in loaded.credentials.keys() {
            assert_eq!(
                find_record(&path, key).unwrap().as_ref(),
                loaded.credentials.get(key),
                "{key}"
            );
        }
        assert_eq!(find_record(&path, "host999").unwrap(), None);
        assert_eq!(find_record(&path, "").unwrap(), None);
    }

    #[test]
    fn listed_borrows_lines_and_skips_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = private_file(
            &dir,
            r#"{"version":1,"future":{"x":[1]},"credentials":{
                "a":{"serverURL":"a.io","username":"plain","store":"file","secret":"s","email":"e"},
                "b":{"serverURL":"b.io","username":"\u003ctoken\u003e","store":"secret-service"}}}"#,
        );
        let index = IndexBytes::read(&path).unwrap();
        let listed = index.listed_and_pairs().unwrap().0;
        let pairs: Vec<(&str, &str)> = listed
            .iter()
            .map(|l| (&*l.server_url, &*l.username))
            .collect();
        assert_eq!(pairs, [("a.io", "plain"), ("b.io", "<token>")]);
        assert!(matches!(listed[0].username, std::borrow::Cow::Borrowed(_)));
        let missing = IndexBytes::read(&dir.path().join("none.json")).unwrap();
        assert!(missing.listed_and_pairs().unwrap().0.is_empty());
        let broken = private_file(&dir, r#"{"version":1,"credentials":{"a":{"serverURL":1}}}"#);
        let err = format!(
            "{:#}",
            IndexBytes::read(&broken)
                .unwrap()
                .listed_and_pairs()
                .unwrap_err()
        );
        assert!(err.contains("is corrupt"), "{err}");
    }

    /// A pinned read knows whether the index it read is still the one on
    /// disk: any write replaces it.
    #[test]
    fn a_pinned_read_sees_the_index_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        let mut db = Database::default();
        db.credentials.insert("k".into(), record("u", "s"));
        db.save(&path).unwrap();
        let (found, pinned) = find_record_pinned(&path, "k").unwrap();
        let pinned = pinned.unwrap();
        assert_eq!(found.unwrap().username, "u");
        assert_eq!(pinned.still_current(&path), cfg!(unix));
        db.save(&path).unwrap();
        assert!(!pinned.still_current(&path), "a rewrite went unseen");
        let (_, pinned) = find_record_pinned(&path, "k").unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(!pinned.unwrap().still_current(&path));
        assert!(find_record_pinned(&path, "k").unwrap().1.is_none());
    }

    #[test]
    fn find_record_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_record(&dir.path().join(DB_FILE), "x").unwrap(), None);
    }

    #[test]
    fn find_record_last_duplicate_wins_like_a_full_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = private_file(
            &dir,
            r#"{"version":1,"credentials":{
                "k":{"serverURL":"k","username":"first","store":"file","secret":"a"},
                "k":{"serverURL":"k","username":"second","store":"file","secret":"b"}}}"#,
        );
        let full = Database::load(&path).unwrap();
        let found = find_record(&path, "k").unwrap().unwrap();
        assert_eq!(found.username, "second");
        assert_eq!(Some(&found), full.credentials.get("k"));
    }

    #[test]
    fn find_record_refuses_corrupt_and_newer_files() {
        let dir = tempfile::tempdir().unwrap();
        // Broken JSON after the wanted record still makes the file corrupt.
        let path = private_file(
            &dir,
            r#"{"version":1,"credentials":{"k":{"serverURL":"k","username":"u","store":"file"}, "#,
        );
        let err = format!("{:#}", find_record(&path, "k").unwrap_err());
        assert!(err.contains("is corrupt"), "{err}");
        let path = private_file(&dir, r#"{"version":1,"credentials":{}} trailing"#);
        let err = format!("{:#}", find_record(&path, "k").unwrap_err());
        assert!(err.contains("is corrupt"), "{err}");
        let path = private_file(&dir, r#"{"version":99,"credentials":{}}"#);
        let err = format!("{:#}", find_record(&path, "k").unwrap_err());
        assert!(err.contains("newer docker-credential-keyring"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn find_record_refuses_a_readable_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = private_file(&dir, r#"{"version":1,"credentials":{}}"#);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = format!("{:#}", find_record(&path, "k").unwrap_err());
        assert!(err.contains("chmod 600"), "{err}");
    }
}
