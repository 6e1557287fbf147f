//! The checks behind `doctor`: why things do or do not work, each problem
//! with the command that fixes it. [`run`] builds a [`Report`] (status, name,
//! detail, fix per check) without printing; `cli::doctor` prints it.

use std::path::Path;

use serde::Serialize;

use crate::config::{ConfigFile, Flavor, HELPER};
use crate::pairs::PairProblem;
use crate::registry::ServerKey;
use crate::store::{backend, choice, BackendError, Credentials, StoreChoice, StoreKind};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Ok,
    Info,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Serialize)]
pub(crate) struct Check {
    /// What was checked (`store`, `docker config`, ...).
    pub(crate) name: &'static str,
    pub(crate) status: Status,
    /// What was found.
    pub(crate) detail: String,
    /// The command (or step) that fixes a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fix: Option<String>,
}

/// Every check, in the order they ran.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, name: &'static str, status: Status, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            status,
            detail: detail.into(),
            fix: None,
        });
    }

    fn problem(
        &mut self,
        name: &'static str,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.checks.push(Check {
            name,
            status,
            detail: detail.into(),
            fix: Some(fix.into()),
        });
    }

    /// Whether some check failed (`doctor` exits 1).
    pub(crate) fn broken(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }
}

fn bin() -> &'static str {
    crate::BINARY_NAME
}

/// Runs every check and returns the report; prints nothing.
pub(crate) fn run() -> Report {
    let mut report = Report::default();
    let docker = Flavor::Docker.open();
    let containers = Flavor::Containers.open();
    let configured = [&docker, &containers].iter().any(|f| {
        f.as_ref().is_ok_and(|f| {
            f.str_at("credsStore") == Some(HELPER)
                || f.cred_helpers()
                    .is_some_and(|h| h.values().any(|v| v.as_str() == Some(HELPER)))
        })
    });
    check_binary(&mut report, configured);
    check_store(&mut report);
    let stored = check_file_store(&mut report);
    check_client(&mut report, "docker config", docker, &stored);
    check_client(&mut report, "podman config", containers, &stored);
    check_expiry(&mut report);
    report
}

fn check_binary(report: &mut Report, configured: bool) {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "?".to_owned());
    report.add(
        "version",
        Status::Info,
        format!("{} {} ({exe})", bin(), env!("CARGO_PKG_VERSION")),
    );
    match crate::config::helper_on_path() {
        Some(found) => {
            let same = std::fs::canonicalize(&found).ok()
                == std::env::current_exe()
                    .ok()
                    .and_then(|p| std::fs::canonicalize(p).ok());
            if same {
                report.add(
                    "on PATH",
                    Status::Ok,
                    format!("clients run {}", found.display()),
                );
            } else {
                let theirs = std::process::Command::new(&found)
                    .arg("version")
                    .stdin(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .output()
                    .ok()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "version unknown".to_owned());
                report.problem(
                    "on PATH",
                    Status::Warn,
                    format!(
                        "clients run {} ({theirs}), not this binary ({exe})",
                        found.display()
                    ),
                    format!(
                        "put the one you want first on PATH, or replace {}",
                        found.display()
                    ),
                );
            }
        }
        None => report.problem(
            "on PATH",
            if configured {
                Status::Fail
            } else {
                Status::Warn
            },
            format!(
                "{} is not on PATH, so docker and podman cannot run it{}",
                bin(),
                if configured {
                    " (and they are configured to)"
                } else {
                    ""
                }
            ),
            crate::config::path_fix_advice(),
        ),
    }
}

fn check_store(report: &mut Report) {
    let (choice, source) = match StoreChoice::configured_with_source() {
        Ok(found) => found,
        Err(err) => {
            report.problem(
                "store",
                Status::Fail,
                format!("{err:#}"),
                format!(
                    "`{} configure --store auto` (or fix the setting named above)",
                    bin()
                ),
            );
            return;
        }
    };
    let bus = choice::session_bus_address();
    if cfg!(target_os = "linux") {
        match &bus {
            Some(addr) => report.add("D-Bus", Status::Info, format!("session bus at {addr}")),
            None => report.add(
                "D-Bus",
                Status::Info,
                "no session bus (DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus): no desktop keyring here",
            ),
        }
    }
    let change_fix = |to: &str| {
        if source.starts_with("environment") {
            format!("unset {} or set it to {to}", crate::store::STORE_ENV)
        } else {
            format!("`{} configure --store {to}`", bin())
        }
    };
    match choice {
        StoreChoice::Fixed(StoreKind::File) => {
            report.add("store", Status::Ok, format!("file store (chosen by {source})"));
        }
        StoreChoice::Fixed(kind) => match probe(kind) {
            Ok(detail) => report.add("store", Status::Ok, format!("{kind} (chosen by {source}): {detail}")),
            Err(err) => report.problem(
                "store",
                Status::Fail,
                format!("{kind} (chosen by {source}) does not work: {err}"),
                format!("start or unlock the keyring, or use another store: {}", change_fix("file")),
            ),
        },
        StoreChoice::Auto => match choice::auto_candidate() {
            None => report.add(
                "store",
                Status::Ok,
                match StoreKind::native() {
                    Some(StoreKind::SecretService) => format!(
                        "auto ({source}) uses the file store: no D-Bus session bus, so no Secret Service to try"
                    ),
                    _ => format!("auto ({source}) uses the file store: this platform has no keyring"),
                },
            ),
            Some(kind) => match probe(kind).map_err(choice::auto_fallback) {
                Ok(detail) => report.add("store", Status::Ok, format!("auto ({source}) uses {kind}: {detail}")),
                Err(Ok(file)) => report.add(
                    "store",
                    Status::Ok,
                    format!("auto ({source}) uses the {file} store: there is no {kind} here"),
                ),
                // A keyring that exists but cannot take secrets now: `auto`
                // refuses to store rather than fall back to the file store.
                Err(Err(err)) => report.problem(
                    "store",
                    if matches!(err, BackendError::Locked { .. }) { Status::Warn } else { Status::Fail },
                    format!("auto ({source}) uses {kind}, which cannot store secrets now (stores fail until it can; auto never falls back to the file store while a keyring exists): {err}"),
                    format!("unlock or fix the keyring, or choose the file store explicitly: {}", change_fix("file")),
                ),
            },
        },
    }
}

/// Whether `kind` answers, and for the Secret Service whether its collection is locked.
fn probe(kind: StoreKind) -> Result<String, BackendError> {
    backend::probe(kind)?;
    if kind != StoreKind::SecretService {
        return Ok("answering".to_owned());
    }
    match backend::secret_service_locked() {
        Ok(Some(false)) => Ok("provider answering, default collection unlocked".to_owned()),
        Ok(Some(true)) => Err(BackendError::Locked { kind }),
        // Creating the default collection needs a password prompt, which a
        // headless session cannot show: stores would fail.
        Ok(None) => Err(BackendError::NoCollection { kind }),
        Err(err) => Ok(format!("provider answering (lock state unknown: {err})")),
    }
}

/// The file store / index: location, permissions, contents. Returns the stored keys.
fn check_file_store(report: &mut Report) -> Vec<String> {
    let store = match Credentials::open() {
        Ok(store) => store,
        Err(_) => match crate::paths::data_dir() {
            Ok(dir) => Credentials::at(dir, StoreChoice::Auto),
            Err(err) => {
                report.problem("file store", Status::Fail, format!("{err:#}"), "set HOME");
                return Vec::new();
            }
        },
    };
    let path = store.db_path();
    let dir = store.dir();
    let mut bad = false;
    if let Some(mode) = mode_of(dir) {
        if mode & 0o077 != 0 {
            bad = true;
            report.problem(
                "file store",
                Status::Fail,
                format!(
                    "{} has mode {mode:o}: other users can look inside",
                    dir.display()
                ),
                format!("chmod 700 {}", dir.display()),
            );
        }
    }
    if let Some(mode) = mode_of(&path) {
        if mode & 0o077 != 0 {
            bad = true;
            report.problem(
                "file store",
                Status::Fail,
                format!(
                    "{} has mode {mode:o}: other users can read it (the helper refuses to use it)",
                    path.display()
                ),
                format!("chmod 600 {}", path.display()),
            );
        }
    }
    if bad {
        return Vec::new();
    }
    if !path.exists() {
        report.add(
            "file store",
            Status::Ok,
            format!("{} (empty: nothing stored yet)", path.display()),
        );
        return Vec::new();
    }
    let db = match store.load() {
        Ok(db) => db,
        Err(err) => {
            report.problem(
                "file store",
                Status::Fail,
                format!("{err:#}"),
                format!("move {} away to start an empty store", path.display()),
            );
            return Vec::new();
        }
    };
    let mut by_store: std::collections::BTreeMap<&str, usize> = Default::default();
    for record in db.credentials.values() {
        *by_store.entry(record.store.name()).or_default() += 1;
    }
    let counts: Vec<String> = by_store
        .iter()
        .map(|(k, n)| format!("{n} in {k}"))
        .collect();
    report.add(
        "file store",
        Status::Ok,
        format!(
            "{} (mode 600): {} credential(s){}",
            path.display(),
            db.credentials.len(),
            if counts.is_empty() {
                String::new()
            } else {
                format!(" ({})", counts.join(", "))
            }
        ),
    );
    // Credentials whose keyring does not answer: clients get errors for them.
    let mut kinds: Vec<StoreKind> = Vec::new();
    for record in db.credentials.values() {
        if record.store != StoreKind::File && !kinds.contains(&record.store) {
            kinds.push(record.store);
        }
    }
    for kind in kinds {
        if let Err(err) = backend::probe(kind) {
            let n = db.credentials.values().filter(|r| r.store == kind).count();
            report.problem(
                "keyring",
                Status::Fail,
                format!("{n} credential(s) are kept in {kind}, which does not answer, so clients cannot read them: {err}"),
                format!("start or unlock {kind} (e.g. log in to the desktop session), or log in again to those registries with `{} login`", bin()),
            );
        }
    }
    for problem in crate::pairs::problems(&db) {
        match problem {
            PairProblem::NoCredential {
                registry,
                auth_server,
            } => report.problem(
                "pairs",
                Status::Warn,
                format!("{registry} is paired with {auth_server} but has no credential"),
                format!("{} login {registry} -u USER --password-stdin", bin()),
            ),
            PairProblem::Untied {
                registry,
                auth_server,
                username,
            } => report.problem(
                "pairs",
                Status::Info,
                format!(
                    "{registry} is paired with {auth_server}, which holds a credential of its own \
                     (username {username}) not tied to {registry}: {registry}'s token requests \
                     carry {registry}'s own credential, and the other is never sent, exported \
                     or removed for it"
                ),
                format!(
                    "nothing, if {registry}'s challenge chose {auth_server}; if you set the pair up and \
                     that credential belongs to {registry}'s login: {} pair add {registry} {auth_server} --use-auth-credential",
                    bin()
                ),
            ),
        }
    }
    db.credentials.keys().cloned().collect()
}

/// Stored secrets that are JWTs expiring within 7 days, or expired.
fn check_expiry(report: &mut Report) {
    let Ok(store) = Credentials::open() else {
        return;
    };
    let Ok(db) = store.load() else { return };
    for key in db.credentials.keys() {
        let expiry = crate::jwt::of_stored(&store, &db, key).unwrap_or(crate::jwt::Expiry::Unknown);
        if let Some(w) = crate::jwt::warning(key, expiry) {
            report.add("expiry", Status::Warn, w);
        }
    }
}

fn mode_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The fix for a client config that does not use this helper: `configure`,
/// or `migrate` when docker's `credsStore` names another helper, which may
/// hold credentials `configure` would strand (it refuses then).
fn switch_fix(creds_store: Option<&str>, configure: &str) -> String {
    match creds_store {
        Some(other) if !other.is_empty() => format!(
            "{} migrate (moves what docker-credential-{other} holds, then points docker here; if it holds nothing: {configure})",
            bin()
        ),
        _ => configure.to_owned(),
    }
}

/// docker's config.json or the containers auth file.
fn check_client(
    report: &mut Report,
    name: &'static str,
    file: anyhow::Result<ConfigFile>,
    stored: &[String],
) {
    let helper = HELPER;
    let file = match file {
        Ok(file) => file,
        Err(err) => {
            report.problem(
                name,
                Status::Fail,
                format!("{err:#}"),
                "fix the file (or move it away), then run this again",
            );
            return;
        }
    };
    let path = file.path().display().to_string();
    let podman = file.flavor == Flavor::Containers;
    let configure = if podman {
        format!("{} configure --podman", bin())
    } else {
        format!("{} configure", bin())
    };
    let ours: Vec<&String> = file
        .cred_helpers()
        .map(|h| {
            h.iter()
                .filter(|(_, v)| v.as_str() == Some(helper))
                .map(|(k, _)| k)
                .collect()
        })
        .unwrap_or_default();
    let creds_store = file.str_at("credsStore");
    if !podman && creds_store == Some(helper) {
        report.add(
            name,
            Status::Ok,
            format!("{path}: \"credsStore\": \"{helper}\""),
        );
    } else if !ours.is_empty() {
        let list: Vec<&str> = ours.iter().map(|s| s.as_str()).collect();
        report.add(
            name,
            Status::Ok,
            format!("{path}: credHelpers use {helper} for {}", list.join(", ")),
        );
    } else if !file.exists()
        && podman
        && !["podman", "skopeo", "buildah"]
            .iter()
            .any(|t| crate::paths::program_on_path(t).is_some())
    {
        report.add(
            name,
            Status::Info,
            format!("{path} does not exist (podman, skopeo and buildah are not installed)"),
        );
    } else if !file.exists() {
        report.problem(
            name,
            Status::Warn,
            format!(
                "{path} does not exist: {} does not use this helper",
                if podman { "podman" } else { "docker" }
            ),
            configure.clone(),
        );
    } else {
        let other = match creds_store {
            Some(other) if !podman => format!(" (credsStore is {other:?})"),
            _ => String::new(),
        };
        report.problem(
            name,
            Status::Warn,
            format!("{path} does not use this helper{other}"),
            switch_fix(creds_store.filter(|_| !podman), &configure),
        );
    }
    // Stored credentials the client will not ask us for.
    let missed: Vec<&str> = stored
        .iter()
        .filter_map(|k| ServerKey::parse(k).ok().map(|key| (k, key)))
        .filter(|(_, key)| key.path().is_empty() && !file.uses_helper(key, helper))
        .map(|(k, _)| k.as_str())
        .collect();
    if podman && !ours.is_empty() && !missed.is_empty() {
        let flags: Vec<String> = missed.iter().map(|k| format!("--registry {k}")).collect();
        report.problem(
            name,
            Status::Warn,
            format!("podman will not ask this helper for: {}", missed.join(", ")),
            format!("{configure} {}", flags.join(" ")),
        );
    }
    let migrate = if ours.is_empty() && creds_store != Some(helper) {
        format!("{configure} && {} migrate", bin())
    } else {
        format!("{} migrate", bin())
    };
    check_plaintext(report, name, file.path(), &file.root, migrate);
    // A backup made before the secrets moved may still hold them.
    let backup = file.backup_path();
    if let Ok(old) = ConfigFile::open(file.flavor, &backup) {
        let fix = format!("rm {}", backup.display());
        check_plaintext(report, name, &backup, &old.root, fix);
    }
}

/// A FAIL line when `root` (the content of `path`) holds plaintext passwords.
fn check_plaintext(
    report: &mut Report,
    name: &'static str,
    path: &Path,
    root: &serde_json::Map<String, serde_json::Value>,
    fix: String,
) {
    match crate::config::plaintext_auths(root) {
        Ok(found) if !found.is_empty() => {
            let names: Vec<String> = found
                .iter()
                .map(|a| crate::registry::shown(&a.server))
                .collect();
            report.problem(
                name,
                Status::Fail,
                format!(
                    "{} holds {} plaintext password(s): {}",
                    path.display(),
                    found.len(),
                    names.join(", ")
                ),
                fix,
            );
        }
        Ok(_) => {}
        Err(err) => report.add(name, Status::Warn, format!("{}: {err:#}", path.display())),
    }
}
