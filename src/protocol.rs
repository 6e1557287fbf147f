//! The docker-credential-helpers protocol: one action word as the only
//! argument, input on stdin, output on stdout, errors as one line on **stdout**
//! with exit code 1 (clients read stdout and compare the text).

use std::io::{self, Read, Write};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::input::read_stdin;
use crate::reader;
use crate::registry::{KeyError, ServerKey};
use crate::secret::Secret;
use crate::store::{Credential, Credentials};

/// Exact text docker and skopeo compare with to decide "not logged in".
pub(crate) const ERR_NOT_FOUND: &str = "credentials not found in native keychain";
/// Exact upstream text for an empty ServerURL.
pub(crate) const ERR_MISSING_SERVER_URL: &str = "no credentials server URL";
/// Exact upstream text for an empty Username.
pub(crate) const ERR_MISSING_USERNAME: &str = "no credentials username";

/// The protocol's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Store,
    Get,
    Erase,
    List,
    Version,
}

impl Action {
    /// The action named by `word`, as upstream accepts it.
    pub(crate) fn from_word(word: &str) -> Option<Action> {
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
pub(crate) struct NotFound;

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(ERR_NOT_FOUND)
    }
}

impl std::error::Error for NotFound {}

/// The usage text upstream prints (on stdout) for a missing or unknown action.
pub(crate) fn usage() -> String {
    format!(
        "Usage: {bin} <store|get|erase|list|version>\n\
         Credential helper for docker, podman and skopeo; reads the request on stdin.\n\
         Run '{bin} --help' for the human commands (login, ls, export, configure, doctor, ...).",
        bin = crate::BINARY_NAME
    )
}

/// Prints the usage on stdout and returns exit code 1, as upstream does.
pub(crate) fn usage_error() -> i32 {
    // A closed stdout changes nothing: the exit code already says it.
    let _ = writeln!(io::stdout(), "{}", usage());
    1
}

/// Runs one protocol action against stdin/stdout and the configured store,
/// and returns the exit code.
pub(crate) fn run(action: Action) -> i32 {
    serve(
        action,
        Credentials::open,
        &mut io::stdin().lock(),
        &mut io::stdout().lock(),
    )
}

/// Serves one protocol action over the store `open` hands in (opened after
/// the request is read, so a bad request is reported first): reads the
/// request from `input`, writes the answer or the one-line error to `out`,
/// and returns the exit code. [`run`] wires it to the process; unit tests to
/// an in-memory store.
pub(crate) fn serve(
    action: Action,
    open: impl FnOnce() -> Result<Credentials>,
    input: &mut impl Read,
    out: &mut impl Write,
) -> i32 {
    let result = match action {
        Action::Version => {
            let _ = writeln!(out, "{}", version_line());
            Ok(())
        }
        Action::List => open().and_then(|store| list(&store, out)),
        _ => read_stdin(input).and_then(|input| {
            // The raw request holds the secret: wipe it when done.
            let input = zeroize::Zeroizing::new(input);
            let store = open()?;
            match action {
                Action::Store => store_action(&store, &input),
                Action::Get => get(&store, &input, out),
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
pub(crate) fn version_line() -> String {
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
    // An auth server without its own credential answers with its paired
    // registry's (see crate::pairs).
    let Some(credential) = crate::pairs::answer(store, &key)? else {
        return Err(NotFound.into());
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
    // Stored credentials, then auth servers that answer through a paired
    // registry (crate::pairs).
    let mut entries = crate::pairs::listed(&index)?;
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
    use crate::store::SecretStore;

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

    use crate::store::memory_store;

    /// Serves `action` with `input` over `store`: (exit code, stdout).
    fn call(store: &Credentials, action: Action, input: &str) -> (i32, String) {
        let mut out = Vec::new();
        let code = serve(
            action,
            || Ok(store.clone()),
            &mut input.as_bytes(),
            &mut out,
        );
        (code, String::from_utf8(out).unwrap())
    }

    fn store_json(url: &str, user: &str, secret: &str) -> String {
        format!(r#"{{"ServerURL":"{url}","Username":"{user}","Secret":"{secret}"}}"#)
    }

    #[test]
    fn store_then_get_answers_the_client_spelling_with_the_secret_from_the_store() {
        let (dir, secrets, store) = memory_store();
        let request = store_json("https://Quay.io/", "alice", "s3cret");
        assert_eq!(call(&store, Action::Store, &request), (0, String::new()));
        assert_eq!(secrets.keys(), ["quay.io"]);
        assert_eq!(
            call(&store, Action::Get, "quay.io\n"),
            (
                0,
                "{\"ServerURL\":\"quay.io\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}\n"
                    .to_owned()
            )
        );
        // The secret went to the secret store, not into the index.
        let index = std::fs::read_to_string(dir.path().join(crate::store::db::DB_FILE)).unwrap();
        assert!(
            index.contains("alice") && !index.contains("s3cret"),
            "{index}"
        );
    }

    #[test]
    fn get_of_a_missing_key_is_the_exact_upstream_line_and_exit_1() {
        let (_dir, _secrets, store) = memory_store();
        let expected = (1, format!("{ERR_NOT_FOUND}\n"));
        assert_eq!(call(&store, Action::Get, "ghcr.io"), expected);
        // A key in the index whose secret the store lost is not found either.
        call(&store, Action::Store, &store_json("ghcr.io", "u", "s"));
        _secrets.delete("ghcr.io").unwrap();
        assert_eq!(call(&store, Action::Get, "ghcr.io"), expected);
    }

    #[test]
    fn store_refuses_empty_fields_with_the_upstream_text_and_keeps_nothing() {
        let (_dir, secrets, store) = memory_store();
        assert_eq!(
            call(&store, Action::Store, &store_json("ghcr.io", "", "s")),
            (1, format!("{ERR_MISSING_USERNAME}\n"))
        );
        assert_eq!(
            call(&store, Action::Store, &store_json(" ", "u", "s")),
            (1, format!("{ERR_MISSING_SERVER_URL}\n"))
        );
        assert_eq!(
            call(&store, Action::Get, ""),
            (1, format!("{ERR_MISSING_SERVER_URL}\n"))
        );
        assert!(secrets.keys().is_empty());
        assert_eq!(call(&store, Action::List, ""), (0, "{}\n".to_owned()));
    }

    #[test]
    fn erase_removes_the_secret_and_a_missing_key_is_no_error() {
        let (_dir, secrets, store) = memory_store();
        assert_eq!(call(&store, Action::Erase, "ghcr.io"), (0, String::new()));
        call(&store, Action::Store, &store_json("ghcr.io", "u", "s"));
        call(&store, Action::Store, &store_json("quay.io", "v", "t"));
        assert_eq!(
            call(&store, Action::Erase, "https://ghcr.io"),
            (0, String::new())
        );
        assert_eq!(secrets.keys(), ["quay.io"]);
        assert_eq!(
            call(&store, Action::List, ""),
            (0, "{\"quay.io\":\"v\"}\n".to_owned())
        );
    }

    #[test]
    fn a_failed_store_leaves_the_earlier_credential_as_it_was() {
        let (_dir, secrets, store) = memory_store();
        call(
            &store,
            Action::Store,
            &store_json("ghcr.io", "old-user", "old"),
        );
        secrets.fail_set_of(Some("ghcr.io"));
        let (code, out) = call(
            &store,
            Action::Store,
            &store_json("ghcr.io", "new-user", "new"),
        );
        assert_eq!(code, 1);
        assert!(
            out.contains("cannot store the credential for ghcr.io"),
            "{out}"
        );
        assert!(!out.contains("new"), "{out}");
        secrets.fail_set_of(None);
        let (code, out) = call(&store, Action::Get, "ghcr.io");
        assert_eq!(code, 0);
        assert!(
            out.contains("\"Username\":\"old-user\",\"Secret\":\"old\""),
            "{out}"
        );
    }

    #[test]
    fn an_auth_server_answers_get_and_list_with_its_paired_registry() {
        let (_dir, _secrets, store) = memory_store();
        call(
            &store,
            Action::Store,
            &store_json("reg.example", "alice", "pw"),
        );
        let key = |s: &str| ServerKey::parse(s).unwrap();
        crate::pairs::link(
            &store,
            &key("reg.example"),
            &key("sso.example"),
            &crate::pairs::Intent::RegistryCredential,
            crate::pairs::Origin::Named,
        )
        .unwrap();
        assert_eq!(
            call(&store, Action::Get, "https://sso.example/auth"),
            (
                0,
                "{\"ServerURL\":\"https://sso.example/auth\",\"Username\":\"alice\",\"Secret\":\"pw\"}\n"
                    .to_owned()
            )
        );
        assert_eq!(
            call(&store, Action::List, ""),
            (
                0,
                "{\"reg.example\":\"alice\",\"sso.example\":\"alice\"}\n".to_owned()
            )
        );
        // Two registries with different secrets: a conflict, so not found.
        call(
            &store,
            Action::Store,
            &store_json("reg2.example", "alice", "other"),
        );
        crate::pairs::link(
            &store,
            &key("reg2.example"),
            &key("sso.example"),
            &crate::pairs::Intent::RegistryCredential,
            crate::pairs::Origin::Named,
        )
        .unwrap();
        assert_eq!(
            call(&store, Action::Get, "sso.example"),
            (1, format!("{ERR_NOT_FOUND}\n"))
        );
    }

    #[test]
    fn version_and_a_refused_request_never_open_the_store() {
        let unopened = || -> Result<Credentials> { panic!("the store was opened") };
        let mut out = Vec::new();
        assert_eq!(serve(Action::Version, unopened, &mut &b""[..], &mut out), 0);
        assert!(String::from_utf8(out)
            .unwrap()
            .starts_with(crate::BINARY_NAME));
        let big = vec![b'a'; crate::input::MAX_INPUT + 1];
        let mut out = Vec::new();
        assert_eq!(serve(Action::Get, unopened, &mut &big[..], &mut out), 1);
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("input too large"), "{out}");
    }

    #[test]
    fn actions() {
        assert_eq!(Action::from_word("get"), Some(Action::Get));
        assert_eq!(Action::from_word("-v"), Some(Action::Version));
        assert_eq!(Action::from_word("GET"), None);
    }
}
