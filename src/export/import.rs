//! A pull secret or docker config.json read into the store (`import`):
//! every entry validated and planned before the first write, then written in
//! one all-or-nothing batch ([`Credentials::put_all`]).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Context, Result};

use super::dockerconfig::{self, Found};
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
}

impl Plan {
    /// The entries of `doc` selected by `patterns` (all when empty). Refuses
    /// one registry with two different credentials, and a pattern that
    /// matches nothing (`source` names the input in that error).
    pub(crate) fn new(doc: &Document, patterns: &[Pattern], source: &str) -> Result<Plan> {
        let mut planned: BTreeMap<String, Planned> = BTreeMap::new();
        let mut skipped: Vec<String> = Vec::new();
        for (spelling, value) in doc.entries()? {
            let key = ServerKey::parse(&spelling)
                .map_err(|e| anyhow!("entry {:?}: {e}", crate::registry::shown(&spelling)))?;
            let found = match dockerconfig::read_entry(&spelling, &value)? {
                Ok(found) => found,
                Err(why) => {
                    skipped.push(format!("{spelling}: {why}"));
                    continue;
                }
            };
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
        for pattern in patterns {
            if !planned.keys().any(|k| pattern.matches(k)) {
                bail!(
                    "--registry {:?} matches no importable entry in {}",
                    pattern.raw,
                    source
                );
            }
        }
        Ok(Plan { planned, skipped })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str, patterns: &[&str]) -> Result<Plan> {
        let patterns: Vec<Pattern> = patterns
            .iter()
            .map(|p| Pattern::parse(p).unwrap())
            .collect();
        Plan::new(&Document::parse(text).unwrap(), &patterns, "input.json")
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
}
