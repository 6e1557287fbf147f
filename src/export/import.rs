//! A pull secret or docker config.json read into the store (`import`):
//! every entry validated and planned before the first write, then written in
//! one all-or-nothing batch ([`Credentials::put_all`]).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Context, Result};

use super::dockerconfig::{self, Found, Unusable};
use super::document::Document;
use super::select::{self, Pattern};
use crate::registry::ServerKey;
use crate::store::{Credential, Credentials, Put};

/// One credential to write.
pub(crate) struct Planned {
    pub(crate) key: ServerKey,
    spelling: String,
    found: Found,
}

impl Planned {
    pub(crate) fn username(&self) -> &str {
        &self.found.username
    }
}

/// What an import writes, and what it skips (with why).
pub(crate) struct Plan {
    /// By key, one per registry.
    pub(crate) planned: BTreeMap<String, Planned>,
    /// `spelling: why`, one per entry that cannot be imported.
    pub(crate) skipped: Vec<String>,
    /// How many of `skipped` a credential helper holds.
    pub(crate) held: usize,
}

/// The credential helper a docker config.json names for a registry, which
/// then holds the secret instead of the file (its empty `{}` entry is only a
/// marker). The caller finds it (`config::helper_of` has the lookup rule).
pub(crate) struct Holder {
    /// The helper's name: docker runs `docker-credential-NAME`.
    pub(crate) helper: String,
    /// The member naming it: `credsStore` or `credHelpers`.
    pub(crate) member: &'static str,
    /// Whether it is this helper, so the secret is in our store already.
    pub(crate) ours: bool,
}

impl Holder {
    /// Why the entry `spelling` is skipped, and what to use instead.
    fn skip_reason(&self, spelling: &str) -> String {
        let Holder { helper, member, .. } = self;
        if self.ours {
            return format!(
                "{spelling}: held by the credential helper `{helper}` ({member}), this one: \
                 nothing to import (`export` makes a pull secret from the store)"
            );
        }
        let server = shell_word(spelling).unwrap_or("SERVER");
        let name = shell_word(helper).unwrap_or("NAME");
        format!(
            "{spelling}: held by the credential helper `{helper}` ({member}), not in the file: \
             copy it into this store with `echo {server} | docker-credential-{name} get | {} store`",
            crate::BINARY_NAME
        )
    }
}

/// `text` when a shell reads it as one plain word, so a command shown for
/// copying cannot run anything else; `None` otherwise.
fn shell_word(text: &str) -> Option<&str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._~:/+=-".contains(c);
    (!text.is_empty() && !text.starts_with('-') && text.chars().all(plain)).then_some(text)
}

impl Plan {
    /// The entries of `doc` selected by `patterns` (all when empty). An entry
    /// without a secret that `holder` names a credential helper for is
    /// skipped naming it. Refuses one registry with two different
    /// credentials, and a pattern that matches nothing (`source` names the
    /// input in that error).
    pub(crate) fn new(
        doc: &Document,
        patterns: &[Pattern],
        source: &str,
        holder: &dyn Fn(&ServerKey) -> Option<Holder>,
    ) -> Result<Plan> {
        let mut planned: BTreeMap<String, Planned> = BTreeMap::new();
        let mut skipped: Vec<String> = Vec::new();
        let mut held: Vec<ServerKey> = Vec::new();
        for (spelling, value) in doc.entries()? {
            let bad = |e: &dyn std::fmt::Display| anyhow!("entry {:?}: {e}", entry_name(&spelling));
            let key = ServerKey::parse(&spelling).map_err(|e| bad(&e))?;
            crate::registry::check_server_url_length(&spelling).map_err(|e| bad(&e))?;
            let found = match dockerconfig::read_entry(&spelling, &value)? {
                Ok(found) => found,
                Err(why) => {
                    match holder(&key).filter(|_| why == Unusable::NoAuth) {
                        Some(h) => {
                            skipped.push(h.skip_reason(&spelling));
                            held.push(key);
                        }
                        None => skipped.push(format!("{spelling}: {why}")),
                    }
                    continue;
                }
            };
            crate::registry::check_username_length(&found.username).map_err(|e| bad(&e))?;
            if let Some(why) = dockerconfig::unrepresentable_username(&found.username) {
                skipped.push(format!("{spelling}: {why}"));
                continue;
            }
            if !select::selected(patterns, key.as_str()) {
                continue;
            }
            if let Some(other) = planned.get(key.as_str()) {
                if other.found.username != found.username || other.found.password != found.password
                {
                    bail!(
                        "entries {:?} and {spelling:?} are the same registry ({key}) with different credentials: remove one and import again",
                        other.spelling
                    );
                }
                continue;
            }
            planned.insert(
                key.as_str().to_owned(),
                Planned {
                    key,
                    spelling,
                    found,
                },
            );
        }
        // A registry a helper holds is found, just not importable: its skip line says why.
        let found = planned.keys().map(String::as_str);
        check_patterns(
            patterns,
            found.chain(held.iter().map(ServerKey::as_str)),
            source,
        )?;
        Ok(Plan {
            planned,
            skipped,
            held: held.len(),
        })
    }

    /// Writes every planned credential in one all-or-nothing batch
    /// ([`Credentials::put_all`]: one lock, one index save). Returns how many were
    /// added and which keys were replaced.
    pub(crate) fn write(&self, store: &Credentials) -> Result<(usize, BTreeSet<String>)> {
        let planned = &self.planned;
        // Which keys are already stored: the index alone, no secret read.
        let stored = store.index_view()?.credentials;
        let replaced: BTreeSet<String> = planned
            .values()
            .filter(|p| stored.contains_key(p.key.as_str()))
            .map(|p| p.key.as_str().to_owned())
            .collect();
        let credentials: Vec<Credential> = planned
            .values()
            .map(|p| Credential {
                server_url: p.spelling.clone(),
                username: p.found.username.clone(),
                secret: p.found.password.clone(),
            })
            .collect();
        let puts: Vec<Put> = planned
            .values()
            .zip(&credentials)
            .map(|(p, credential)| Put {
                key: &p.key,
                credential,
                email: Some(&p.found.email),
            })
            .collect();
        store.put_all(&puts).context("nothing was imported")?;
        Ok((planned.len() - replaced.len(), replaced))
    }
}

/// An entry's key as an error names it: without `user:password@`, and cut
/// when it is too long to read.
fn entry_name(spelling: &str) -> String {
    crate::printable::clipped(&crate::registry::shown(spelling), 80).into_owned()
}

/// Refuses a pattern that matches none of `keys`.
fn check_patterns<'a>(
    patterns: &[Pattern],
    keys: impl Iterator<Item = &'a str> + Clone,
    source: &str,
) -> Result<()> {
    for pattern in patterns {
        if !keys.clone().any(|k| pattern.matches(k)) {
            bail!(
                "--registry {:?} matches no importable entry in {}",
                pattern.raw,
                source
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str, patterns: &[&str]) -> Result<Plan> {
        let patterns: Vec<Pattern> = patterns
            .iter()
            .map(|p| Pattern::parse(p).unwrap())
            .collect();
        Plan::new(
            &Document::parse(text).unwrap(),
            &patterns,
            "input.json",
            &|_| None,
        )
    }

    #[test]
    fn plans_one_per_registry_and_says_what_it_skips() {
        // "Ym90OnB3" is bot:pw; the second spelling of quay.io is the same credential.
        let text = r#"{"auths":{"quay.io":{"auth":"Ym90OnB3"},"https://quay.io":{"auth":"Ym90OnB3"},"empty.example.com":{}}}"#;
        let plan = plan(text, &[]).unwrap();
        assert_eq!(plan.planned.keys().collect::<Vec<_>>(), ["quay.io"]);
        assert_eq!(plan.planned["quay.io"].username(), "bot");
        assert_eq!(plan.skipped.len(), 1, "{:?}", plan.skipped);
        assert!(plan.skipped[0].starts_with("empty.example.com: "));
    }

    #[test]
    fn refuses_conflicts_and_patterns_matching_nothing() {
        let two =
            r#"{"auths":{"quay.io":{"auth":"Ym90OnB3"},"https://quay.io":{"auth":"Ym90OnF3"}}}"#;
        let err = plan(two, &[]).err().unwrap().to_string();
        assert!(err.contains("different credentials"), "{err}");
        let one = r#"{"auths":{"quay.io":{"auth":"Ym90OnB3"}}}"#;
        let err = plan(one, &["ghcr.io"]).err().unwrap().to_string();
        assert!(
            err.contains("matches no importable entry in input.json"),
            "{err}"
        );
    }

    /// Empty entries a helper holds are skipped naming it and what to use
    /// instead: `export` for this helper, a pipe from the other helper's
    /// `get` into `store` (shown only with shell-safe words); a `--registry`
    /// naming one is answered by that line, not refused.
    #[test]
    fn entries_held_by_a_helper_name_it() {
        let text = r#"{"auths":{"quay.io":{},"ghcr.io":{},"bad.io/$(x)":{},"plain.io":{"auth":"Ym90OnB3"}},"credsStore":"keyring"}"#;
        let holder = |key: &ServerKey| {
            let (helper, member) = match key.host() {
                "quay.io" => ("keyring", "credsStore"),
                _ => ("desk top", "credHelpers"),
            };
            Some(Holder {
                helper: helper.to_owned(),
                member,
                ours: helper == "keyring",
            })
        };
        let patterns = [Pattern::parse("quay.io").unwrap()];
        let doc = Document::parse(text).unwrap();
        let plan = Plan::new(&doc, &patterns, "config.json", &holder).unwrap();
        assert!(plan.planned.is_empty());
        assert_eq!(plan.held, 3);
        assert_eq!(
            plan.skipped,
            [
                "quay.io: held by the credential helper `keyring` (credsStore), this one: nothing to import (`export` makes a pull secret from the store)",
                "ghcr.io: held by the credential helper `desk top` (credHelpers), not in the file: copy it into this store with `echo ghcr.io | docker-credential-NAME get | docker-credential-keyring store`",
                "bad.io/$(x): held by the credential helper `desk top` (credHelpers), not in the file: copy it into this store with `echo SERVER | docker-credential-NAME get | docker-credential-keyring store`",
            ]
        );
        // Without a helper the old reason stays.
        let plan = Plan::new(&doc, &[], "config.json", &|_| None).unwrap();
        assert_eq!(plan.held, 0);
        assert!(plan.skipped[0].ends_with("no auth, username or password in the entry"));
    }
}
