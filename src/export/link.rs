//! Linking a pull Secret to ServiceAccounts by merging into their live state.
//!
//! `ServiceAccount.imagePullSecrets` has no strategic-merge key (the API marks
//! it atomic), so `kubectl apply` of a ServiceAccount replaces the whole list.
//! An applied object is safe only if it already holds every entry the live one
//! has: the user pipes the live ServiceAccounts in (`kubectl get serviceaccount
//! NAME -o json`), we add the Secret to each list and keep the live
//! `resourceVersion`. If the ServiceAccount changes between that `get` and
//! `kubectl apply`, kubectl sends the old `resourceVersion` with its patch and
//! the API server refuses it (409 Conflict) instead of losing the new entry.

use anyhow::{anyhow, bail, Result};
use serde_json::{json, Map, Value};

use crate::reader::{self, Syntax};

/// One live ServiceAccount as read: its identity and the whole object.
#[derive(Debug, Clone)]
pub struct LiveServiceAccount {
    pub(crate) namespace: String,
    pub(crate) name: String,
    object: Value,
}

/// The ServiceAccounts in `text`: JSON or YAML, one `ServiceAccount` or a
/// `List` of them (what `kubectl get serviceaccount A B -n NS -o json` prints).
pub fn parse_service_accounts(text: &str) -> Result<Vec<LiveServiceAccount>> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        bail!("the ServiceAccount input is empty: pipe in `kubectl get serviceaccount NAME -n NAMESPACE -o json`");
    }
    let syntax = Syntax::guess(trimmed);
    let root = reader::parse(trimmed, syntax).map_err(|e| match syntax {
        Syntax::Json => anyhow!("the ServiceAccount input is not valid JSON: {e}"),
        Syntax::Yaml => anyhow!("the ServiceAccount input is not valid JSON or YAML: {e}"),
    })?;
    let items = match root.get("kind").and_then(Value::as_str) {
        Some("ServiceAccount") => vec![root],
        Some("List" | "ServiceAccountList") => match root.get("items") {
            Some(Value::Array(items)) => items.clone(),
            _ => bail!("the ServiceAccount List has no \"items\" array"),
        },
        other => bail!(
            "expected a ServiceAccount or a List of them (kubectl get serviceaccount NAME -o json), got kind {}",
            other.map_or_else(|| "none".to_owned(), |k| format!("{k:?}"))
        ),
    };
    items.into_iter().map(live_service_account).collect()
}

fn live_service_account(object: Value) -> Result<LiveServiceAccount> {
    let kind = object.get("kind").and_then(Value::as_str);
    if kind != Some("ServiceAccount") {
        bail!("the List holds a {kind:?}, not a ServiceAccount");
    }
    let field = |name: &str| {
        object
            .pointer(&format!("/metadata/{name}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("a ServiceAccount has no metadata.{name}: pass objects as `kubectl get -o json` prints them"))
    };
    let (name, namespace) = (field("name")?, field("namespace")?);
    match object.get("imagePullSecrets") {
        None | Some(Value::Null) => {}
        Some(Value::Array(entries))
            if entries
                .iter()
                .all(|e| e.get("name").is_some_and(Value::is_string)) => {}
        Some(_) => bail!(
            "ServiceAccount {namespace}/{name}: imagePullSecrets is not a list of {{\"name\": ...}} entries"
        ),
    }
    Ok(LiveServiceAccount {
        namespace,
        name,
        object,
    })
}

impl LiveServiceAccount {
    /// The ServiceAccount to apply: every live `imagePullSecrets` entry, then
    /// each of `secrets` not already there; the live `resourceVersion` as the
    /// guard (one write for all of them). Nothing else of the live object, so
    /// `kubectl apply` claims only this list.
    pub fn linked(&self, secrets: &[&str]) -> Value {
        let mut pull: Vec<Value> = self
            .object
            .get("imagePullSecrets")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for secret in secrets {
            if !pull.iter().any(|e| e["name"] == *secret) {
                pull.push(json!({ "name": secret }));
            }
        }
        let mut metadata = Map::new();
        metadata.insert("name".into(), Value::String(self.name.clone()));
        metadata.insert("namespace".into(), Value::String(self.namespace.clone()));
        if let Some(version) = self.object.pointer("/metadata/resourceVersion") {
            metadata.insert("resourceVersion".into(), version.clone());
        }
        json!({
            "kind": "ServiceAccount",
            "apiVersion": "v1",
            "metadata": metadata,
            "imagePullSecrets": pull,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = r#"{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"default","namespace":"a","resourceVersion":"42","uid":"u-1"},"secrets":[{"name":"default-token-x"}],"imagePullSecrets":[{"name":"default-dockercfg-x"}]}"#;

    #[test]
    fn keeps_live_entries_and_adds_the_secret_once() {
        let live = &parse_service_accounts(LIVE).unwrap()[0];
        let sa = live.linked(&["pull-secret"]);
        assert_eq!(
            sa["imagePullSecrets"],
            json!([{"name": "default-dockercfg-x"}, {"name": "pull-secret"}])
        );
        assert_eq!(sa["metadata"]["resourceVersion"], "42");
        assert!(
            sa.get("secrets").is_none(),
            "only imagePullSecrets is claimed"
        );
        assert!(sa["metadata"].get("uid").is_none());
        let again = live.linked(&["default-dockercfg-x"]);
        assert_eq!(
            again["imagePullSecrets"],
            json!([{"name": "default-dockercfg-x"}])
        );
    }

    #[test]
    fn reads_lists_and_yaml_and_refuses_other_shapes() {
        let list = format!(r#"{{"kind":"List","apiVersion":"v1","items":[{LIVE}]}}"#);
        assert_eq!(parse_service_accounts(&list).unwrap().len(), 1);
        let yaml =
            "kind: ServiceAccount\napiVersion: v1\nmetadata:\n  name: builder\n  namespace: b\n";
        let sa = &parse_service_accounts(yaml).unwrap()[0];
        assert_eq!((sa.namespace.as_str(), sa.name.as_str()), ("b", "builder"));
        assert_eq!(
            sa.linked(&["p"])["imagePullSecrets"],
            json!([{"name": "p"}])
        );
        assert_eq!(
            sa.linked(&["p", "q", "p"])["imagePullSecrets"],
            json!([{"name": "p"}, {"name": "q"}])
        );
        for (bad, why) in [
            ("", "empty"),
            ("{", "not valid JSON"),
            (r#"{"kind":"Secret"}"#, "got kind \"Secret\""),
            (
                r#"{"kind":"List","items":[{"kind":"Secret"}]}"#,
                "not a ServiceAccount",
            ),
            (
                r#"{"kind":"ServiceAccount","metadata":{"name":"x"}}"#,
                "metadata.namespace",
            ),
            (
                r#"{"kind":"ServiceAccount","metadata":{"name":"x","namespace":"a"},"imagePullSecrets":["x"]}"#,
                "not a list",
            ),
        ] {
            let err = format!("{:#}", parse_service_accounts(bad).unwrap_err());
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
