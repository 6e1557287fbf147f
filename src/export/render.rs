//! One export, rendered: the selected entries as the requested output (a raw
//! payload, a Secret or a v1 List of them with linked ServiceAccounts, the
//! `kubectl patch` link commands, or an existing pull secret merged or
//! patched). Pure: the caller reads the store and the inputs and writes the text.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use base64::Engine;
use serde_json::Value;

use super::document::{self, Document, Metadata};
use super::link::LiveServiceAccount;
use super::link_script::{self, LinkFor};
use super::manifest::{self, Syntax};
use super::{dockerconfig, kube_name, Entry, PayloadKind};
use crate::registry::ServerKey;

/// What a fresh export (without `--merge`) writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The raw `{"auths":{...}}` payload.
    DockerConfigJson,
    /// The legacy `.dockercfg` map.
    DockerCfg,
    /// A whole v1 Secret (or a v1 List of them).
    Secret,
}

/// An existing pull secret to update (`--merge`).
#[derive(Debug, Clone)]
pub(crate) struct Merge {
    pub(crate) document: Document,
    /// What the merged Secret (or the patch) keeps of its metadata.
    pub(crate) metadata: Metadata,
    /// A JSON merge patch of `data` (guarded by the resourceVersion) instead
    /// of the whole document (`--patch`).
    pub(crate) patch: bool,
    /// The registries whose entries may be replaced although they belong to
    /// another username (`--replace`).
    pub(crate) replace: Vec<ServerKey>,
}

/// Everything an export's output depends on, besides the entries.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) format: Format,
    /// Secret name.
    pub(crate) name: String,
    /// One Secret per namespace; none: kubectl's current namespace.
    pub(crate) namespaces: Vec<String>,
    /// A `kubernetes.io/dockercfg` Secret.
    pub(crate) legacy: bool,
    pub(crate) syntax: Syntax,
    /// `[NAMESPACE/]NAME` of each service account to link the Secret to.
    pub(crate) link_service_accounts: Vec<String>,
    /// The live ServiceAccounts to put in the output, linked.
    pub(crate) live_service_accounts: Option<Vec<LiveServiceAccount>>,
    /// Output only the `kubectl patch` link commands.
    pub(crate) link_commands_only: bool,
    /// Which ServiceAccount lists the link commands touch (`--for`; the
    /// `--service-accounts` output links for pull only).
    pub(crate) link_for: LinkFor,
    /// The commands unlink instead (`--unlink`, with the commands only).
    pub(crate) unlink: bool,
    /// The program the link script calls (`kubectl`, `oc`, ...; see [`super::kubectl`]).
    pub(crate) program: String,
    /// How long each link waits for its ServiceAccount, in seconds (`--wait`).
    pub(crate) wait: u32,
    /// Update this pull secret instead of writing a new one.
    pub(crate) merge: Option<Merge>,
    /// `--split`: one Secret per registry, as (Secret name, registry key),
    /// instead of one Secret named `name` holding every entry.
    pub(crate) split: Vec<(String, String)>,
}

/// The output, and the lines of the link script to show beside it (on
/// stderr) when the service accounts are to be linked by hand after applying
/// the Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub(crate) text: String,
    pub(crate) link_by_hand: Vec<String>,
    /// What the output changed or cannot promise, for stderr (`note: ...`).
    pub(crate) notes: Vec<String>,
    /// `--merge`: what the merge did, one line per registry, for stderr.
    pub(crate) merge_report: Vec<String>,
}

/// Renders `entries` (by config key, see [`super::collect`]) as `request` asks.
pub(crate) fn render(request: &Request, entries: &BTreeMap<String, Entry>) -> Result<Rendered> {
    match &request.merge {
        Some(merge) => merged(merge, entries),
        None => fresh(request, entries),
    }
}

/// `--merge`: the document with our entries merged in, or the patch of its
/// `data`. Both carry the Secret's `resourceVersion` (unless
/// `--last-writer-wins`), so the API server refuses the write (409) when the
/// Secret changed since it was read, and neither carries the last-applied
/// copy of the old payload.
fn merged(merge: &Merge, entries: &BTreeMap<String, Entry>) -> Result<Rendered> {
    let doc = &merge.document;
    let (payload, merge_report) = doc.merged_payload(&super::entry_map(entries), &merge.replace)?;
    let mut notes = doc.opaque_notes();
    if doc.has_last_applied() {
        notes.push(format!(
            "removed the {} annotation: it held a copy of the old pull secret (write the result with `kubectl replace`, which makes no new copy)",
            document::LAST_APPLIED
        ));
    }
    let guarded = merge.metadata != Metadata::Unguarded;
    if guarded && doc.resource_version().is_none() && (doc.is_secret() || merge.patch) {
        notes.push("the input has no metadata.resourceVersion, so the write cannot detect a concurrent change: read the Secret with `kubectl get secret/NAME -o json`".to_owned());
    }
    let text = if merge.patch {
        let data_key = doc.payload_kind().data_key();
        let encoded = dockerconfig::B64.encode(dockerconfig::payload_bytes(&payload));
        let mut metadata = serde_json::Map::new();
        if let Some(version) = doc.resource_version().filter(|_| guarded) {
            metadata.insert("resourceVersion".into(), Value::String(version.to_owned()));
        }
        if doc.has_last_applied() {
            metadata.insert(
                "annotations".into(),
                serde_json::json!({ document::LAST_APPLIED: null }),
            );
        }
        let mut patch = serde_json::Map::new();
        if !metadata.is_empty() {
            patch.insert("metadata".into(), Value::Object(metadata));
        }
        patch.insert("data".into(), serde_json::json!({ data_key: encoded }));
        format!("{}\n", crate::gojson::to_string(&Value::Object(patch)))
    } else {
        doc.render_with(&payload, merge.metadata)?
    };
    Ok(Rendered {
        text,
        link_by_hand: Vec::new(),
        notes,
        merge_report,
    })
}

/// The output of an export without --merge.
fn fresh(request: &Request, entries: &BTreeMap<String, Entry>) -> Result<Rendered> {
    let kind = match request.format {
        Format::DockerCfg => PayloadKind::DockerCfg,
        Format::Secret if request.legacy => PayloadKind::DockerCfg,
        _ => PayloadKind::DockerConfigJson,
    };
    let payload = dockerconfig::payload_bytes(&dockerconfig::payload_value(kind, entries));
    let targets = link_targets(request)?;
    let script = link_script::script(
        &targets,
        &secret_names(request),
        &link_script::Options {
            program: request.program.clone(),
            to: request.link_for,
            unlink: request.unlink,
            wait: request.wait,
        },
    );
    let text_only = |text: String| Rendered {
        text,
        link_by_hand: Vec::new(),
        notes: Vec::new(),
        merge_report: Vec::new(),
    };
    if request.link_commands_only {
        return Ok(text_only(script));
    }
    if request.format != Format::Secret {
        return Ok(text_only(payload));
    }
    let namespaces: Vec<Option<&str>> = if request.namespaces.is_empty() {
        vec![None]
    } else {
        request
            .namespaces
            .iter()
            .map(|n| Some(n.as_str()))
            .collect()
    };
    let mut secrets: Vec<Value> = if request.split.is_empty() {
        namespaces
            .iter()
            .map(|ns| manifest::secret(&request.name, *ns, kind, &payload))
            .collect()
    } else {
        split_secrets(request, entries, kind, &namespaces)?
    };
    let mut link_by_hand = Vec::new();
    match &request.live_service_accounts {
        Some(live) => secrets.extend(linked_service_accounts(request, &targets, live)?),
        None if !targets.is_empty() => {
            link_by_hand = script.lines().map(str::to_owned).collect();
        }
        None => {}
    }
    let object = if secrets.len() == 1 && request.link_service_accounts.is_empty() {
        secrets.remove(0)
    } else {
        manifest::list(secrets)
    };
    Ok(Rendered {
        text: manifest::render_built(&object, request.syntax),
        link_by_hand,
        notes: Vec::new(),
        merge_report: Vec::new(),
    })
}

/// `--split`: for each namespace, one Secret per (name, registry key), each
/// holding only that registry's entry (the seed layout of a registry and its
/// auth server in two Secrets).
fn split_secrets(
    request: &Request,
    entries: &BTreeMap<String, Entry>,
    kind: PayloadKind,
    namespaces: &[Option<&str>],
) -> Result<Vec<Value>> {
    let mut one_each = Vec::new();
    for (name, key) in &request.split {
        let (config_key, entry) = entries
            .iter()
            .find(|(k, _)| crate::registry::ServerKey::parse(k).is_ok_and(|s| s.as_str() == key))
            .ok_or_else(|| {
                anyhow!(
                    "--split {name}={key}: nothing to export for {key} (see the warnings above)"
                )
            })?;
        let single = BTreeMap::from([(config_key.clone(), entry.clone())]);
        let payload = dockerconfig::payload_bytes(&dockerconfig::payload_value(kind, &single));
        one_each.push((name, payload));
    }
    Ok(namespaces
        .iter()
        .flat_map(|ns| {
            one_each
                .iter()
                .map(|(name, payload)| manifest::secret(name, *ns, kind, payload))
        })
        .collect())
}

/// The Secrets to link: each `--split` Secret, or the one named `--name`.
fn secret_names(request: &Request) -> Vec<&str> {
    if request.split.is_empty() {
        vec![request.name.as_str()]
    } else {
        request
            .split
            .iter()
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// Every `--link-service-account` as (namespace, service account): `NS/SA`,
/// or `SA` in each `--namespace` (none: kubectl's current namespace).
fn link_targets(request: &Request) -> Result<Vec<link_script::Target>> {
    let mut out = Vec::new();
    for spec in &request.link_service_accounts {
        let (ns, sa) = match spec.split_once('/') {
            Some((ns, sa)) => (Some(ns), sa),
            None => (None, spec.as_str()),
        };
        kube_name::check_object_name("--link-service-account", sa)?;
        match ns {
            Some(ns) => {
                kube_name::check_namespace("--link-service-account namespace", ns)?;
                if !request.namespaces.is_empty() && !request.namespaces.iter().any(|n| n == ns) {
                    bail!("--link-service-account {spec}: the Secret is not exported to namespace {ns:?}; add --namespace {ns}");
                }
                out.push((Some(ns.to_owned()), sa.to_owned()));
            }
            None if request.namespaces.is_empty() => out.push((None, sa.to_owned())),
            None => out.extend(
                request
                    .namespaces
                    .iter()
                    .map(|ns| (Some(ns.clone()), sa.to_owned())),
            ),
        }
    }
    Ok(out)
}

/// The ServiceAccount objects for `--service-accounts`: each link target's
/// live ServiceAccount with every Secret added (see [`super::link`]).
fn linked_service_accounts(
    request: &Request,
    targets: &[link_script::Target],
    live: &[LiveServiceAccount],
) -> Result<Vec<Value>> {
    if request.namespaces.is_empty() {
        bail!("--service-accounts needs the Secret's namespace: pass --namespace, so the Secret lands where the ServiceAccounts are");
    }
    targets
        .iter()
        .map(|(ns, sa)| {
            // With --namespace given, every target has one (see link_targets).
            let Some(ns) = ns else {
                bail!("--link-service-account {sa}: no namespace; pass --namespace");
            };
            let found = live
                .iter()
                .find(|l| &l.namespace == ns && &l.name == sa)
                .ok_or_else(|| {
                    anyhow!(
                        "--link-service-account {ns}/{sa}: no such ServiceAccount in the --service-accounts input; add it: kubectl get serviceaccount {sa} -n {ns} -o json"
                    )
                })?;
            Ok(found.linked(&secret_names(request)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> BTreeMap<String, Entry> {
        BTreeMap::from([(
            "quay.io".to_owned(),
            Entry::Password {
                username: "bot".into(),
                password: "pw".into(),
                email: None,
            },
        )])
    }

    fn request(format: Format) -> Request {
        Request {
            format,
            name: "pull-secret".into(),
            namespaces: Vec::new(),
            legacy: false,
            syntax: Syntax::Json,
            link_service_accounts: Vec::new(),
            live_service_accounts: None,
            link_commands_only: false,
            link_for: LinkFor::PULL,
            unlink: false,
            program: "kubectl".into(),
            wait: 60,
            merge: None,
            split: Vec::new(),
        }
    }

    #[test]
    fn payload_secret_and_list() {
        let raw = render(&request(Format::DockerConfigJson), &entries()).unwrap();
        let payload: Value = serde_json::from_str(&raw.text).unwrap();
        assert_eq!(payload["auths"]["quay.io"]["username"], "bot");
        assert_eq!(payload["auths"]["quay.io"]["auth"], "Ym90OnB3");

        let mut two = request(Format::Secret);
        two.namespaces = vec!["a".into(), "b".into()];
        two.link_service_accounts = vec!["default".into()];
        let out = render(&two, &entries()).unwrap();
        let list: Value = serde_json::from_str(&out.text).unwrap();
        assert_eq!(list["kind"], "List");
        assert_eq!(list["items"][1]["metadata"]["namespace"], "b");
        let script = out.link_by_hand.join("\n");
        assert!(
            script.contains("\ndck_link kubectl a default pull 60 pull-secret || dck_rc=1\ndck_link kubectl b default"),
            "{script}"
        );

        let mut bad = request(Format::Secret);
        bad.link_service_accounts = vec!["Bad/sa".into()];
        let err = render(&bad, &entries()).unwrap_err().to_string();
        assert!(err.contains("is not a valid Kubernetes name"), "{err}");
    }

    #[test]
    fn merge_patch_is_the_base64_payload() {
        let doc = Document::parse(r#"{"auths":{"other.example.com":{"auth":"eDp5"}}}"#).unwrap();
        let mut patch = request(Format::DockerConfigJson);
        patch.merge = Some(Merge {
            document: doc,
            metadata: Metadata::Guarded,
            patch: true,
            replace: Vec::new(),
        });
        let out = render(&patch, &entries()).unwrap();
        let value: Value = serde_json::from_str(&out.text).unwrap();
        let bytes = dockerconfig::B64
            .decode(value["data"][".dockerconfigjson"].as_str().unwrap())
            .unwrap();
        let payload: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(payload["auths"]["other.example.com"]["auth"], "eDp5");
        assert_eq!(payload["auths"]["quay.io"]["auth"], "Ym90OnB3");
    }

    /// A Secret that went through client-side `kubectl apply` holds its old
    /// payload in an annotation: the merge and the patch both drop it, keep
    /// the version read, and say so.
    #[test]
    fn merge_drops_the_last_applied_copy_and_keeps_the_version() {
        let payload = dockerconfig::B64.encode(r#"{"auths":{"quay.io":{"auth":"Ym90Om9sZA=="}}}"#);
        let secret = serde_json::json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "ps", "resourceVersion": "7", "annotations": {
                document::LAST_APPLIED: format!("{{\"data\":{{\".dockerconfigjson\":\"{payload}\"}}}}")}},
            "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": payload}});
        for patch in [false, true] {
            let mut req = request(Format::DockerConfigJson);
            req.merge = Some(Merge {
                document: Document::parse(&secret.to_string()).unwrap(),
                metadata: Metadata::Guarded,
                patch,
                replace: Vec::new(),
            });
            let out = render(&req, &entries()).unwrap();
            let value: Value = serde_json::from_str(&out.text).unwrap();
            assert_eq!(value["metadata"]["resourceVersion"], "7", "{value}");
            let annotations = &value["metadata"]["annotations"];
            if patch {
                assert_eq!(annotations[document::LAST_APPLIED], Value::Null);
                assert!(annotations.get(document::LAST_APPLIED).is_some(), "{value}");
            } else {
                assert!(annotations.is_null(), "{value}");
            }
            assert!(!out.text.contains("Ym90Om9sZA"), "{}", out.text);
            assert!(out.notes[0].contains("removed the"), "{:?}", out.notes);
        }
    }
}
