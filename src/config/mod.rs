//! Docker's `config.json` and the containers `auth.json`: finding them,
//! reading them without losing anything, and writing them back the way docker
//! writes them.
//!
//! Rules (the one place they live):
//! - every key, value and key order of the file is kept (serde_json is built
//!   with `preserve_order`); only the members a command changes differ;
//! - the file is written as Go's `json.MarshalIndent(v, "", "\t")` (what docker
//!   and containers/image write), atomically, with its old mode (0600 for a new
//!   file), through a symlink to its target (as docker does);
//! - before the first change docker-credential-keyring makes to a file, the old
//!   file is copied to `<file>.bak` (once: the backup keeps the original);
//! - nothing is written when the content did not change.
//!
//! [`auths`] reads and removes the plaintext credentials (`auths`) these files hold;
//! [`helper`] owns this helper's own config file; [`setup`] what `configure`
//! sets in these files, its record, and how `unconfigure` undoes it.

pub mod auths;
pub(crate) mod setup;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};

use crate::registry::ServerKey;

pub use auths::{plaintext_auths, strip_plaintext, PlaintextAuth};

/// The helper name clients derive `docker-credential-keyring` from
/// (`"credsStore": "keyring"`).
pub(crate) const HELPER: &str = "keyring";

/// Which client's file this is (they differ in location and in what they honour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// docker's `config.json` (honours `credsStore` and `credHelpers`).
    Docker,
    /// containers/image's `auth.json` (podman, skopeo, buildah; `credHelpers` only).
    Containers,
    /// Our own `config.json` (`{"store": ...}`), edited by `configure --store`.
    Helper,
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavor::Docker => "docker config",
            Flavor::Containers => "containers auth file",
            Flavor::Helper => "docker-credential-keyring config",
        })
    }
}

impl Flavor {
    /// Where this client reads and writes its file, as the client itself decides:
    /// docker: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`;
    /// containers: `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`,
    /// else `~/.config/containers/auth.json`.
    pub(crate) fn path(self) -> Result<PathBuf> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        match self {
            Flavor::Docker => match var("DOCKER_CONFIG") {
                Some(dir) => Ok(PathBuf::from(dir).join("config.json")),
                None => Ok(home()?.join(".docker").join("config.json")),
            },
            Flavor::Containers => {
                if let Some(file) = var("REGISTRY_AUTH_FILE") {
                    return Ok(PathBuf::from(file));
                }
                if let Some(dir) = var("XDG_RUNTIME_DIR") {
                    return Ok(PathBuf::from(dir).join("containers").join("auth.json"));
                }
                Ok(home()?.join(".config").join("containers").join("auth.json"))
            }
            Flavor::Helper => crate::settings::path(),
        }
    }

    /// Opens this client's file (an absent file is an empty one).
    pub(crate) fn open(self) -> Result<ConfigFile> {
        ConfigFile::open(self, &self.path()?)
    }
}

/// Where `docker-credential-keyring` is found on `PATH`, as docker and podman
/// look it up (they run `docker-credential-<credsStore>` from `PATH`).
pub(crate) fn helper_on_path() -> Option<PathBuf> {
    crate::paths::program_on_path(crate::BINARY_NAME)
}

/// How to put this binary on `PATH`, for error messages.
pub(crate) fn path_fix_advice() -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| crate::BINARY_NAME.to_owned());
    format!(
        "install it with `cargo install docker-credential-keyring` (or `cargo install --path .` in the source tree), or `install -m 755 {exe} ~/.local/bin/` with ~/.local/bin on your PATH"
    )
}

fn home() -> Result<PathBuf> {
    directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .context("cannot find your home directory: set HOME (or DOCKER_CONFIG)")
}

/// One config file, read into memory; edit [`ConfigFile::root`], then [`ConfigFile::save`].
/// Its `Debug` shows no content: the file may hold plaintext passwords.
#[derive(Clone)]
pub struct ConfigFile {
    pub(crate) flavor: Flavor,
    /// The path as located (what users recognise).
    path: PathBuf,
    /// Where writes go: the symlink's target when `path` is a symlink.
    target: PathBuf,
    /// The bytes on disk, `None` when the file does not exist.
    original: Option<Vec<u8>>,
    /// The parsed content as read (to tell whether anything changed).
    original_root: Map<String, Value>,
    /// The content, to be edited by commands.
    pub root: Map<String, Value>,
    mode: Option<u32>,
    /// The file's identity and modification time as read (see [`Self::ensure_unchanged_on_disk`]).
    stamp: Option<FileStamp>,
}

/// What tells one version of a file from the next even when a writer put
/// back the same bytes (docker's `login` rewrites config.json by renaming a
/// new file over it): inode (on Unix), length and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

fn stamp_of(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(FileStamp {
        inode,
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

impl fmt::Debug for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigFile")
            .field("flavor", &self.flavor)
            .field("path", &self.path)
            .field("exists", &self.exists())
            .field("changed", &self.changed())
            .finish_non_exhaustive()
    }
}

impl ConfigFile {
    /// Reads `path`. A missing or blank file is an empty object; a file that is
    /// not a JSON object is refused (and never written).
    pub fn open(flavor: Flavor, path: &Path) -> Result<ConfigFile> {
        let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let stamp = stamp_of(&target);
        let original = crate::fsutil::read_if_exists(&target)?;
        let root = match &original {
            None => Map::new(),
            Some(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Some(bytes) => match crate::reader::parse_json_bytes(bytes) {
                Ok(Value::Object(map)) => map,
                Ok(_) => bail!(
                    "{} is not a JSON object; fix it or move it away (it was left untouched)",
                    path.display()
                ),
                Err(err) => bail!(
                    "{} is not valid JSON: {err}; fix it or move it away (it was left untouched)",
                    path.display(),
                ),
            },
        };
        Ok(ConfigFile {
            flavor,
            path: path.to_path_buf(),
            mode: file_mode(&target),
            target,
            original,
            original_root: root.clone(),
            root,
            stamp,
        })
    }

    /// Refuses when another program (a `docker login`, `podman login`, an
    /// editor) wrote the file since it was read or last saved: saving now
    /// would throw that change away. For commands that spend a while
    /// between reading and saving (`migrate` asks other helpers first).
    pub(crate) fn ensure_unchanged_on_disk(&self) -> Result<()> {
        let now = crate::fsutil::read_if_exists(&self.target)?;
        if now != self.original || stamp_of(&self.target) != self.stamp {
            bail!(
                "{} was changed by another program (a `docker login`?) while this command ran; it was left as that program wrote it",
                self.path.display()
            );
        }
        Ok(())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn exists(&self) -> bool {
        self.original.is_some()
    }

    /// The backup written before the first change: `<file>.bak`.
    pub(crate) fn backup_path(&self) -> PathBuf {
        let mut name = self.target.as_os_str().to_owned();
        name.push(".bak");
        PathBuf::from(name)
    }

    /// Whether the content differs from the file on disk.
    pub(crate) fn changed(&self) -> bool {
        self.root != self.original_root
    }

    /// The bytes [`save`](Self::save) writes: docker's formatting.
    pub(crate) fn render(&self) -> String {
        render(&self.root)
    }

    /// A unified diff of the change, with secret values redacted (for `--dry-run`).
    /// Empty when nothing changes.
    pub(crate) fn diff(&self) -> String {
        if !self.changed() {
            return String::new();
        }
        let old = if self.exists() {
            render_redacted(&self.original_root) + "\n"
        } else {
            String::new()
        };
        let new = render_redacted(&self.root) + "\n";
        let name = self.path.display().to_string();
        let mut text = similar::TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header(&name, &name)
            .to_string();
        if self.exists() && self.original.as_deref() != Some(render(&self.original_root).as_bytes())
        {
            text.push_str("(the whole file is rewritten the way docker writes it: tab-indented)\n");
        }
        text
    }

    /// Writes the changed content atomically with the file's mode (0600 for a new
    /// file), backing the old file up to `<file>.bak` if no backup exists yet.
    /// Does nothing when nothing changed. Returns the backup written, if any.
    pub(crate) fn save(&mut self) -> Result<Option<PathBuf>> {
        self.save_with(true)
    }

    /// Like [`save`](Self::save), without a backup (used when the old content
    /// holds secrets that must not survive on disk).
    pub(crate) fn save_without_backup(&mut self) -> Result<()> {
        self.save_with(false).map(|_| ())
    }

    fn save_with(&mut self, backup: bool) -> Result<Option<PathBuf>> {
        if !self.changed() {
            return Ok(None);
        }
        let mode = self.mode.unwrap_or(0o600);
        let mut written_backup = None;
        if let Some(dir) = self.target.parent() {
            create_dir_private(dir)?;
        }
        if let (true, Some(old)) = (backup, &self.original) {
            let bak = self.backup_path();
            if !bak.exists() {
                crate::fsutil::write_atomic(&bak, old, mode)
                    .with_context(|| format!("cannot back up {}", self.path.display()))?;
                written_backup = Some(bak);
            }
        }
        let bytes = self.render().into_bytes();
        crate::fsutil::write_atomic(&self.target, &bytes, mode)?;
        self.original = Some(bytes);
        self.original_root = self.root.clone();
        self.mode = Some(mode);
        self.stamp = stamp_of(&self.target);
        Ok(written_backup)
    }

    /// The string value at `key` (`credsStore`), if any.
    pub(crate) fn str_at(&self, key: &str) -> Option<&str> {
        self.root.get(key).and_then(Value::as_str)
    }

    /// Whether this file's client sends `key`'s credentials to `helper`:
    /// a `credHelpers` entry wins; docker falls back to `credsStore`, podman does not.
    pub(crate) fn uses_helper(&self, key: &ServerKey, helper: &str) -> bool {
        helper_of(&self.root, self.flavor, key).is_some_and(|(name, _)| name == helper)
    }

    /// The `credHelpers` map, if the file has one.
    pub(crate) fn cred_helpers(&self) -> Option<&Map<String, Value>> {
        self.root.get("credHelpers").and_then(Value::as_object)
    }
}

/// The credential helper `flavor`'s client asks for `key` in a file whose
/// top level is `root`, and the member naming it (`credHelpers` or
/// `credsStore`): a `credHelpers` entry wins, even an empty one (docker then
/// keeps the secret in the file); docker falls back to `credsStore`, podman
/// does not. `None` when the secret stays in the file.
pub(crate) fn helper_of<'a>(
    root: &'a Map<String, Value>,
    flavor: Flavor,
    key: &ServerKey,
) -> Option<(&'a str, &'static str)> {
    let named = |value: &'a Value| value.as_str().filter(|name| !name.is_empty());
    let helpers = root.get("credHelpers").and_then(Value::as_object);
    if let Some(value) = helpers.and_then(|h| h.get(&helper_key(flavor, key))) {
        return named(value).map(|name| (name, "credHelpers"));
    }
    let store = root.get("credsStore").filter(|_| flavor == Flavor::Docker);
    store.and_then(named).map(|name| (name, "credsStore"))
}

/// The `credHelpers` key for a registry as the file's client looks it up:
/// `host[:port]`, except Docker Hub, which docker looks up as
/// `https://index.docker.io/v1/` and containers/image as `docker.io`.
pub(crate) fn helper_key(flavor: Flavor, key: &ServerKey) -> String {
    if key.is_docker_hub() && flavor == Flavor::Docker {
        return key.config_key().to_owned();
    }
    key.authority()
}

/// `root` as docker writes it (tab-indented, Go escaping, no trailing newline).
pub fn render(root: &Map<String, Value>) -> String {
    crate::gojson::to_string_indent(&Value::Object(root.clone()), "\t")
}

fn render_redacted(root: &Map<String, Value>) -> String {
    let mut copy = Value::Object(root.clone());
    auths::redact(&mut copy);
    crate::gojson::to_string_indent(&copy, "\t")
}

/// Creates a missing config directory as docker does (0700); leaves an existing one alone.
fn create_dir_private(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
}

fn file_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dck-config-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn keeps_order_unknown_keys_and_mode_and_backs_up_once() {
        let dir = temp("order");
        let path = dir.join("config.json");
        let original = "{\"zeta\": 1, \"auths\": {\"b\": {}, \"a\": {}}, \"x-unknown\": [true]}";
        std::fs::write(&path, original).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        }
        let mut file = ConfigFile::open(Flavor::Docker, &path).unwrap();
        assert!(file.save().unwrap().is_none(), "unchanged: no write");
        file.root.insert("credsStore".into(), "keyring".into());
        let bak = file.save().unwrap().expect("backup on first change");
        assert_eq!(std::fs::read_to_string(&bak).unwrap(), original);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\n\t\"zeta\": 1,\n\t\"auths\": {\n\t\t\"b\": {},\n\t\t\"a\": {}\n\t},\n\t\"x-unknown\": [\n\t\ttrue\n\t],\n\t\"credsStore\": \"keyring\"\n}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640);
        }
        let mut again = ConfigFile::open(Flavor::Docker, &path).unwrap();
        again.root.remove("credsStore");
        assert!(again.save().unwrap().is_none(), "backup is written once");
        assert_eq!(std::fs::read_to_string(&bak).unwrap(), original);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_shows_no_content() {
        let dir = temp("debug");
        let path = dir.join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"a.io":{"auth":"c2VjcmV0OnNlY3JldA=="}}}"#,
        )
        .unwrap();
        let file = ConfigFile::open(Flavor::Docker, &path).unwrap();
        let shown = format!("{file:?}");
        assert!(
            !shown.contains("c2VjcmV0") && shown.contains("config.json"),
            "{shown}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_broken_files_without_touching_them() {
        let dir = temp("broken");
        let path = dir.join("config.json");
        std::fs::write(&path, "{\"auths\": ").unwrap();
        let err = ConfigFile::open(Flavor::Docker, &path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not valid JSON"), "{err}");
        std::fs::write(&path, "[1]").unwrap();
        let err = ConfigFile::open(Flavor::Docker, &path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a JSON object"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn new_file_is_private() {
        let dir = temp("new");
        let path = dir.join("sub/config.json");
        let mut file = ConfigFile::open(Flavor::Containers, &path).unwrap();
        assert!(!file.exists());
        file.root.insert(
            "credHelpers".into(),
            serde_json::json!({"quay.io": "keyring"}),
        );
        assert!(file.diff().starts_with("--- "), "{}", file.diff());
        assert!(file.save().unwrap().is_none(), "nothing to back up");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// docker: `credHelpers[host]` wins (an empty name keeps the secret in
    /// the file), else `credsStore`; podman reads `credHelpers` only.
    #[test]
    fn helper_of_follows_each_clients_lookup() {
        let root = serde_json::json!({
            "credsStore": "desktop",
            "credHelpers": {"quay.io": "keyring", "ghcr.io": "", "docker.io": "pass"}
        });
        let root = root.as_object().unwrap();
        let of = |flavor, key: &str| helper_of(root, flavor, &ServerKey::parse(key).unwrap());
        assert_eq!(
            of(Flavor::Docker, "https://quay.io"),
            Some(("keyring", "credHelpers"))
        );
        assert_eq!(of(Flavor::Docker, "ghcr.io"), None);
        assert_eq!(
            of(Flavor::Docker, "other.example.com"),
            Some(("desktop", "credsStore"))
        );
        assert_eq!(of(Flavor::Containers, "other.example.com"), None);
        // Docker Hub is `https://index.docker.io/v1/` for docker, `docker.io` for podman.
        assert_eq!(
            of(Flavor::Docker, "docker.io"),
            Some(("desktop", "credsStore"))
        );
        assert_eq!(
            of(Flavor::Containers, "docker.io"),
            Some(("pass", "credHelpers"))
        );
    }
}
