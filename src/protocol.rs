//! The docker-credential-helpers protocol: one action word as the only
//! argument, input on stdin, output on stdout, errors as one line on **stdout**
//! with exit code 1 (clients read stdout and compare the text).

use std::io::{self, Read, Write};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::reader;
use crate::registry::{KeyError, ServerKey};
use crate::secret::Secret;
use crate::store::{Credential, Credentials};

/// Exact text docker and skopeo compare with to decide "not logged in".
pub const ERR_NOT_FOUND: &str = "credentials not found in native keychain";
/// Exact upstream text for an empty ServerURL.
pub const ERR_MISSING_SERVER_URL: &str = "no credentials server URL";
/// Exact upstream text for an empty Username.
pub const ERR_MISSING_USERNAME: &str = "no credentials username";

/// Largest stdin we accept. Upstream reads one line of at most 64 KiB; we allow
/// more (large identity tokens) but bound it so a runaway pipe cannot eat memory.
pub const MAX_INPUT: usize = 1024 * 1024;

/// The protocol's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Store,
    Get,
    Erase,
    List,
    Version,
}

impl Action {
    /// The action named by `word`, as upstream accepts it.
    pub fn from_word(word: &str) -> Option<Action> {
        Some(match word {
            "store" => Action::Store,
            "get" => Action::Get,
            "erase" => Action::Erase,
            "list" => Action::List,
            "version" | "--version" | "-v" => Action::Version,
            _ => return None,
        })
    }
}

/// The protocol's "credentials not found" answer, typed so callers can branch on it.
#[derive(Debug)]
pub struct NotFound;

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(ERR_NOT_FOUND)
    }
}

impl std::error::Error for NotFound {}

/// The usage text upstream prints (on stdout) for a missing or unknown action.
pub fn usage() -> String {
    format!(
        "Usage: {bin} <store|get|erase|list|version>\n\
         Credential helper for docker, podman and skopeo; reads the request on stdin.\n\
         Run '{bin} --help' for the human commands (login, ls, export, configure, doctor, ...).",
        bin = crate::BINARY_NAME
    )
}

/// Prints the usage on stdout and returns exit code 1, as upstream does.
pub fn usage_error() -> i32 {
    // A closed stdout changes nothing: the exit code already says it.
    let _ = writeln!(io::stdout(), "{}", usage());
    1
}

/// Runs one protocol action against stdin/stdout and returns the exit code.
pub fn run(action: Action) -> i32 {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = match action {
        Action::Version => {
            let _ = writeln!(out, "{}", version_line());
            Ok(())
        }
        Action::List => Credentials::open().and_then(|store| list(&store, &mut out)),
        _ => read_stdin(&mut io::stdin().lock()).and_then(|input| {
            // The raw request holds the secret: wipe it when done.
            let input = zeroize::Zeroizing::new(input);
            let store = Credentials::open()?;
            match action {
                Action::Store => store_action(&store, &input),
                Action::Get => get(&store, &input, &mut out),
                Action::Erase => erase(&store, &input),
                Action::List | Action::Version => unreachable!(),
            }
        }),
    };
    match result {
        Ok(()) => match out.flush() {
            Ok(()) => 0,
            Err(_) => 1,
        },
        Err(err) => {
            crate::debug!("{action:?} failed: {err:#}");
            let _ = writeln!(out, "{}", error_line(&err));
            let _ = out.flush();
            1
        }
    }
}

/// `docker-credential-keyring <version> (store: <store>)` on one line: the
/// store new secrets would go to (see [`store_in_use`]).
pub fn version_line() -> String {
    format!(
        "{} {} (store: {})",
        crate::BINARY_NAME,
        env!("CARGO_PKG_VERSION"),
        store_in_use()
    )
}

/// The store a `store` would write to now: a fixed choice as configured;
/// under `auto`, the keyring `auto` tries when it answers, the file store and
/// why when no keyring exists, or the keyring and why it cannot be used now
/// (locked, hung: `auto` then refuses, see `choice::auto_fallback`). Only
/// `auto` with a keyring to try asks it (one bounded call), so `version` on
/// the file store stays as fast as `get`.
fn store_in_use() -> String {
    use crate::store::backend::BackendError;
    use crate::store::{choice, StoreChoice, StoreKind};
    let text = match StoreChoice::configured() {
        Err(err) => format!("invalid: {err:#}"),
        Ok(StoreChoice::Fixed(kind)) => kind.name().to_owned(),
        Ok(StoreChoice::Auto) => match choice::auto_candidate() {
            None if StoreKind::native() == Some(StoreKind::SecretService) => {
                "file, chosen by auto: no D-Bus session bus, so no Secret Service".to_owned()
            }
            None => "file, chosen by auto: no keyring on this platform".to_owned(),
            Some(kind) => match crate::store::backend::probe(kind) {
                Ok(()) => format!("{kind}, chosen by auto"),
                Err(err) => {
                    let why = match &err {
                        BackendError::Absent { reason, .. } => reason.clone(),
                        other => other.to_string(),
                    };
                    match choice::auto_fallback(err) {
                        Ok(fallback) => format!("{fallback}, chosen by auto: {why}"),
                        // auto refuses rather than downgrade: say so.
                        Err(_) => format!("{kind}, chosen by auto, not usable now: {why}"),
                    }
                }
            },
        },
    };
    // One line whatever an error says.
    crate::printable::printable(&text).into_owned()
}

/// An error as one line: the exact upstream strings stay exact, others carry
/// their context chain joined by ": ", with any line breaks flattened and
/// other control and bidi characters escaped ([`crate::printable`]).
pub fn error_line(err: &anyhow::Error) -> String {
    if err.downcast_ref::<NotFound>().is_some() {
        return ERR_NOT_FOUND.to_owned();
    }
    if let Some(KeyError::Empty) = err.downcast_ref::<KeyError>() {
        return ERR_MISSING_SERVER_URL.to_owned();
    }
    let flat = format!("{err:#}").replace(['\n', '\r', '\t'], " ");
    crate::printable::printable(&flat).into_owned()
}

/// Reads all of stdin, refusing more than [`MAX_INPUT`] bytes and non-UTF-8.
pub fn read_stdin(reader: &mut impl Read) -> Result<String> {
    use zeroize::Zeroize;
    let mut buf = read_limited(reader, MAX_INPUT).context("cannot read standard input")?;
    if buf.len() > MAX_INPUT {
        bail!(
            "input too large: more than {} KiB on standard input",
            MAX_INPUT / 1024
        );
    }
    let bytes = std::mem::take(&mut *buf);
    String::from_utf8(bytes).map_err(|err| {
        err.into_bytes().zeroize();
        anyhow!("input is not valid UTF-8 text")
    })
}

/// Reads `reader` to its end or to `max + 1` bytes (so callers can tell
/// "too large" apart), into a buffer that is wiped when dropped.
///
/// The buffer grows by doubling, and each outgrown buffer is wiped before it
/// is freed, so no copy of a secret is left in freed memory. It starts small:
/// the final buffer is wiped whole (its capacity), and a 1 MiB one would cost
/// `get` a page fault per 4 KiB on every call.
pub fn read_limited(reader: &mut impl Read, max: usize) -> io::Result<zeroize::Zeroizing<Vec<u8>>> {
    use zeroize::Zeroizing;
    let mut buf: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(1024));
    let mut limited = reader.take(max as u64 + 1);
    loop {
        if buf.len() == buf.capacity() {
            let mut bigger = Vec::with_capacity(buf.capacity() * 2);
            bigger.extend_from_slice(&buf);
            // The old buffer is wiped as it drops (Zeroizing).
            drop(std::mem::replace(&mut buf, Zeroizing::new(bigger)));
        }
        let len = buf.len();
        let spare = buf.capacity() - len;
        buf.resize(len + spare, 0);
        let read = loop {
            match limited.read(&mut buf[len..]) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match read {
            Ok(0) => {
                buf.truncate(len);
                return Ok(buf);
            }
            Ok(n) => buf.truncate(len + n),
            Err(err) => return Err(err),
        }
    }
}

/// The request of `store`: upstream's `{"ServerURL","Username","Secret"}`,
/// keys matched case-insensitively (like Go's encoding/json), unknown keys ignored.
#[derive(Debug, PartialEq, Eq)]
pub struct StoreRequest {
    pub server_url: String,
    pub username: String,
    pub secret: Secret,
}

/// Parses the JSON of a `store` request.
pub fn parse_store_request(input: &str) -> Result<StoreRequest> {
    if input.trim().is_empty() {
        bail!("no credentials on standard input: expected JSON {{\"ServerURL\",\"Username\",\"Secret\"}}");
    }
    let value = reader::parse(input, reader::Syntax::Json).map_err(|e| {
        anyhow!(
            "invalid credentials JSON on standard input (line {}, column {}): {}",
            e.line,
            e.column,
            json_error_words(&e.kind)
        )
    })?;
    let Value::Object(map) = value else {
        bail!("invalid credentials JSON: expected an object {{\"ServerURL\",\"Username\",\"Secret\"}}");
    };
    let mut request = StoreRequest {
        server_url: String::new(),
        username: String::new(),
        secret: Secret::default(),
    };
    for (key, value) in map {
        let slot = if key.eq_ignore_ascii_case("serverurl") {
            "ServerURL"
        } else if key.eq_ignore_ascii_case("username") {
            "Username"
        } else if key.eq_ignore_ascii_case("secret") {
            "Secret"
        } else {
            continue;
        };
        let text = match value {
            Value::String(s) => s,
            Value::Null => String::new(),
            _ => bail!("invalid credentials JSON: {slot} must be a string"),
        };
        match slot {
            "ServerURL" => request.server_url = text,
            "Username" => request.username = text,
            _ => request.secret = Secret::new(text),
        }
    }
    Ok(request)
}

/// The words the protocol has always used for a JSON error (clients may
/// match them); the reader's kind never holds the input's text.
fn json_error_words(kind: &reader::ErrorKind) -> std::borrow::Cow<'static, str> {
    match kind {
        reader::ErrorKind::UnexpectedEnd => "unexpected end of input".into(),
        reader::ErrorKind::TooDeep | reader::ErrorKind::ParserTooDeep => kind.to_string().into(),
        _ => "syntax error".into(),
    }
}

fn store_action(store: &Credentials, input: &str) -> Result<()> {
    let request = parse_store_request(input)?;
    let key = ServerKey::parse(&request.server_url)?;
    if request.username.is_empty() {
        bail!(ERR_MISSING_USERNAME);
    }
    let credential = Credential {
        server_url: request.server_url.trim().to_owned(),
        username: request.username,
        secret: request.secret,
    };
    let kind = store.put(&key, &credential)?;
    crate::debug!("stored {key} in {kind}");
    Ok(())
}

fn get(store: &Credentials, input: &str, out: &mut impl Write) -> Result<()> {
    let server_url = input.trim();
    let key = ServerKey::parse(server_url)?;
    // The key's own record first (one index read, no other record decoded);
    // only a miss looks at pairs: an auth server without its own credential
    // answers with its paired registry's (see crate::pairs).
    let credential = match store.get(&key)? {
        Some(credential) => credential,
        None => match crate::pairs::lookup(store, &store.load()?, key.as_str())? {
            crate::pairs::Lookup::Found { credential, .. } => credential,
            crate::pairs::Lookup::Conflict { registries, reason } => {
                crate::debug!("get {key}: paired registries {registries:?} disagree ({reason:?})");
                return Err(NotFound.into());
            }
            crate::pairs::Lookup::NotFound => return Err(NotFound.into()),
        },
    };
    let mut line = String::with_capacity(64 + credential.secret.expose().len());
    line.push_str("{\"ServerURL\":");
    crate::gojson::write_string(&mut line, server_url);
    line.push_str(",\"Username\":");
    crate::gojson::write_string(&mut line, &credential.username);
    line.push_str(",\"Secret\":");
    crate::gojson::write_string(&mut line, credential.secret.expose());
    line.push_str("}\n");
    let result = out.write_all(line.as_bytes());
    zeroize::Zeroize::zeroize(&mut line);
    result.context("cannot write to standard output")
}

fn erase(store: &Credentials, input: &str) -> Result<()> {
    let key = ServerKey::parse(input.trim())?;
    // Erasing a missing key succeeds: skopeo and podman fail `logout` otherwise.
    let existed = store.delete(&key)?;
    crate::debug!("erase {key}: existed={existed}");
    Ok(())
}

/// `{"<server url>":"<username>",...}`, sorted by URL as Go sorts map keys.
/// Strings are borrowed from the index file's bytes (no allocation per line).
fn list(store: &Credentials, out: &mut impl Write) -> Result<()> {
    let index = store.list_index()?;
    let (mut entries, has_pairs) = index.listed_and_pairs()?;
    // Auth servers that answer through a paired registry (crate::pairs); the
    // second parse happens only when the index holds pairs.
    let auth_servers = if has_pairs {
        crate::pairs::listed_auth_servers(&index.view()?)
    } else {
        Vec::new()
    };
    entries.extend(
        auth_servers
            .iter()
            .map(|(auth, user)| crate::store::db::ListedRef {
                server_url: auth.as_str().into(),
                username: user.as_str().into(),
            }),
    );
    // Stable sort, then the last of equal URLs wins: what inserting them in
    // index order into a map would give.
    entries.sort_by(|a, b| a.server_url.cmp(&b.server_url));
    let mut line = String::with_capacity(48 * entries.len() + 3);
    line.push('{');
    let mut first = true;
    for (i, entry) in entries.iter().enumerate() {
        if entries
            .get(i + 1)
            .is_some_and(|next| next.server_url == entry.server_url)
        {
            continue;
        }
        if !first {
            line.push(',');
        }
        first = false;
        crate::gojson::write_string(&mut line, &entry.server_url);
        line.push(':');
        crate::gojson::write_string(&mut line, &entry.username);
    }
    line.push_str("}\n");
    out.write_all(line.as_bytes())
        .context("cannot write to standard output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_request_keys_are_case_insensitive_and_unknown_ignored() {
        let r = parse_store_request(
            r#"{"serverurl":"quay.io","USERNAME":"\u003ctoken\u003e","secret":"s","Extra":1}"#,
        )
        .unwrap();
        assert_eq!(r.server_url, "quay.io");
        assert_eq!(r.username, "<token>");
        assert_eq!(r.secret.expose(), "s");
    }

    #[test]
    fn store_request_rejects_wrong_shapes() {
        for (input, needle) in [
            ("", "no credentials on standard input"),
            ("  \n", "no credentials on standard input"),
            ("[]", "expected an object"),
            ("\"x\"", "expected an object"),
            (r#"{"ServerURL": 5}"#, "ServerURL must be a string"),
            ("{not json", "invalid credentials JSON"),
            (
                &("[".repeat(1000) + &"]".repeat(1000)),
                "invalid credentials JSON",
            ),
        ] {
            let err = parse_store_request(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input:.20}: {err}");
        }
    }

    #[test]
    fn json_errors_do_not_echo_the_input() {
        let err = parse_store_request(r#"{"Secret":"hunter2" "#).unwrap_err();
        assert!(!format!("{err:#}").contains("hunter2"));
    }

    #[test]
    fn duplicate_keys_last_wins_like_go() {
        let r =
            parse_store_request(r#"{"Secret":"a","secret":"b","ServerURL":"x","Username":"u"}"#)
                .unwrap();
        assert_eq!(r.secret.expose(), "b");
    }

    #[test]
    fn stdin_is_bounded_and_utf8() {
        let big = vec![b'a'; MAX_INPUT + 1];
        assert!(read_stdin(&mut &big[..])
            .unwrap_err()
            .to_string()
            .contains("too large"));
        let exact = vec![b'a'; MAX_INPUT];
        assert_eq!(read_stdin(&mut &exact[..]).unwrap().len(), MAX_INPUT);
        let bad = [0xffu8, 0xfe];
        assert!(read_stdin(&mut &bad[..])
            .unwrap_err()
            .to_string()
            .contains("UTF-8"));
    }

    #[test]
    fn error_lines_keep_upstream_strings_exact() {
        assert_eq!(error_line(&anyhow::Error::new(NotFound)), ERR_NOT_FOUND);
        assert_eq!(
            error_line(&anyhow::Error::new(KeyError::Empty)),
            ERR_MISSING_SERVER_URL
        );
        let e = anyhow!("line one\nline two").context("outer");
        assert_eq!(error_line(&e), "outer: line one line two");
    }

    #[test]
    fn list_is_sorted_by_url_with_go_escaping() {
        let dir = tempfile::tempdir().unwrap();
        let store = Credentials::at(
            dir.path().to_path_buf(),
            crate::store::StoreChoice::Fixed(crate::store::StoreKind::File),
        );
        let mut out = Vec::new();
        list(&store, &mut out).unwrap();
        assert_eq!(out, b"{}\n");
        for (url, user) in [
            ("zeta.io", "z"),
            ("https://alpha.io", "<token>"),
            ("beta.io:5000", "b\"q"),
        ] {
            let key = ServerKey::parse(url).unwrap();
            let credential = Credential {
                server_url: url.to_owned(),
                username: user.to_owned(),
                secret: Secret::from("s"),
            };
            store.put(&key, &credential).unwrap();
        }
        let mut out = Vec::new();
        list(&store, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"beta.io:5000\":\"b\\\"q\",\"https://alpha.io\":\"\\u003ctoken\\u003e\",\"zeta.io\":\"z\"}\n"
        );
    }

    #[test]
    fn actions() {
        assert_eq!(Action::from_word("get"), Some(Action::Get));
        assert_eq!(Action::from_word("-v"), Some(Action::Version));
        assert_eq!(Action::from_word("GET"), None);
    }
}
