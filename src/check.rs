//! `check`: ask each stored credential's registry whether it still works.
//!
//! Secrets are read from the store first (sequentially: the keyring is one
//! service), then the registries are asked in parallel by a bounded pool of
//! threads sharing one client, whose deadline bounds the whole run. Each
//! credential gets one verdict; none ever carries a secret. The run's exit
//! code ([`exit_code`]) tells a script "all good" from "rejected" from "could
//! not ask". `check --image` ([`run_images`]) shares the store reading, the
//! trust rule's choice of credentials and the pool; its per-image flow and
//! verdicts are [`crate::image_access`]'s.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Result;
use serde::Serialize;

use crate::http::{self, Client};
use crate::image_access;
use crate::image_ref::ImageRef;
use crate::jwt::{self, Expiry, Horizon};
use crate::pairs;
use crate::registry::ServerKey;
use crate::secret::Secret;
use crate::store::Credentials;
use crate::verify::{self, Attempt, Cred, Party, Verdict};

/// Registries asked at once.
pub(crate) const CONCURRENCY: usize = 16;

/// Exit code when a credential was rejected or has expired.
pub(crate) const EXIT_REJECTED: i32 = 1;

/// Exit code when none was rejected but some could not be asked.
pub(crate) const EXIT_NOT_ASKED: i32 = 3;

/// The verdict on one credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub(crate) enum Status {
    Ok,
    Rejected {
        by: Party,
        url: String,
        #[serde(rename = "httpStatus")]
        http_status: u16,
    },
    Unreachable {
        detail: String,
    },
    Expired,
    NotCheckable {
        detail: String,
        /// Not asked on purpose, with nothing to ask: an auth server's
        /// credential (checked through its paired registries), a registry
        /// that asks for no credential. Does not count as "could not ask".
        #[serde(skip)]
        on_purpose: bool,
    },
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) server: String,
    pub(crate) username: String,
    #[serde(flatten)]
    pub(crate) status: Status,
    /// When the secret (a JWT) expires, UTC; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expires: Option<String>,
    /// Expires within 7 days (or has expired).
    #[serde(rename = "expiresSoon")]
    pub(crate) expires_soon: bool,
    /// Things worth knowing (the realm is not on the recorded auth server).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) notes: Vec<String>,
    /// The 7-day warning for a secret that is still valid (an expired one is
    /// its verdict instead), worded as everywhere else (`jwt::warning`).
    #[serde(skip)]
    pub(crate) expiry_warning: Option<String>,
}

/// What one credential needs for its check, read up front (from the store,
/// or from a deployed pull secret for `audit`).
pub(crate) struct Job {
    key: ServerKey,
    username: String,
    secret: Secret,
    auth: Option<(ServerKey, String, Secret)>,
    /// Decided without asking (not checkable, expired).
    decided: Option<Status>,
    expiry: Expiry,
}

impl Job {
    /// A credential checked as the registry `key` uses it: sent to the
    /// registry and to the token realm it names, as docker and kubelet send
    /// it (no paired auth server); an expired JWT is decided without asking.
    pub(crate) fn unpaired(key: ServerKey, username: String, secret: Secret) -> Job {
        let expiry = jwt::expiry(secret.expose());
        Job {
            decided: (expiry.soon() == Horizon::Expired).then_some(Status::Expired),
            key,
            username,
            secret,
            auth: None,
            expiry,
        }
    }

    /// The secret this job sends (to compare copies before asking twice).
    pub(crate) fn secret(&self) -> &Secret {
        &self.secret
    }

    /// What `verify` needs to ask with this job's credentials.
    fn attempt(&self) -> Attempt<'_> {
        Attempt {
            registry: &self.key,
            credential: Cred {
                username: &self.username,
                secret: &self.secret,
            },
            auth_server: self.auth.as_ref().map(|(k, u, s)| {
                (
                    k,
                    Cred {
                        username: u,
                        secret: s,
                    },
                )
            }),
        }
    }
}

/// Checks `only` (every stored credential when empty) with `client`.
pub(crate) fn run(store: &Credentials, only: &[ServerKey], client: &Client) -> Result<Vec<Row>> {
    let db = store.load()?;
    let keys: Vec<String> = if only.is_empty() {
        db.credentials.keys().cloned().collect()
    } else {
        only.iter().map(|k| k.as_str().to_owned()).collect()
    };
    let mut jobs = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(job) = job_for(store, &db, &key, true)? else {
            anyhow::bail!("no credential is stored for {key} (see `ls`)");
        };
        jobs.push(job);
    }
    Ok(check_all(client, &jobs))
}

/// Checks `jobs` in parallel ([`CONCURRENCY`] at a time, one client whose
/// deadline bounds the run): one row each, in the order given.
pub(crate) fn check_all(client: &Client, jobs: &[Job]) -> Vec<Row> {
    in_pool(jobs, |job| check_one(client, job))
}

/// The job of the credential stored under `key` (`None` when there is none):
/// its secret, and the auth server's credential the trust rule gives a
/// paired registry's token request. `through_pairs`: an auth server's own
/// credential is not checked by itself (plain `check`).
fn job_for(
    store: &Credentials,
    db: &crate::store::Database,
    key: &str,
    through_pairs: bool,
) -> Result<Option<Job>> {
    let Some(credential) = store.get_in(db, key)? else {
        return Ok(None);
    };
    let parsed = ServerKey::parse(key)?;
    let expiry = jwt::expiry(credential.secret.expose());
    let mut decided = None;
    let mut auth = None;
    if through_pairs && pairs::checked_through_pairs(db, key) {
        decided = Some(Status::NotCheckable {
            detail: "an auth server's credential tied to its pairs: checked through its paired registries".into(),
            on_purpose: true,
        });
    } else if let Some(found) = pairs::auth_for(store, db, key)? {
        // The trust rule: the auth server's own credential only when the
        // pair ties it, else the registry's own goes to its realm.
        let (username, secret) = match found.credential {
            Some(c) => (c.username, c.secret),
            None => (credential.username.clone(), credential.secret.clone()),
        };
        auth = Some((found.auth_server, username, secret));
    }
    if decided.is_none() && expiry.soon() == Horizon::Expired {
        decided = Some(Status::Expired);
    }
    Ok(Some(Job {
        key: parsed,
        username: credential.username,
        secret: credential.secret,
        auth,
        decided,
        expiry,
    }))
}

/// `work` over `items` on at most [`CONCURRENCY`] threads; the results in
/// the order of `items`.
fn in_pool<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY.min(items.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let result = work(item);
                *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            });
        }
    });
    results
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

/// Checks that the credential stored for each image (the most specific key
/// first, as podman looks it up; per key the https spelling, then the
/// `http://` one, as the kubelet and docker match keys without their scheme)
/// may pull it, and push to it when `push`:
/// the images share the pool and `client`'s deadline. An image whose
/// registry has no stored credential gets its row without being asked.
pub(crate) fn run_images(
    store: &Credentials,
    images: &[ImageRef],
    push: bool,
    client: &Client,
) -> Result<Vec<image_access::Row>> {
    let db = store.load()?;
    let mut jobs = Vec::with_capacity(images.len());
    for image in images {
        let mut found = None;
        // Per scope, the https key, else the `http://` one: the kubelet's
        // and docker's order (both drop the scheme when they match keys).
        let keys = image.credential_keys();
        for key in keys.iter().flat_map(|k| [k.clone(), format!("http://{k}")]) {
            if let Some(job) = job_for(store, &db, &key, false)? {
                found = Some(job);
                break;
            }
        }
        jobs.push((image, found));
    }
    Ok(in_pool(&jobs, |(image, job)| {
        let Some(job) = job else {
            return image_access::no_credential(image);
        };
        // Without `through_pairs`, the only verdict decided up front is expiry.
        let expired = matches!(job.decided, Some(Status::Expired));
        image_access::check(client, &job.attempt(), image, push, expired)
    }))
}

fn check_one(client: &Client, job: &Job) -> Row {
    let mut notes = Vec::new();
    let status = match &job.decided {
        Some(status) => status.clone(),
        None => match verify::check(client, &job.attempt()) {
            Ok(checked) => {
                notes = checked.notes;
                match checked.verdict {
                    Verdict::Accepted => Status::Ok,
                    Verdict::Rejected { by, url, status } => Status::Rejected {
                        by,
                        url,
                        http_status: status,
                    },
                    Verdict::Open => Status::NotCheckable {
                        detail: "the registry asks for no credential".into(),
                        on_purpose: true,
                    },
                }
            }
            Err(err) if http::is_unreachable(&err) => Status::Unreachable {
                detail: format!("{err:#}"),
            },
            Err(err) => Status::NotCheckable {
                detail: format!("{err:#}"),
                on_purpose: false,
            },
        },
    };
    let soon = job.expiry.soon();
    Row {
        server: job.key.as_str().to_owned(),
        username: job.username.clone(),
        status,
        expires: match job.expiry {
            Expiry::Unknown => None,
            at => Some(at.display()),
        },
        expires_soon: matches!(soon, Horizon::Within7Days | Horizon::Expired),
        notes,
        expiry_warning: match soon {
            Horizon::Within7Days => crate::jwt::warning(job.key.as_str(), job.expiry),
            _ => None,
        },
    }
}

impl Row {
    /// The verdict as one phrase: `ok`, `rejected by registry (401 at URL)`, ...
    pub(crate) fn verdict(&self) -> String {
        match &self.status {
            Status::Ok => "ok".into(),
            Status::Rejected {
                by,
                url,
                http_status,
            } => format!("rejected by {by} ({http_status} at {url})"),
            Status::Unreachable { detail } => format!("unreachable: {detail}"),
            Status::Expired => {
                format!("expired ({})", self.expires.as_deref().unwrap_or("unknown"))
            }
            Status::NotCheckable { detail, .. } => format!("not checkable: {detail}"),
        }
    }
}

/// The exit code of a run: [`EXIT_REJECTED`] when any credential was
/// rejected or has expired; else [`EXIT_NOT_ASKED`] when any could not be
/// asked (unreachable, or not checkable from what the server answered);
/// else 0. A credential not checked on purpose counts as good.
pub(crate) fn exit_code(rows: &[Row]) -> i32 {
    let any = |f: fn(&Status) -> bool| rows.iter().any(|r| f(&r.status));
    if any(|s| matches!(s, Status::Rejected { .. } | Status::Expired)) {
        EXIT_REJECTED
    } else if any(|s| {
        matches!(
            s,
            Status::Unreachable { .. }
                | Status::NotCheckable {
                    on_purpose: false,
                    ..
                }
        )
    }) {
        EXIT_NOT_ASKED
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: Status) -> Row {
        Row {
            server: "reg.example.com".into(),
            username: "u".into(),
            status,
            expires: None,
            expires_soon: false,
            notes: Vec::new(),
            expiry_warning: None,
        }
    }

    #[test]
    fn exit_codes() {
        let ok = || row(Status::Ok);
        let rejected = || {
            row(Status::Rejected {
                by: Party::Registry,
                url: "https://reg.example.com/v2/".into(),
                http_status: 401,
            })
        };
        let unreachable = || {
            row(Status::Unreachable {
                detail: "timed out".into(),
            })
        };
        let not_checkable = |on_purpose| {
            row(Status::NotCheckable {
                detail: "why".into(),
                on_purpose,
            })
        };
        assert_eq!(exit_code(&[]), 0);
        assert_eq!(exit_code(&[ok(), not_checkable(true)]), 0);
        assert_eq!(exit_code(&[ok(), unreachable()]), EXIT_NOT_ASKED);
        assert_eq!(exit_code(&[ok(), not_checkable(false)]), EXIT_NOT_ASKED);
        assert_eq!(exit_code(&[unreachable(), rejected()]), EXIT_REJECTED);
        assert_eq!(exit_code(&[row(Status::Expired), ok()]), EXIT_REJECTED);
    }
}
