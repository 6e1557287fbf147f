//! Someone else's pull secret, as `--merge` and `import` read it: a raw
//! `.dockerconfigjson` (or a docker `config.json`), a legacy `.dockercfg` map,
//! or a `v1` Secret in JSON or YAML (or a `v1` List of them, for `import`).
//! Every entry and field we do not own is kept as it came; the document is
//! written back in the shape and syntax it came in.
//!
//! The merge rule ([`super::merge`] applies it): each merged registry ends
//! under our key (the spelling `export` writes) with the new credential, and
//! every other key kubelet would use for the same images (the same host,
//! port and path scope, whatever the scheme, case, trailing slash or `/v1/`,
//! `/v2/` root: `http://HOST`, `HTTPS://HOST/`, `HOST/v2/`) is removed, so no
//! old password stays under another spelling. Other scopes (`HOST/org`,
//! another port) are other entries. An entry held by another username (or
//! one whose username cannot be read) is replaced only when `--replace HOST`
//! names it; otherwise the merge is refused and nothing is written.

use anyhow::{anyhow, bail, Result};
use base64::Engine;
use serde_json::{Map, Value};

use super::dockerconfig::{PayloadKind, B64};
use crate::reader::{self, Syntax};
use crate::registry::ServerKey;

/// Metadata the API server owns and rewrites on every write: kept out of
/// what we send back, so `kubectl` does not fight over managed fields.
pub(crate) const SERVER_METADATA: &[&str] = &["creationTimestamp", "managedFields"];

/// The write preconditions: with them in the object, the API server refuses
/// (409 Conflict) a write of a Secret that changed since it was read, or that
/// was deleted and recreated, instead of losing the other writer's change.
pub(crate) const PRECONDITIONS: &[&str] = &["resourceVersion", "uid"];

/// Client-side `kubectl apply` keeps the whole last applied object here,
/// for a pull secret a second copy of an old payload (its old passwords).
pub(crate) const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What a merged Secret keeps of its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metadata {
    /// Everything (`--keep-metadata`), but the last-applied copy.
    KeepAll,
    /// The preconditions, not the server-owned fields (the default).
    Guarded,
    /// Neither: the write replaces whatever is live (`--last-writer-wins`).
    Unguarded,
}

/// One deployed pull secret, as `audit` reads it.
#[derive(Debug)]
pub(crate) struct Deployed {
    /// `metadata.namespace`, `metadata.name`: `None` for a bare payload.
    pub(crate) namespace: Option<String>,
    pub(crate) name: Option<String>,
    /// Its registry entries `(key, entry object)` in document order, or why
    /// its payload cannot be read (the message never quotes the payload).
    pub(crate) entries: Result<Vec<(String, Value)>>,
}

/// Where the registry entries sit in the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// The payload itself.
    Raw(PayloadKind),
    /// A Secret whose `data` holds the payload.
    Secret(PayloadKind),
    /// A `v1` List of Secrets (import only).
    List,
}

/// A parsed input document.
#[derive(Debug, Clone)]
pub struct Document {
    pub(crate) syntax: Syntax,
    pub shape: Shape,
    /// The whole document as read.
    root: Value,
}

impl Document {
    /// Parses `text`: JSON when it starts with `{`, YAML otherwise.
    pub fn parse(text: &str) -> Result<Document> {
        let doc = Document::parse_unread(text)?;
        doc.entries()?; // validate the payload now, so errors come before any work
        Ok(doc)
    }

    /// [`Document::parse`] without reading the payloads: `audit` reports a
    /// bad one as a finding of its Secret ([`Document::deployed`]).
    pub(crate) fn parse_unread(text: &str) -> Result<Document> {
        let trimmed = text.trim_start_matches('\u{feff}').trim();
        if trimmed.is_empty() {
            bail!("the input is empty: expected a pull secret (JSON or YAML); if it was piped in, the command before the pipe printed nothing (did it fail?)");
        }
        let syntax = Syntax::guess(trimmed);
        let root = reader::parse(trimmed, syntax).map_err(|e| match syntax {
            Syntax::Json => anyhow!("the input is not valid JSON: {e}"),
            Syntax::Yaml => anyhow!("the input is not valid YAML (nor JSON): {e}"),
        })?;
        let shape = shape_of(&root)?;
        Ok(Document {
            syntax,
            shape,
            root,
        })
    }

    /// Each pull secret in the document, in order, with where it lives and
    /// its entries (or why they cannot be read), and how many of a List's
    /// items are no pull secrets (service-account tokens, TLS, a ConfigMap):
    /// `kubectl get secrets -A -o json` lists every type.
    pub(crate) fn deployed(&self) -> (Vec<Deployed>, usize) {
        let located = |secret: &Value, entries| Deployed {
            namespace: secret["metadata"]["namespace"].as_str().map(str::to_owned),
            name: secret["metadata"]["name"].as_str().map(str::to_owned),
            entries,
        };
        match &self.shape {
            Shape::Raw(_) => (
                vec![Deployed {
                    namespace: None,
                    name: None,
                    entries: self.entries(),
                }],
                0,
            ),
            Shape::Secret(_) => (vec![located(&self.root, self.entries())], 0),
            Shape::List => {
                let mut found = Vec::new();
                let mut skipped = 0;
                for item in self.root["items"].as_array().into_iter().flatten() {
                    let is_secret = matches!(item["kind"].as_str(), None | Some("Secret"));
                    let Some(kind) = secret_kind(item).ok().filter(|_| is_secret) else {
                        skipped += 1;
                        continue;
                    };
                    let label = secret_label(item);
                    let entries = secret_payload(item, kind)
                        .and_then(|p| auths_of(kind, &p, &label))
                        .map(|m| m.into_iter().collect());
                    found.push(located(item, entries));
                }
                (found, skipped)
            }
        }
    }

    /// The Secret's `metadata.resourceVersion`, if it has one.
    pub(crate) fn resource_version(&self) -> Option<&str> {
        match self.shape {
            Shape::Secret(_) => self.root["metadata"]["resourceVersion"]
                .as_str()
                .filter(|v| !v.is_empty()),
            _ => None,
        }
    }

    /// Whether the Secret carries the [`LAST_APPLIED`] annotation.
    pub(crate) fn has_last_applied(&self) -> bool {
        matches!(self.shape, Shape::Secret(_))
            && self.root["metadata"]["annotations"]
                .get(LAST_APPLIED)
                .is_some()
    }

    /// A note for each Opaque Secret the payload was read from: kubelet takes
    /// pull credentials only from the typed Secrets.
    pub(crate) fn opaque_notes(&self) -> Vec<String> {
        let secrets: Vec<&Value> = match self.shape {
            Shape::Secret(_) => vec![&self.root],
            Shape::List => self.root["items"]
                .as_array()
                .into_iter()
                .flatten()
                .collect(),
            Shape::Raw(_) => Vec::new(),
        };
        secrets
            .into_iter()
            .filter(|s| s["type"] == "Opaque")
            .map(|s| {
                format!(
                    "{} has type Opaque: its payload was read, and it stays Opaque, but kubelet pulls only with a Secret of type kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg",
                    secret_label(s)
                )
            })
            .collect()
    }

    /// Whether the document is a Secret (not a bare payload).
    pub(crate) fn is_secret(&self) -> bool {
        matches!(self.shape, Shape::Secret(_))
    }

    /// The top level of a raw `{"auths":...}` document, where a docker
    /// config.json names its credential helpers; `None` for other shapes.
    pub(crate) fn raw_config(&self) -> Option<&Map<String, Value>> {
        match self.shape {
            Shape::Raw(PayloadKind::DockerConfigJson) => self.root.as_object(),
            _ => None,
        }
    }

    /// The payload kind (for List: dockerconfigjson).
    pub(crate) fn payload_kind(&self) -> PayloadKind {
        match self.shape {
            Shape::Raw(k) | Shape::Secret(k) => k,
            Shape::List => PayloadKind::DockerConfigJson,
        }
    }

    /// Every registry entry, as `(key, entry object)`, in document order.
    pub fn entries(&self) -> Result<Vec<(String, Value)>> {
        match &self.shape {
            Shape::Raw(kind) => Ok(auths_of(*kind, &self.root, "the input")?
                .into_iter()
                .collect()),
            Shape::Secret(kind) => {
                let payload = secret_payload(&self.root, *kind)?;
                Ok(auths_of(*kind, &payload, &secret_label(&self.root))?
                    .into_iter()
                    .collect())
            }
            Shape::List => {
                let mut out = Vec::new();
                for item in self.root["items"].as_array().into_iter().flatten() {
                    let kind = secret_kind(item)?;
                    let payload = secret_payload(item, kind)?;
                    out.extend(auths_of(kind, &payload, &secret_label(item))?);
                }
                Ok(out)
            }
        }
    }

    /// Merges `ours` into the payload (see [`super::merge`]): each of our
    /// entries is written under our key and replaces every other spelling of
    /// the same registry; an entry of another username is replaced only when
    /// `replace` names its host. Foreign entries, unknown fields and other
    /// top-level keys stay as they were. Returns the new payload value and
    /// the report (one line per registry of `ours`).
    pub fn merged_payload(
        &self,
        ours: &Map<String, Value>,
        replace: &[ServerKey],
    ) -> Result<(Value, Vec<String>)> {
        let kind = self.payload_kind();
        let mut payload = match &self.shape {
            Shape::Raw(_) => self.root.clone(),
            Shape::Secret(k) => secret_payload(&self.root, *k)?,
            Shape::List => bail!("--merge takes one Secret, not a List: pick the Secret to update"),
        };
        let auths = match kind {
            PayloadKind::DockerConfigJson => payload
                .get_mut("auths")
                .and_then(Value::as_object_mut)
                .ok_or_else(|| anyhow!("the payload has no \"auths\" object"))?,
            PayloadKind::DockerCfg => payload
                .as_object_mut()
                .ok_or_else(|| anyhow!("the payload is not a JSON object"))?,
        };
        let (merged, report) = super::merge::merge_auths(auths, ours, replace)?;
        *auths = merged;
        Ok((payload, report))
    }

    /// The whole document with `payload` in place of its old one, rendered in
    /// the input's shape and syntax, its metadata trimmed as `metadata` says;
    /// the [`LAST_APPLIED`] annotation always goes.
    pub fn render_with(&self, payload: &Value, metadata: Metadata) -> Result<String> {
        match &self.shape {
            Shape::Raw(_) => Ok(super::dockerconfig::payload_bytes(payload)),
            Shape::Secret(kind) => {
                let mut root = self.root.clone();
                if let Some(meta) = root.get_mut("metadata").and_then(Value::as_object_mut) {
                    let dropped: &[&[&str]] = match metadata {
                        Metadata::KeepAll => &[],
                        Metadata::Guarded => &[SERVER_METADATA],
                        Metadata::Unguarded => &[SERVER_METADATA, PRECONDITIONS],
                    };
                    for field in dropped.iter().copied().flatten() {
                        meta.shift_remove(*field);
                    }
                    remove_last_applied(meta);
                }
                let bytes = super::dockerconfig::payload_bytes(payload);
                // Write back where the payload was: `data` (base64) or `stringData` (text).
                let (field, text) = if uses_string_data(&root, *kind) {
                    ("stringData", bytes)
                } else {
                    ("data", B64.encode(bytes))
                };
                let data = root
                    .get_mut(field)
                    .and_then(Value::as_object_mut)
                    .ok_or_else(|| anyhow!("the Secret has no {field}"))?;
                data.insert(kind.data_key().to_owned(), Value::String(text));
                Ok(super::manifest::render(&root, self.syntax))
            }
            Shape::List => bail!("--merge takes one Secret, not a List"),
        }
    }
}

/// Drops the [`LAST_APPLIED`] annotation (and `annotations` if nothing is left).
fn remove_last_applied(meta: &mut Map<String, Value>) {
    if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        annotations.shift_remove(LAST_APPLIED);
        if annotations.is_empty() {
            meta.shift_remove("annotations");
        }
    }
}

fn shape_of(root: &Value) -> Result<Shape> {
    let Some(obj) = root.as_object() else {
        bail!("wrong shape: expected a JSON/YAML object ({{\"auths\":{{...}}}}, a .dockercfg map or a Secret)");
    };
    match obj.get("kind").and_then(Value::as_str) {
        Some("Secret") => return Ok(Shape::Secret(secret_kind(root)?)),
        Some("List") if obj.get("items").is_some_and(Value::is_array) => return Ok(Shape::List),
        Some(other) => {
            bail!("wrong shape: a {other} is not a pull secret (expected a Secret of type kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg)")
        }
        _ => {}
    }
    if obj.contains_key("auths") {
        return Ok(Shape::Raw(PayloadKind::DockerConfigJson));
    }
    if obj.values().all(Value::is_object) {
        return Ok(Shape::Raw(PayloadKind::DockerCfg));
    }
    bail!("wrong shape: expected {{\"auths\":{{...}}}}, a .dockercfg map of registry entries, or a Secret")
}

fn secret_label(secret: &Value) -> String {
    match secret["metadata"]["name"].as_str() {
        Some(name) => format!("Secret {name:?}"),
        None => "the Secret".to_owned(),
    }
}

/// The payload kind of a Secret, from its `type`, or its data key when it
/// has none or is `Opaque` (a hand-made Secret holding a payload).
fn secret_kind(secret: &Value) -> Result<PayloadKind> {
    let label = secret_label(secret);
    let by_key = || {
        let has = |key: &str| {
            secret["data"].get(key).is_some() || secret["stringData"].get(key).is_some()
        };
        if has(".dockerconfigjson") {
            Some(PayloadKind::DockerConfigJson)
        } else if has(".dockercfg") {
            Some(PayloadKind::DockerCfg)
        } else {
            None
        }
    };
    match secret.get("type").and_then(Value::as_str) {
        Some("kubernetes.io/dockerconfigjson") => Ok(PayloadKind::DockerConfigJson),
        Some("kubernetes.io/dockercfg") => Ok(PayloadKind::DockerCfg),
        Some("Opaque") => by_key().ok_or_else(|| anyhow!(
            "{label} has type \"Opaque\" and no .dockerconfigjson or .dockercfg data: expected a pull secret"
        )),
        Some(other) => bail!(
            "{label} has type {other:?}: expected kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg"
        ),
        None => by_key().ok_or_else(|| {
            anyhow!("{label} has no type and no .dockerconfigjson or .dockercfg data")
        }),
    }
}

/// Whether a hand-written Secret carries its payload as text in `stringData`
/// (the API server merges it into `data`; `kubectl get` never prints it).
fn uses_string_data(secret: &Value, kind: PayloadKind) -> bool {
    secret["data"].get(kind.data_key()).is_none()
        && secret["stringData"].get(kind.data_key()).is_some()
}

/// The decoded payload of a Secret (from `data`, or `stringData` when only there).
fn secret_payload(secret: &Value, kind: PayloadKind) -> Result<Value> {
    let label = secret_label(secret);
    let key = kind.data_key();
    if secret["data"].get(key).is_some() && secret["stringData"].get(key).is_some() {
        // The API server lets stringData win: an edit of data would be lost.
        bail!("{label} holds {key} in both data and stringData (the API server keeps stringData's): remove one of them first");
    }
    if uses_string_data(secret, kind) {
        let text = secret["stringData"][key]
            .as_str()
            .ok_or_else(|| anyhow!("{label}: stringData.{key} is not a string"))?;
        return reader::parse(text, Syntax::Json)
            .map_err(|e| anyhow!("{label}: stringData.{key} is not JSON: {e}"));
    }
    let encoded = secret["data"][key]
        .as_str()
        .ok_or_else(|| anyhow!("{label} has no data.{key} (a string of base64)"))?;
    let bytes = B64
        .decode(encoded.trim())
        .map_err(|_| anyhow!("{label}: data.{key} is not valid base64"))?;
    let bytes = zeroize::Zeroizing::new(bytes);
    reader::parse_json_bytes(&bytes)
        .map_err(|e| anyhow!("{label}: data.{key} does not decode to JSON: {e}"))
}

/// The entry map of a payload, checked for shape.
fn auths_of(kind: PayloadKind, payload: &Value, label: &str) -> Result<Map<String, Value>> {
    let map = match kind {
        PayloadKind::DockerConfigJson => payload.get("auths").and_then(Value::as_object),
        PayloadKind::DockerCfg => payload.as_object(),
    };
    let Some(map) = map else {
        bail!(
            "{label}: wrong shape: expected {}",
            match kind {
                PayloadKind::DockerConfigJson => "{\"auths\":{...}} with an object of registries",
                PayloadKind::DockerCfg => "an object of registries",
            }
        );
    };
    if let Some((key, _)) = map.iter().find(|(_, v)| !v.is_object()) {
        bail!(
            "{label}: entry {:?} is not a JSON object",
            crate::registry::shown(key)
        );
    }
    Ok(map.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_recognised() {
        let raw = Document::parse(r#"{"auths":{"a.io":{"auth":"YTpi"}}}"#).unwrap();
        assert_eq!(raw.shape, Shape::Raw(PayloadKind::DockerConfigJson));
        let cfg = Document::parse(r#"{"a.io":{"auth":"YTpi"}}"#).unwrap();
        assert_eq!(cfg.shape, Shape::Raw(PayloadKind::DockerCfg));
        let yaml = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: e30=\n";
        let err = Document::parse(yaml).unwrap_err().to_string();
        assert!(err.contains("auths"), "{err}");
        assert!(Document::parse("kind: ConfigMap\n").is_err());
        assert!(Document::parse("[1]").is_err());
        assert!(Document::parse("   ").is_err());
    }

    #[test]
    fn a_payload_in_both_data_and_string_data_is_refused() {
        let doc = serde_json::json!({"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/dockerconfigjson",
            "metadata":{"name":"ps"},
            "data":{".dockerconfigjson": B64.encode(r#"{"auths":{}}"#)},
            "stringData":{".dockerconfigjson": r#"{"auths":{"reg.example":{"auth":"b3RoZXI6cHc="}}}"#}});
        let err = Document::parse(&doc.to_string())
            .and_then(|d| d.merged_payload(&Map::new(), &[]).map(|_| ()));
        let err = err.unwrap_err().to_string();
        assert!(err.contains("both data and stringData"), "{err}");
    }

    #[test]
    fn merge_keeps_foreign_fields_and_matches_other_spellings() {
        let doc = Document::parse(
            r#"{"auths":{"https://quay.io":{"auth":"dTpvbGQ=","email":"x@y","x-extra":1,"identitytoken":"old"},"foo.io":{"auth":"Zm9vOmJhcg==","weird":[1]}},"credsStore":"x"}"#,
        )
        .unwrap();
        let mut ours = Map::new();
        ours.insert(
            "quay.io".into(),
            serde_json::json!({"username":"u","password":"p","auth":"dTpw"}),
        );
        let (merged, report) = doc.merged_payload(&ours, &[]).unwrap();
        // Under our key, the other spelling gone, its other fields kept.
        assert_eq!(
            crate::gojson::to_string(&merged),
            r#"{"auths":{"foo.io":{"auth":"Zm9vOmJhcg==","weird":[1]},"quay.io":{"username":"u","password":"p","email":"x@y","auth":"dTpw","x-extra":1}},"credsStore":"x"}"#
        );
        assert_eq!(
            report,
            ["quay.io: updated (username u, new password); other spellings removed: https://quay.io"]
        );
    }

    /// Found by fuzzing: a number too big for an integer went through a
    /// merge as a float that read back as a neighbouring one (serde_json's
    /// fast float parser is not exact; its `float_roundtrip` feature is).
    #[test]
    fn merge_and_render_keep_numbers_of_foreign_fields() {
        let text = r#"{"auths":{"a.io":{"auth":"YTpi","n":66666666666666666666666666666666666666666,"f":0.1,"g":1.7976931348623157e308}}}"#;
        let doc = Document::parse(text).unwrap();
        let rendered = doc
            .render_with(
                &doc.merged_payload(&Map::new(), &[]).unwrap().0,
                Metadata::KeepAll,
            )
            .unwrap();
        let again = Document::parse(&rendered).unwrap();
        assert_eq!(
            again.entries().unwrap(),
            doc.entries().unwrap(),
            "{rendered}"
        );
    }
}
