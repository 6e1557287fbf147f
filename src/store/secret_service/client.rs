//! The Secret Service over D-Bus (libdbus, through the `dbus` crate): the
//! calls `get`, `store`, `erase` and `doctor` make, on one connection per
//! process with a *plain* session (why plain: the header of
//! [`super`], the store side).
//!
//! Ours rather than a Secret Service crate's for two things no crate offers:
//!
//! - **The first call of a connection reads a property** (`Collections`),
//!   never `OpenSession`. gnome-keyring-daemon (Debian 12's 42, still 50)
//!   aborts when a client's `OpenSession` (or any call that needs its
//!   per-client record, an item's `Attributes` read included) is dispatched
//!   before the daemon has made that record: GLib's main loop can run the
//!   method call ahead of the `G_PRIORITY_HIGH` idle that makes it, whenever
//!   the loop is awake as the call arrives (other clients, or the client's
//!   own `Hello`). A property read needs no record, and by its reply the
//!   record is made or next in line. Measured: 16 parallel `get` loops of
//!   100 aborted the daemon in 2 of 12 runs with `OpenSession` first, 0 of
//!   38 with the read first (docs/stores.md has the full account).
//! - **Calls sent together** ([`Service::pipelined`]): a `get` with a kept
//!   item path asks for the item's `Attributes` and its secret in one round
//!   trip, so after connecting it is two (`OpenSession`, then both).
//!
//! Items are written exactly as keyring-core's Secret Service store
//! (`dbus-secret-service-keyring-store`) wrote them (label, `service` and
//! `username` attributes, [`CONTENT_TYPE`]), so credentials stored by
//! earlier versions and by this one are the same items.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
use dbus::blocking::{Connection, Proxy};
use dbus::message::{MatchRule, MessageType};
use dbus::{Message, Path};

const DEST: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE: &str = "org.freedesktop.Secret.Service";
const COLLECTION: &str = "org.freedesktop.Secret.Collection";
const ITEM: &str = "org.freedesktop.Secret.Item";
const PROMPT: &str = "org.freedesktop.Secret.Prompt";

/// How long one call waits for its reply: a second past the bound the caller's
/// worker keeps (`DOCKER_CREDENTIAL_KEYRING_TIMEOUT`), so that bound, with its
/// error naming the variable, is what a hung provider meets, and a slow one
/// gets all the time the user gave it (a fixed 2 s ended every call before a
/// longer setting could help, with an error saying the store was absent).
fn call_timeout() -> Duration {
    crate::store::backend::timeout() + Duration::from_secs(1)
}

/// The content type keyring-core's Secret Service store gives every secret
/// it writes; ours are written the same way.
pub(crate) const CONTENT_TYPE: &str = "application/octet-stream";

/// Why a call failed. Never carries secret bytes.
#[derive(Debug)]
pub(crate) enum Error {
    /// The bus or the provider answered with an error (or did not answer).
    Dbus(dbus::Error),
    /// An unlock or delete needed a prompt, and it was dismissed (or
    /// could not be shown: a headless session).
    Dismissed,
    /// No collection has the `default` alias: nowhere to create items.
    NoDefaultCollection,
    /// A reply of an unexpected shape.
    Parse(&'static str),
}

impl From<dbus::Error> for Error {
    fn from(err: dbus::Error) -> Error {
        Error::Dbus(err)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Dbus(err) => write!(f, "D-Bus error: {}", err.message().unwrap_or("(none)")),
            Error::Dismissed => f.write_str("the unlock prompt was dismissed"),
            Error::NoDefaultCollection => f.write_str("no default collection"),
            Error::Parse(what) => write!(f, "unexpected reply to {what}"),
        }
    }
}

type Result<T> = std::result::Result<T, Error>;

/// The items a search matched, unlocked and locked.
pub(crate) struct Search {
    pub(crate) unlocked: Vec<Path<'static>>,
    pub(crate) locked: Vec<Path<'static>>,
}

/// A connection to the Secret Service with an open plain session.
pub(crate) struct Service {
    conn: Connection,
    session: Path<'static>,
    /// [`call_timeout`], read once.
    timeout: Duration,
}

impl Service {
    /// Connects to the session bus (libdbus's `Hello`), reads the
    /// `Collections` property (the first call must need no client record:
    /// see the module header), then opens a plain session.
    pub(crate) fn connect() -> Result<Service> {
        let conn = Connection::new_session()?;
        let timeout = call_timeout();
        let service = conn.with_proxy(DEST, SERVICE_PATH, timeout);
        let _: Vec<Path<'static>> = service.get(SERVICE, "Collections")?;
        let input = Variant(Box::new(String::new()) as Box<dyn RefArg>);
        let (_, session): (Variant<Box<dyn RefArg>>, Path<'static>) =
            service.method_call(SERVICE, "OpenSession", ("plain", input))?;
        Ok(Service {
            conn,
            session,
            timeout,
        })
    }

    fn proxy<'a>(&'a self, path: &'a str) -> Proxy<'a, &'a Connection> {
        self.conn.with_proxy(DEST, path, self.timeout)
    }

    /// Sends every call in `calls` before reading any reply, then waits for
    /// all the replies (at most [`call_timeout`]): N independent calls in
    /// one round trip. Replies in call order; an error reply is the error
    /// (the first in call order). Signals arriving meanwhile are dropped:
    /// only a prompt listens for any, and none runs during these calls.
    fn pipelined<const N: usize>(&self, calls: [Message; N]) -> Result<[Message; N]> {
        let channel = self.conn.channel();
        let mut serials = [0u32; N];
        for (serial, call) in serials.iter_mut().zip(calls) {
            *serial = channel
                .send(call)
                .map_err(|()| dbus::Error::new_failed("cannot send a message to the bus"))?;
        }
        channel.flush();
        let deadline = Instant::now() + self.timeout;
        let mut replies: [Option<Message>; N] = std::array::from_fn(|_| None);
        while replies.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let name = "org.freedesktop.DBus.Error.NoReply";
                return Err(dbus::Error::new_custom(name, "no reply in time").into());
            }
            let Some(message) = channel.blocking_pop_message(left)? else {
                continue;
            };
            if !matches!(
                message.msg_type(),
                MessageType::MethodReturn | MessageType::Error
            ) {
                continue;
            }
            let call = message
                .get_reply_serial()
                .and_then(|reply_to| serials.iter().position(|s| *s == reply_to));
            if let Some(i) = call {
                replies[i] = Some(message);
            }
        }
        let mut replies = replies.map(|reply| reply.expect("every reply is in"));
        for reply in &mut replies {
            reply.as_result()?;
        }
        Ok(replies)
    }

    /// The attributes and the secret of the item at `item`, asked for in
    /// one round trip ([`Service::pipelined`]). For a caller that kept the
    /// path and must check that it still holds the item it means before
    /// using the secret (providers reuse the paths of deleted items): if the
    /// attributes are not the expected ones, the secret is the caller's to
    /// wipe.
    pub(crate) fn attributes_and_secret(
        &self,
        item: &Path<'_>,
    ) -> Result<(HashMap<String, String>, Vec<u8>)> {
        let new_call = |interface: &str, member: &str| {
            Message::new_method_call(DEST, item, interface, member)
                .map_err(|_| Error::Parse("a method call"))
        };
        let attributes =
            new_call("org.freedesktop.DBus.Properties", "Get")?.append2(ITEM, "Attributes");
        let secret = new_call(ITEM, "GetSecret")?.append1(self.session.clone());
        let [attributes, secret] = self.pipelined([attributes, secret])?;
        let attributes: Variant<HashMap<String, String>> =
            attributes.read1().map_err(|_| Error::Parse("Attributes"))?;
        let (_, _, value, _): (Path<'_>, Vec<u8>, Vec<u8>, String) =
            secret.read1().map_err(|_| Error::Parse("GetSecret"))?;
        Ok((attributes.0, value))
    }

    /// The items whose attributes include `attributes`, in every collection.
    pub(crate) fn search(&self, attributes: HashMap<&str, &str>) -> Result<Search> {
        let (unlocked, locked) =
            self.proxy(SERVICE_PATH)
                .method_call(SERVICE, "SearchItems", (attributes,))?;
        Ok(Search { unlocked, locked })
    }

    /// Unlocks `items` (or collections), through a prompt if the provider asks.
    pub(crate) fn unlock(&self, items: &[Path<'static>]) -> Result<()> {
        let (_, prompt): (Vec<Path<'static>>, Path<'static>) = self
            .proxy(SERVICE_PATH)
            .method_call(SERVICE, "Unlock", (items,))?;
        self.prompt(prompt).map(drop)
    }

    /// The secret of the item at `item`.
    pub(crate) fn secret(&self, item: &Path<'_>) -> Result<Vec<u8>> {
        let ((_, _, value, _),): ((Path<'static>, Vec<u8>, Vec<u8>, String),) = self
            .proxy(item)
            .method_call(ITEM, "GetSecret", (self.session.clone(),))?;
        Ok(value)
    }

    /// Replaces the secret of the item at `item`.
    pub(crate) fn set_secret(&self, item: &Path<'_>, secret: &[u8]) -> Result<()> {
        let value = (self.session.clone(), &[] as &[u8], secret, CONTENT_TYPE);
        self.proxy(item)
            .method_call(ITEM, "SetSecret", (value,))
            .map_err(Error::from)
    }

    /// Deletes the item at `item`, through a prompt if the provider asks.
    pub(crate) fn delete(&self, item: &Path<'_>) -> Result<()> {
        let (prompt,): (Path<'static>,) = self.proxy(item).method_call(ITEM, "Delete", ())?;
        self.prompt(prompt).map(drop)
    }

    /// The collection with the `default` alias (where new items go).
    pub(crate) fn default_collection(&self) -> Result<Path<'static>> {
        let (path,): (Path<'static>,) =
            self.proxy(SERVICE_PATH)
                .method_call(SERVICE, "ReadAlias", ("default",))?;
        if &*path == "/" {
            return Err(Error::NoDefaultCollection);
        }
        Ok(path)
    }

    /// Whether the collection at `collection` is locked.
    pub(crate) fn is_locked(&self, collection: &Path<'_>) -> Result<bool> {
        Ok(self.proxy(collection).get(COLLECTION, "Locked")?)
    }

    /// A new item in `collection` (replacing one with the same attributes),
    /// through a prompt if the provider asks; its path.
    pub(crate) fn create_item(
        &self,
        collection: &Path<'_>,
        label: &str,
        attributes: HashMap<&str, &str>,
        secret: &[u8],
    ) -> Result<Path<'static>> {
        let attributes: HashMap<String, String> = attributes
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let mut properties = PropMap::new();
        properties.insert(format!("{ITEM}.Label"), Variant(Box::new(label.to_owned())));
        properties.insert(format!("{ITEM}.Attributes"), Variant(Box::new(attributes)));
        let value = (self.session.clone(), &[] as &[u8], secret, CONTENT_TYPE);
        let (item, prompt): (Path<'static>, Path<'static>) = self.proxy(collection).method_call(
            COLLECTION,
            "CreateItem",
            (properties, value, true),
        )?;
        if &*item != "/" {
            return Ok(item);
        }
        let created = self.prompt(prompt)?;
        created
            .as_ref()
            .and_then(|result| result.as_static_inner(0))
            .and_then(|inner| dbus::arg::cast::<Path<'static>>(inner).cloned())
            .ok_or(Error::Parse("the CreateItem prompt"))
    }

    /// Runs the prompt at `prompt` (none when it is `/`) and waits for its
    /// `Completed` signal; its result, `Err(Dismissed)` when dismissed. No
    /// bound of its own: the caller's worker timeout bounds it.
    fn prompt(&self, prompt: Path<'static>) -> Result<Option<Variant<Box<dyn RefArg>>>> {
        if &*prompt == "/" {
            return Ok(None);
        }
        let (tx, rx) = mpsc::channel();
        let rule = MatchRule::new_signal(PROMPT, "Completed").with_path(prompt.clone());
        let token = self.conn.add_match(
            rule,
            move |(dismissed, result): (bool, Variant<Box<dyn RefArg>>),
                  _: &Connection,
                  _: &Message| {
                let _ = tx.send((dismissed, result));
                false
            },
        )?;
        let shown = self
            .proxy(&prompt)
            .method_call::<(), _, _, _>(PROMPT, "Prompt", ("",));
        let completed = shown.map_err(Error::from).and_then(|()| loop {
            if let Ok(completed) = rx.try_recv() {
                break Ok(completed);
            }
            self.conn.process(Duration::from_secs(1))?;
        });
        let _ = self.conn.remove_match(token);
        match completed? {
            (true, _) => Err(Error::Dismissed),
            (false, result) => Ok(Some(result)),
        }
    }
}
