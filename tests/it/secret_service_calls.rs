//! The Secret Service calls behind `get`, `store` and `erase`, counted on the
//! bus: `dbus-monitor` on a private D-Bus daemon with a gnome-keyring of its
//! own (so no other test's traffic mixes in), each run's messages told apart
//! by its connection's unique name.
//!
//! A `get` of a credential whose item path the index keeps is, after the
//! connection's first call (the `Collections` read that keeps gnome-keyring
//! from aborting, docs/stores.md), two round trips:
//! `OpenSession`, then the item's `Attributes` and `GetSecret` sent together.
//! A kept path that no longer holds the credential (deleted, recreated
//! elsewhere, another item's, not an item, not a path) falls back to the
//! search, answers the right secret and repairs the index once. Counted, not
//! timed: a change that adds a call or a round trip fails here.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::common::private_bus::PrivateBus;
use crate::common::{self, run_command, Backend, Env, Run};

const SECRETS: &str = "org.freedesktop.secrets";

/// One message as dbus-monitor prints it: the header line's fields and the
/// arguments on the lines below.
#[derive(Debug, Clone)]
struct Message {
    /// `method call`, `method return`, `error` or `signal`.
    kind: String,
    fields: BTreeMap<String, String>,
    args: Vec<String>,
}

impl Message {
    fn field(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn is_call(&self) -> bool {
        self.kind == "method call"
    }

    fn is_reply(&self) -> bool {
        self.kind == "method return" || self.kind == "error"
    }

    /// A call as `Interface.Member`, with the property for `Properties.Get`
    /// (`Properties.Get(Attributes)`), the interface shortened.
    fn call_name(&self) -> String {
        let interface = self.field("interface").rsplit('.').next().unwrap_or("");
        let member = self.field("member");
        if member == "Get" && interface == "Properties" {
            let property = self.args.get(1).map(|a| a.trim_matches('"'));
            return format!("Properties.Get({})", property.unwrap_or("?"));
        }
        format!("{interface}.{member}")
    }
}

/// Parses dbus-monitor's text output.
fn parse(text: &str) -> Vec<Message> {
    let mut messages: Vec<Message> = Vec::new();
    for line in text.lines() {
        if let Some(arg) = line.strip_prefix("   ") {
            if let Some(last) = messages.last_mut() {
                // "string \"x\"" -> "\"x\""
                let value = arg.trim().split_once(' ').map_or(arg.trim(), |(_, v)| v);
                last.args.push(value.to_owned());
            }
            continue;
        }
        let kind = ["method call", "method return", "error", "signal"]
            .into_iter()
            .find(|k| line.starts_with(&format!("{k} ")));
        let Some(kind) = kind else { continue };
        let fields = line[kind.len()..]
            .split([' ', ';'])
            .filter_map(|part| part.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        messages.push(Message {
            kind: kind.to_owned(),
            fields,
            args: Vec::new(),
        });
    }
    messages
}

/// What one run of the binary said on the bus.
#[derive(Debug)]
struct Traffic {
    /// The unique names of the connections it opened.
    connections: Vec<String>,
    /// Its calls to the Secret Service and their replies, in bus order.
    messages: Vec<Message>,
}

impl Traffic {
    /// The calls to the Secret Service, in order.
    fn calls(&self) -> Vec<String> {
        self.messages
            .iter()
            .filter(|m| m.is_call())
            .map(Message::call_name)
            .collect()
    }

    /// The calls grouped by round trip: a call sent after a reply arrived
    /// (since the last call) begins a new round trip.
    fn round_trips(&self) -> Vec<Vec<String>> {
        let mut rounds: Vec<Vec<String>> = Vec::new();
        let mut replied = true;
        for message in &self.messages {
            if message.is_reply() {
                replied = true;
            } else if message.is_call() {
                if replied {
                    rounds.push(Vec::new());
                    replied = false;
                }
                rounds.last_mut().unwrap().push(message.call_name());
            }
        }
        rounds
    }

    /// Whether the reply to every call arrived before the call named `call` was sent.
    fn all_replied_before(&self, call: &str) -> bool {
        let at = self
            .messages
            .iter()
            .position(|m| m.is_call() && m.call_name() == call)
            .unwrap_or_else(|| panic!("no {call}: {self:#?}"));
        let calls = self.messages[..at].iter().filter(|m| m.is_call()).count();
        let replies = self.messages[..at].iter().filter(|m| m.is_reply()).count();
        calls == replies
    }
}

/// A private bus ([`PrivateBus`]) with gnome-keyring (unlocked, its login
/// collection the default) and dbus-monitor on it, seeing everything.
struct Bus(PrivateBus);

impl std::ops::Deref for Bus {
    type Target = PrivateBus;
    fn deref(&self) -> &PrivateBus {
        &self.0
    }
}

impl Bus {
    fn start() -> Bus {
        common::tool("secret-tool", "libsecret-tools");
        let mut bus = PrivateBus::start();
        bus.start_keyring();
        bus.start_monitor(&[]);
        Bus(bus)
    }

    fn log(&self) -> PathBuf {
        self.monitor_log()
    }

    /// `secret-tool ARGS` on this bus with `stdin`.
    fn secret_tool(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut cmd = Command::new("secret-tool");
        cmd.args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", self.address());
        run_command(cmd, stdin)
    }

    /// Runs the binary on this bus (with debug output, to count index
    /// writes) and returns what it did there, once every connection it
    /// opened has closed.
    fn run(&self, env: &Env, args: &[&str], stdin: &[u8]) -> (Run, Traffic) {
        let offset = fs::read_to_string(self.log()).unwrap().len();
        let mut cmd = env.command(args);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", self.address())
            .env("DOCKER_CREDENTIAL_KEYRING_LOG", "debug");
        let run = run_command(cmd, stdin);
        let mut traffic = None;
        wait_for(
            || {
                let text = fs::read_to_string(self.log()).unwrap();
                traffic = closed_traffic(&parse(&text[offset..]));
                traffic.is_some()
            },
            "the run's connections to close on the bus",
        );
        (run, traffic.unwrap())
    }

    /// Runs `get` of `server` and checks it answered `secret`.
    fn get(&self, env: &Env, server: &str, secret: &str) -> (Run, Traffic) {
        let (run, traffic) = self.run(env, &["get"], server.as_bytes());
        run.ok();
        let answer: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(answer["Secret"], secret, "{run:?}");
        (run, traffic)
    }

    /// An item's property as dbus-send prints it (empty when there is no
    /// such item).
    fn item_property(&self, path: &str, property: &str) -> String {
        self.send(&[
            &format!("--dest={SECRETS}"),
            path,
            "org.freedesktop.DBus.Properties.Get",
            "string:org.freedesktop.Secret.Item",
            &format!("string:{property}"),
        ])
    }

    /// An item's attributes as any client reads them (empty when there is
    /// no such item).
    fn item_attributes(&self, path: &str) -> BTreeMap<String, String> {
        let text = self.item_property(path, "Attributes");
        text.split("dict entry(")
            .skip(1)
            .map(|entry| {
                let quoted: Vec<&str> = entry.split('"').collect();
                (quoted[1].to_owned(), quoted[3].to_owned())
            })
            .collect()
    }
}

/// The traffic of the connections that said Hello in `messages`, once each
/// has closed (the bus's `NameOwnerChanged` to no owner); `None` before.
fn closed_traffic(messages: &[Message]) -> Option<Traffic> {
    let connections: Vec<String> = messages
        .iter()
        .filter(|m| m.is_call() && m.field("member") == "Hello")
        .map(|m| m.field("sender").to_owned())
        .collect();
    let closed = |name: &String| {
        messages.iter().any(|m| {
            m.field("member") == "NameOwnerChanged"
                && m.args.first().map(|a| a.trim_matches('"')) == Some(name.as_str())
                && m.args.get(2).map(String::as_str) == Some("\"\"")
        })
    };
    if connections.is_empty() || !connections.iter().all(closed) {
        return None;
    }
    let ours = |name: &str| connections.iter().any(|c| c == name);
    let messages = messages
        .iter()
        .filter(|m| {
            (m.is_call() && ours(m.field("sender")) && m.field("destination") == SECRETS)
                || (m.is_reply()
                    && ours(m.field("destination"))
                    && !m.field("sender").starts_with("org."))
        })
        .cloned()
        .collect();
    Some(Traffic {
        connections,
        messages,
    })
}

fn wait_for(ready: impl FnMut() -> bool, what: &str) {
    common::time::wait_until(Duration::from_secs(10), what, ready);
}

fn store_json(server: &str, user: &str, secret: &str) -> Vec<u8> {
    serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret})
        .to_string()
        .into_bytes()
}

/// How many times the run replaced the index (fsutil logs each write).
fn index_writes(run: &Run) -> usize {
    run.stderr
        .lines()
        .filter(|l| l.contains("debug: wrote ") && l.ends_with("store.json"))
        .count()
}

/// The index record of `key`.
fn record(env: &Env, key: &str) -> serde_json::Value {
    let text = fs::read_to_string(env.store_file()).unwrap();
    let index: serde_json::Value = serde_json::from_str(&text).unwrap();
    index["credentials"][key].clone()
}

/// Rewrites the item path the index keeps for `key` (`None`: no path, as
/// an index written before paths were kept).
fn set_kept_item(env: &Env, key: &str, item: Option<&str>) {
    let text = fs::read_to_string(env.store_file()).unwrap();
    let mut index: serde_json::Value = serde_json::from_str(&text).unwrap();
    let record = index["credentials"][key].as_object_mut().unwrap();
    match item {
        Some(item) => record.insert("item".into(), item.into()),
        None => record.remove("item"),
    };
    fs::write(env.store_file(), index.to_string()).unwrap();
}

const CONNECT: &str = "Properties.Get(Collections)";
const DIRECT_READ: [&str; 2] = ["Properties.Get(Attributes)", "Item.GetSecret"];

/// The calls of a `get` that reads the kept item directly.
fn direct_get() -> Vec<String> {
    [CONNECT, "Service.OpenSession"]
        .into_iter()
        .chain(DIRECT_READ)
        .map(str::to_owned)
        .collect()
}

/// `store`, `get` and `erase` of a credential, call by call: a `get` is the
/// connection's property read, `OpenSession`, then `Attributes` and
/// `GetSecret` together; `store` writes the item it just read from
/// (`SetSecret`, no search), or creates one where keyring-core's store did,
/// with the same label and attributes; each run opens one connection.
#[test]
#[ignore = "needs dbus-daemon and gnome-keyring (tests/install-deps)"]
fn get_of_a_kept_item_is_two_round_trips_after_connecting() {
    let bus = Bus::start();
    let env = Env::new(Backend::SecretService);

    let (run, stored) = bus.run(&env, &["store"], &store_json("quay.io", "alice", "s1"));
    run.ok();
    assert_eq!(
        stored.calls(),
        [
            CONNECT,
            "Service.OpenSession",
            "Service.SearchItems",
            "Service.ReadAlias",
            "Properties.Get(Locked)",
            "Collection.CreateItem",
        ],
        "{stored:#?}"
    );
    assert_eq!(stored.connections.len(), 1, "{stored:#?}");
    assert_eq!(index_writes(&run), 1, "{run:?}");
    let item = record(&env, "quay.io")["item"].as_str().unwrap().to_owned();
    assert!(
        item.starts_with("/org/freedesktop/secrets/collection/login/"),
        "{item}"
    );
    // What keyring-core's dbus-secret-service-keyring-store gives an item
    // (its `Specifier`: the label asked for, `service` and `username`, no
    // other attribute), so older versions and this one share items.
    let label = bus.item_property(&item, "Label");
    assert!(
        label.contains("\"docker-credential-keyring: quay.io\""),
        "{label}"
    );
    let mut attributes = bus.item_attributes(&item);
    // gnome-keyring itself adds its generic schema to items written without
    // one once it reloads the keyring file (to keyring-core's items too).
    if attributes.get("xdg:schema").map(String::as_str) == Some("org.freedesktop.Secret.Generic") {
        attributes.remove("xdg:schema");
    }
    let expected = [("service", env.service()), ("username", "quay.io")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
    assert_eq!(attributes, BTreeMap::from(expected));

    let mut pipelined = 0;
    for _ in 0..3 {
        let (run, got) = bus.get(&env, "quay.io", "s1");
        assert_eq!(got.calls(), direct_get(), "{got:#?}");
        assert_eq!(got.connections.len(), 1, "{got:#?}");
        assert_eq!(index_writes(&run), 0, "a get wrote the index: {run:?}");
        // OpenSession's reply is in before the item is asked for...
        assert!(got.all_replied_before(DIRECT_READ[0]), "{got:#?}");
        // ...and the two item calls are sent without waiting for each
        // other. On the bus, a reply can still come between them when the
        // helper is descheduled between its two writes: one `get` of three
        // showing them together proves it; a helper waiting for the reply
        // never shows it.
        if got.round_trips()
            == [
                vec![CONNECT],
                vec!["Service.OpenSession"],
                DIRECT_READ.to_vec(),
            ]
        {
            pipelined += 1;
        }
    }
    assert!(
        pipelined >= 1,
        "Attributes and GetSecret were never sent together"
    );

    let (run, overwritten) = bus.run(&env, &["store"], &store_json("quay.io", "alice", "s2"));
    run.ok();
    let mut expected = direct_get();
    expected.push("Item.SetSecret".to_owned());
    assert_eq!(overwritten.calls(), expected, "{overwritten:#?}");
    assert_eq!(overwritten.connections.len(), 1, "{overwritten:#?}");
    assert_eq!(record(&env, "quay.io")["item"], item.as_str());
    bus.get(&env, "quay.io", "s2");

    let (run, erased) = bus.run(&env, &["erase"], b"quay.io");
    run.ok();
    let mut expected = direct_get();
    expected.extend(["Service.SearchItems".to_owned(), "Item.Delete".to_owned()]);
    assert_eq!(erased.calls(), expected, "{erased:#?}");
    assert_eq!(erased.connections.len(), 1, "{erased:#?}");
    let left = bus.secret_tool(&["search", "--all", "service", env.service()], b"");
    assert!(!left.stdout.contains("quay.io"), "{left:?}");
}

/// Every way a kept item path can stop holding the credential: the `get`
/// reads it (both calls), sees it is not ours or not there, searches,
/// answers the right secret, and records the item it found, once; the next
/// `get` reads that item directly and writes nothing.
#[test]
#[ignore = "needs dbus-daemon and gnome-keyring (tests/install-deps)"]
fn a_stale_item_path_falls_back_to_the_search_and_is_repaired_once() {
    let bus = Bus::start();
    let env = Env::new(Backend::SecretService);
    bus.run(&env, &["store"], &store_json("quay.io", "alice", "s1"))
        .0
        .ok();
    let service = env.service().to_owned();
    // Another client's item (other attributes), for a path that is not ours.
    let foreign = bus.secret_tool(
        &[
            "store",
            "--label=foreign",
            "service",
            "someone-else",
            "username",
            "quay.io",
        ],
        b"not-ours",
    );
    assert_eq!(foreign.code, 0, "{foreign:?}");
    let foreign_item = (1..10)
        .map(|n| format!("/org/freedesktop/secrets/collection/login/{n}"))
        .find(|path| {
            bus.item_attributes(path).get("service").map(String::as_str) == Some("someone-else")
        })
        .expect("the foreign item's path");

    let search_get: Vec<String> = direct_get()
        .into_iter()
        .chain([
            "Service.SearchItems".to_owned(),
            "Item.GetSecret".to_owned(),
        ])
        .collect();
    let recreated_elsewhere = || {
        // Deleted behind our back and made again by another client, in
        // another collection (gnome-keyring's in-memory `session` one).
        let cleared = bus.secret_tool(&["clear", "service", &service, "username", "quay.io"], b"");
        assert_eq!(cleared.code, 0, "{cleared:?}");
        let stored = bus.secret_tool(
            &[
                "store",
                "--label=recreated",
                "--collection=session",
                "service",
                &service,
                "username",
                "quay.io",
            ],
            b"s1",
        );
        assert_eq!(stored.code, 0, "{stored:?}");
        None
    };
    // Each breaks the kept path and returns it (`None`: the path is unchanged).
    type Breaker<'a> = Box<dyn Fn() -> Option<String> + 'a>;
    let cases: [(&str, Breaker); 4] = [
        (
            "deleted, recreated in another collection",
            Box::new(recreated_elsewhere),
        ),
        (
            "another client's item",
            Box::new(|| Some(foreign_item.clone())),
        ),
        (
            "a collection, not an item",
            Box::new(|| Some("/org/freedesktop/secrets/collection/login".to_owned())),
        ),
        (
            "not an object path",
            Box::new(|| Some("not a path".to_owned())),
        ),
    ];
    for (what, break_it) in cases {
        let good = record(&env, "quay.io")["item"].as_str().unwrap().to_owned();
        let stale = break_it().unwrap_or_else(|| good.clone());
        set_kept_item(&env, "quay.io", Some(&stale));
        let (run, got) = bus.get(&env, "quay.io", "s1");
        let expected = if stale == "not a path" {
            // No valid path to ask: straight to the search.
            [
                CONNECT,
                "Service.OpenSession",
                "Service.SearchItems",
                "Item.GetSecret",
            ]
            .map(str::to_owned)
            .to_vec()
        } else {
            search_get.clone()
        };
        assert_eq!(got.calls(), expected, "{what}: {got:#?}");
        assert_eq!(index_writes(&run), 1, "{what}: {run:?}");
        let repaired = record(&env, "quay.io")["item"].as_str().unwrap().to_owned();
        assert_ne!(repaired, stale, "{what}");
        assert_eq!(bus.item_attributes(&repaired)["service"], service, "{what}");
        let (run, got) = bus.get(&env, "quay.io", "s1");
        assert_eq!(got.calls(), direct_get(), "{what}: {got:#?}");
        assert_eq!(index_writes(&run), 0, "{what}: {run:?}");
    }
    // The other client's item is untouched.
    let theirs = bus.secret_tool(&["lookup", "service", "someone-else"], b"");
    assert_eq!(theirs.stdout, "not-ours", "{theirs:?}");

    // Deleted with nothing in its place: the exact upstream not-found
    // answer after the same fallback (asked again through the pair lookup
    // of a miss, `pairs::answer`), nothing written.
    let cleared = bus.secret_tool(&["clear", "service", &service], b"");
    assert_eq!(cleared.code, 0, "{cleared:?}");
    let (run, got) = bus.run(&env, &["get"], b"quay.io");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "credentials not found in native keychain\n");
    let calls = got.calls();
    assert_eq!(calls[..5], search_get[..5], "{got:#?}");
    assert!(calls.iter().all(|c| search_get.contains(c)), "{got:#?}");
    assert_eq!(index_writes(&run), 0, "{run:?}");
}

/// An index written before item paths were kept (or by a version that drops
/// them): `get` searches, answers, and records the path once; a `store`
/// over such a record writes where the search found the item; a `store` of
/// a key with no record adopts an item already there instead of adding a
/// second one.
#[test]
#[ignore = "needs dbus-daemon and gnome-keyring (tests/install-deps)"]
fn an_index_without_item_paths_is_searched_then_upgraded() {
    let bus = Bus::start();
    let env = Env::new(Backend::SecretService);
    bus.run(&env, &["store"], &store_json("quay.io", "alice", "s1"))
        .0
        .ok();
    let item = record(&env, "quay.io")["item"].as_str().unwrap().to_owned();
    set_kept_item(&env, "quay.io", None);
    let (run, got) = bus.get(&env, "quay.io", "s1");
    assert_eq!(
        got.calls(),
        [
            CONNECT,
            "Service.OpenSession",
            "Service.SearchItems",
            "Item.GetSecret"
        ],
        "{got:#?}"
    );
    assert_eq!(index_writes(&run), 1, "{run:?}");
    assert_eq!(record(&env, "quay.io")["item"], item.as_str());

    set_kept_item(&env, "quay.io", None);
    let (run, stored) = bus.run(&env, &["store"], &store_json("quay.io", "alice", "s2"));
    run.ok();
    assert_eq!(
        stored.calls(),
        [
            CONNECT,
            "Service.OpenSession",
            "Service.SearchItems",
            "Item.GetSecret",
            "Item.SetSecret",
        ],
        "{stored:#?}"
    );
    assert_eq!(record(&env, "quay.io")["item"], item.as_str());

    // No record, but an item with our attributes (left by a helper killed
    // before its index write, or an index moved away): adopted, not doubled.
    fs::remove_file(env.store_file()).unwrap();
    let (run, stored) = bus.run(&env, &["store"], &store_json("quay.io", "alice", "s3"));
    run.ok();
    assert_eq!(
        stored.calls(),
        [
            CONNECT,
            "Service.OpenSession",
            "Service.SearchItems",
            "Item.SetSecret"
        ],
        "{stored:#?}"
    );
    assert_eq!(record(&env, "quay.io")["item"], item.as_str());
    let found = bus.secret_tool(&["search", "--all", "service", env.service()], b"");
    assert_eq!(found.stdout.matches("[/").count(), 1, "{found:?}");
    bus.get(&env, "quay.io", "s3");
}
