//! The Secret Service as a keyring store on Linux: what `get`, `store`,
//! `erase` and `doctor` ask of it, over one connection per process with a
//! *plain* session ([`client`]). [`super::backend`] runs each on its worker
//! thread, bounded in time, and maps nothing else here.
//!
//! Why plain and not Diffie-Hellman (keyring-core's store always opened a DH
//! session): that key exchange (two 1024-bit modular exponentiations here
//! plus one in the daemon) was half of a `get` (callgrind and the timestamps
//! of `strace -f`; see docs/benchmarks.md). It protects the secret only from
//! someone reading the session bus, and that is the same user (or root), who
//! can ask the Secret Service for the secret directly anyway (SECURITY.md).
//!
//! The index keeps each credential's item path (`store::db::Record::item`),
//! so `get` needs no search: after connecting (`Hello`, the `Collections`
//! read the first call must be), it is `OpenSession`, then the item's
//! `Attributes` and `GetSecret` sent together: two round trips. A kept path
//! that no longer holds the credential (deleted, replaced, reused for
//! another item) falls back to the search by attributes, whose result the
//! caller records.

pub(crate) mod client;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use dbus::Path;

use super::backend::{decode, service_name, BackendError};
use super::secrets::{Found, Known};
use super::StoreKind;
use crate::secret::Secret;
use client::{Error, Service};

const KIND: StoreKind = StoreKind::SecretService;

type BackendResult<T> = Result<T, BackendError>;

/// The connection, made on first use and kept for the process (a batch such
/// as `import` or `logout --all` talks over one).
static SERVICE: Mutex<Option<Service>> = Mutex::new(None);

/// Runs `op` with the connection, connecting first if needed.
fn with_service<T>(op: impl FnOnce(&Service) -> BackendResult<T>) -> BackendResult<T> {
    let mut service = SERVICE.lock().unwrap_or_else(PoisonError::into_inner);
    let service = match &mut *service {
        Some(service) => service,
        None => {
            set_session_bus_env()?;
            let connected = Service::connect().map_err(|err| match err {
                Error::Dbus(err) => connect_failure(&err),
                other => unavailable(other.to_string()),
            })?;
            service.insert(connected)
        }
    };
    op(service)
}

/// Makes sure libdbus finds the session bus (see [`super::choice::session_bus_address`]).
fn set_session_bus_env() -> BackendResult<()> {
    let Some(address) = super::choice::session_bus_address() else {
        return Err(BackendError::Absent {
            kind: KIND,
            reason: "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus".to_owned(),
        });
    };
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        // libdbus only reads the variable; without it, it would try X11 autolaunch.
        // SAFETY: set before any D-Bus use, on the only thread that uses D-Bus.
        unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address) };
    }
    Ok(())
}

/// The attributes every item of ours carries, and every search matches:
/// `service` and `username`, as keyring-core's store (its `Specifier`) set
/// them, so items written by earlier versions are found.
fn attributes<'a>(service: &'a str, key: &'a str) -> HashMap<&'a str, &'a str> {
    HashMap::from([("service", service), ("username", key)])
}

/// `key`'s secret, read from `item` when the index kept one that still holds
/// it ([`read_kept_item`]), else found by a search (the first unlocked match,
/// else a locked one unlocked first). [`Found::item`] says where it was.
pub(crate) fn get(key: &str, item: Option<&str>) -> BackendResult<Found> {
    with_service(|ss| {
        if let Some(path) = item {
            if let Some(secret) = read_kept_item(ss, key, path)? {
                return Ok(Found {
                    secret: Some(secret),
                    item: Some(path.to_owned()),
                });
            }
        }
        let service = service_name();
        let found = ss.search(attributes(&service, key)).map_err(mapped)?;
        let item = match (found.unlocked.first(), found.locked.first()) {
            (Some(item), _) => item,
            (None, Some(item)) => {
                ss.unlock(std::slice::from_ref(item)).map_err(mapped)?;
                item
            }
            (None, None) => return Ok(Found::default()),
        };
        let secret = ss.secret(item).map_err(mapped)?;
        Ok(Found {
            secret: Some(decode(KIND, secret)?),
            item: Some(item.to_string()),
        })
    })
}

/// The secret of the item at `path` if that item still is `key`'s (its
/// `service` and `username` attributes; gnome-keyring reuses the paths of
/// deleted items), else `None`, for the caller to search: the item was
/// deleted, replaced, is locked, or belongs to someone else. Its attributes
/// and secret are asked for together (one round trip); a secret that turns
/// out not to be ours is wiped unread.
fn read_kept_item(ss: &Service, key: &str, path: &str) -> BackendResult<Option<Secret>> {
    let Ok(path) = Path::new(path) else {
        crate::debug!("the index keeps no valid item path for {key}; searching");
        return Ok(None);
    };
    let (found, secret) = match ss.attributes_and_secret(&path) {
        Ok(read) => read,
        Err(err) => {
            crate::debug!("the item the index keeps for {key} cannot be read ({err}); searching");
            return Ok(None);
        }
    };
    let mut secret = zeroize::Zeroizing::new(secret);
    let service = service_name();
    let ours = found.get("service").map(String::as_str) == Some(service.as_str())
        && found.get("username").map(String::as_str) == Some(key);
    if !ours {
        crate::debug!("the item the index keeps for {key} now holds another secret; searching");
        return Ok(None);
    }
    crate::debug!("read {key} from the item the index keeps (no search)");
    decode(KIND, std::mem::take(&mut *secret)).map(Some)
}

/// Stores `secret` under `key`: in the item `known` names (`put` has just
/// read the old secret from it: one round trip, no search); else in an
/// existing item with `key`'s attributes (a search; duplicates beyond the
/// first deleted, as keyring-core's `Ambiguous` case was handled), or in a
/// new item in the default collection, unlocked first, with what
/// keyring-core's store gave new items (the label, [`attributes`],
/// [`client::CONTENT_TYPE`], replacing an identical one). Returns the item's
/// path (`CreateItem` answers with it), for the index.
pub(crate) fn set(key: &str, label: &str, secret: &Secret, known: Known) -> BackendResult<String> {
    with_service(|ss| {
        let bytes = secret.expose().as_bytes();
        let existing = match known {
            Known::At(path) => {
                let written = Path::new(path.as_str())
                    .map_err(|_| Error::Parse("a kept item path"))
                    .and_then(|item| ss.set_secret(&item, bytes));
                match written {
                    Ok(()) => return Ok(path),
                    Err(err) => {
                        crate::debug!(
                            "cannot write {key}'s secret where it was read ({err}); searching"
                        );
                        keep_one(ss, key)?
                    }
                }
            }
            Known::Absent => None,
            Known::Nothing => keep_one(ss, key)?,
        };
        if let Some(item) = existing {
            ss.set_secret(&item, bytes).map_err(mapped)?;
            return Ok(item.to_string());
        }
        let collection = ss.default_collection().map_err(mapped)?;
        if ss.is_locked(&collection).map_err(mapped)? {
            ss.unlock(std::slice::from_ref(&collection))
                .map_err(mapped)?;
        }
        let service = service_name();
        let item = ss
            .create_item(&collection, label, attributes(&service, key), bytes)
            .map_err(mapped)?;
        Ok(item.to_string())
    })
}

/// The item a write of `key` replaces: the first with its attributes
/// ([`items_of`]); the others, duplicates left by another tool, deleted.
fn keep_one(ss: &Service, key: &str) -> BackendResult<Option<Path<'static>>> {
    let mut items = items_of(ss, key)?.into_iter();
    let first = items.next();
    for extra in items {
        let _ = ss.delete(&extra);
    }
    Ok(first)
}

/// Removes every item with `key`'s attributes ([`items_of`]). Returns
/// whether there was one.
pub(crate) fn delete(key: &str) -> BackendResult<bool> {
    with_service(|ss| {
        let items = items_of(ss, key)?;
        for item in &items {
            ss.delete(item).map_err(mapped)?;
        }
        Ok(!items.is_empty())
    })
}

/// Every item with `key`'s attributes, unlocked ones first; locked ones are
/// unlocked first (a prompt), as keyring-core's store did before a write.
fn items_of(ss: &Service, key: &str) -> BackendResult<Vec<Path<'static>>> {
    let service = service_name();
    let mut found = ss.search(attributes(&service, key)).map_err(mapped)?;
    if !found.locked.is_empty() {
        ss.unlock(&found.locked).map_err(mapped)?;
    }
    found.unlocked.append(&mut found.locked);
    Ok(found.unlocked)
}

/// Whether the default collection (where items go) is locked, `None` when
/// there is no default collection (for `doctor`).
pub(crate) fn default_collection_locked() -> BackendResult<Option<bool>> {
    with_service(|ss| match ss.default_collection() {
        Ok(collection) => ss.is_locked(&collection).map(Some).map_err(mapped),
        Err(Error::NoDefaultCollection) => Ok(None),
        Err(err) => Err(mapped(err)),
    })
}

/// Maps the client's errors: a dismissed prompt or a locked object is
/// [`BackendError::Locked`], no default collection
/// [`BackendError::NoCollection`], a bus that says there is no Secret Service
/// [`BackendError::Absent`], anything else [`BackendError::Failed`].
fn mapped(err: Error) -> BackendError {
    match err {
        Error::Dismissed => BackendError::Locked { kind: KIND },
        Error::NoDefaultCollection => BackendError::NoCollection { kind: KIND },
        Error::Dbus(err) if err.name() == Some("org.freedesktop.Secret.Error.IsLocked") => {
            BackendError::Locked { kind: KIND }
        }
        Error::Dbus(err) => match connect_failure(&err) {
            absent @ BackendError::Absent { .. } => absent,
            _ => BackendError::Failed {
                kind: KIND,
                reason: Error::Dbus(err).to_string(),
            },
        },
        other @ Error::Parse(_) => BackendError::Failed {
            kind: KIND,
            reason: other.to_string(),
        },
    }
}

fn unavailable(reason: String) -> BackendError {
    BackendError::Unavailable { kind: KIND, reason }
}

/// D-Bus errors that mean no Secret Service exists on this session: no bus
/// behind the address, or nothing owns `org.freedesktop.secrets` and no
/// service file can start a provider (`Spawn.*`: activation failed).
const ABSENT_DBUS_ERRORS: &[&str] = &[
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoServer",
    "org.freedesktop.DBus.Error.FileNotFound",
    "org.freedesktop.DBus.Error.Spawn.",
];

/// Maps a failure to reach the Secret Service: [`BackendError::Absent`]
/// when the bus says there is none, else [`BackendError::Unavailable`].
fn connect_failure(err: &dbus::Error) -> BackendError {
    let name = err.name().unwrap_or_default();
    let text = || format!("D-Bus error: {}", err.message().unwrap_or(name));
    if !ABSENT_DBUS_ERRORS
        .iter()
        .any(|absent| name.starts_with(absent))
    {
        return unavailable(text());
    }
    let reason = if name.ends_with("ServiceUnknown")
        || name.ends_with("NameHasNoOwner")
        || name.contains(".Spawn.")
    {
        "no Secret Service provider (gnome-keyring, KWallet, KeePassXC) on the session bus"
            .to_owned()
    } else {
        format!("no D-Bus session bus: {}", text())
    };
    BackendError::Absent { kind: KIND, reason }
}
