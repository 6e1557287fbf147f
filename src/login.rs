//! What `login` does once the command line is read: find and check the auth
//! server to pair with ([`Pairing`]), check the credential with the registry
//! the way `docker login` does ([`crate::verify`]), then store it through the
//! same store path as the protocol's `store` ([`verify_then_store`]). Nothing
//! here reads the terminal or prints; `cli::login` does.

use anyhow::{bail, Context, Result};

use crate::discover;
use crate::http::Client;
use crate::pairs::{self, Intent, LinkReport, Origin};
use crate::registry::ServerKey;
use crate::secret::Secret;
use crate::store::{Credential, Credentials, Put, StoreKind};
use crate::verify::{self, Verdict};

/// Asks `registry` who issues its tokens (`pair discover`, `login --discover`).
pub(crate) fn find_auth_server(client: &Client, registry: &ServerKey) -> Result<discover::Found> {
    let answer = discover::probe(client, registry)?;
    discover::auth_server(registry, &answer)
}

/// A pair `login` will record once the registry credential is stored.
pub(crate) struct Pairing {
    auth_server: ServerKey,
    realm: Option<String>,
    auth_username: Option<String>,
    intent: Intent,
    origin: Origin,
    plan: pairs::Plan,
}

/// The pair options of `login`, as given.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PairOptions<'a> {
    /// `--auth-server HOST`: the user names the auth server.
    pub(crate) auth_server: Option<&'a str>,
    /// `--discover`: the registry's challenge names it.
    pub(crate) discover: bool,
    /// `--auth-username USER`: a credential of the auth server's own, stored with the pair.
    pub(crate) auth_username: Option<&'a str>,
    /// `--use-auth-credential`: use the credential the named auth server already holds.
    pub(crate) use_auth_credential: bool,
}

impl Pairing {
    /// Checks the pair options and finds the auth server before anything is
    /// read or stored: `auth_server` names it, else `discover` asks the
    /// registry with the client `client` makes. `None` without pair options.
    /// Reusing a stored auth-server credential needs the user to name the
    /// auth server: a discovered realm never picks one of their credentials.
    pub(crate) fn prepare(
        options: PairOptions<'_>,
        registry: &ServerKey,
        client: impl FnOnce() -> Result<Client>,
    ) -> Result<Option<Pairing>> {
        let PairOptions {
            auth_server,
            discover,
            auth_username,
            use_auth_credential,
        } = options;
        if use_auth_credential && (auth_server.is_none() || auth_username.is_some()) {
            bail!("--use-auth-credential needs --auth-server HOST (the auth server you name, not one a registry's challenge names) and no --auth-username");
        }
        let (auth_server, realm, origin) = match (auth_server, discover) {
            (Some(host), _) => (ServerKey::parse(host)?, None, Origin::Named),
            (None, true) => {
                let found = find_auth_server(&client()?, registry)?;
                (found.auth_server, Some(found.realm), Origin::Discovered)
            }
            (None, false) => {
                if auth_username.is_some() {
                    bail!("--auth-username needs --auth-server HOST or --discover");
                }
                return Ok(None);
            }
        };
        if auth_username == Some("") {
            bail!("the auth server username is empty: pass --auth-username USER");
        }
        let intent = match (auth_username, use_auth_credential) {
            (Some(user), _) => Intent::NewAuthCredential(user.to_owned()),
            (None, true) => Intent::UseStored,
            (None, false) => Intent::RegistryCredential,
        };
        let store = Credentials::open()?;
        let plan = pairs::plan(&store.load()?, registry, &auth_server, &intent, origin)?;
        Ok(Some(Pairing {
            auth_server,
            realm,
            auth_username: auth_username.map(str::to_owned),
            intent,
            origin,
            plan,
        }))
    }

    /// The auth server to pair with.
    pub(crate) fn auth_server(&self) -> &ServerKey {
        &self.auth_server
    }

    /// The realm `--discover` found, if it was used.
    pub(crate) fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The auth server's own username, when one is to be stored.
    pub(crate) fn auth_username(&self) -> Option<&str> {
        self.auth_username.as_deref()
    }

    /// What the user should know before anything is stored: the auth server
    /// already holds a credential this pair leaves alone.
    pub(crate) fn note(&self, registry: &ServerKey) -> Option<String> {
        self.plan.note(registry, &self.auth_server)
    }
}

/// Checks `username` before the registry is asked (the store refuses a
/// control character too, in `Credentials::put_all`).
pub(crate) fn check_username(key: &ServerKey, username: &str) -> Result<()> {
    if username.is_empty() {
        bail!("the username is empty: pass --username");
    }
    if username.chars().any(char::is_control) {
        bail!("invalid username for {key}: it contains control characters");
    }
    Ok(())
}

/// A credential `login` checks and stores.
pub(crate) struct Login<'a> {
    pub(crate) key: &'a ServerKey,
    pub(crate) credential: &'a Credential,
    /// Lands with the credential, in the same index write (`None`: the stored one stays).
    pub(crate) email: Option<String>,
    /// The pair being recorded: the check asks its auth server.
    pub(crate) pairing: Option<&'a Pairing>,
    /// The auth server's own password (`--auth-username`).
    pub(crate) auth_secret: Option<&'a Secret>,
}

/// What [`verify_then_store`] did.
pub(crate) struct Stored {
    /// The registry's answer; `None` when not checked (`--no-verify`).
    pub(crate) verdict: Option<Verdict>,
    /// Where the registry credential went.
    pub(crate) kind: StoreKind,
    /// The pair recorded, when one was asked for.
    pub(crate) linked: Option<LinkReport>,
    /// Where the auth server's own credential went, when one was given.
    pub(crate) auth_kind: Option<StoreKind>,
}

/// Checks the credential with the registry through `client` (`None`: stored
/// unchecked, `--no-verify`), then stores it with its email, the pair and the
/// auth server's own credential in one transaction (one lock, one index
/// write; all or nothing; a replaced pair's owned auth-server credential goes
/// in it too). A refused credential is not stored (an earlier one stays).
/// `note` gets what the check learnt on the way, before anything is stored.
pub(crate) fn verify_then_store(
    store: &Credentials,
    client: Option<&Client>,
    login: Login<'_>,
    mut note: impl FnMut(&str),
) -> Result<Stored> {
    let Login {
        key,
        credential,
        email,
        pairing,
        auth_secret,
    } = login;
    let checked = match client {
        None => None,
        Some(client) => {
            let new_pair = pairing.map(|p| verify::NewPair {
                auth_server: p.auth_server.clone(),
                given: p.auth_username().zip(auth_secret),
                use_stored: p.auth_username.is_none()
                    && p.plan.auth_credential.uses_auth_server_credential(),
            });
            let checked = verify::check_login(client, store, key, credential, new_pair)
                .with_context(|| {
                    format!("cannot check the credential with {key}; nothing was stored (pass --no-verify to store it unchecked)")
                })?;
            for line in &checked.notes {
                note(line);
            }
            if let Verdict::Rejected { by, url, status } = &checked.verdict {
                bail!(
                    "{}; nothing was stored",
                    verify::refusal(key, *by, url, *status)
                );
            }
            Some(checked.verdict)
        }
    };
    let email = email.map(Some);
    let mut puts = vec![Put {
        key,
        credential,
        email: email.as_ref(),
    }];
    let auth_credential = pairing.and_then(|p| {
        let username = p.auth_username.clone()?;
        Some(Credential {
            server_url: p.auth_server.as_str().to_owned(),
            username,
            secret: auth_secret?.clone(),
        })
    });
    if let (Some(p), Some(credential)) = (pairing, &auth_credential) {
        puts.push(Put {
            key: &p.auth_server,
            credential,
            email: None,
        });
    }
    let (kinds, linked) = store.put_all_with(&puts, |db, removals| {
        pairing
            .map(|p| {
                // Planned again under the lock: the index may have changed since.
                let plan = pairs::plan(db, key, &p.auth_server, &p.intent, p.origin)?;
                pairs::link_in(db, removals, key, &p.auth_server, &plan)
            })
            .transpose()
    })?;
    Ok(Stored {
        verdict: checked,
        kind: kinds[0],
        linked,
        auth_kind: kinds.get(1).copied(),
    })
}
