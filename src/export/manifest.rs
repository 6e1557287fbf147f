//! Kubernetes objects we print: the pull Secret, a `v1` List of objects and
//! the RoleBinding of `grant-pull` (the link script is
//! [`super::link_script`]'s). JSON is printed as kubectl prints it (4-space
//! indent, fields kind, apiVersion, metadata, ...); YAML via [`super::yaml`].

use base64::Engine;
use serde_json::{json, Map, Value};

use super::dockerconfig::{PayloadKind, B64};
use super::grant::PullSubject;

/// How a manifest is written (the syntax documents are read in, too).
pub(crate) use crate::reader::Syntax;

/// `value` as text: JSON indented like `kubectl -o json`, or YAML; trailing newline.
pub(crate) fn render(value: &Value, syntax: Syntax) -> String {
    match syntax {
        Syntax::Json => {
            // kubectl's printer: json.MarshalIndent with four spaces, Go's escaping.
            let mut text = crate::gojson::to_string_indent(value, "    ");
            text.push('\n');
            text
        }
        Syntax::Yaml => super::yaml::to_string(value),
    }
}

/// An object we built, as text: JSON in the order built (kubectl's field
/// order), YAML with keys sorted at every level (kubectl's YAML order).
/// Documents read from outside keep their order ([`render`]).
pub(crate) fn render_built(value: &Value, syntax: Syntax) -> String {
    match syntax {
        Syntax::Json => render(value, syntax),
        Syntax::Yaml => render(&sorted(value), syntax),
    }
}

/// A `v1` Secret carrying `payload` (the payload's bytes, base64 in `data`).
pub(crate) fn secret(
    name: &str,
    namespace: Option<&str>,
    kind: PayloadKind,
    payload: &str,
) -> Value {
    let mut data = Map::new();
    data.insert(
        kind.data_key().to_owned(),
        Value::String(B64.encode(payload)),
    );
    json!({
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": metadata(name, namespace),
        "data": data,
        "type": kind.secret_type(),
    })
}

fn metadata(name: &str, namespace: Option<&str>) -> Value {
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(name.to_owned()));
    if let Some(ns) = namespace {
        meta.insert("namespace".into(), Value::String(ns.to_owned()));
    }
    Value::Object(meta)
}

/// A `v1` List holding `items` (kubectl apply/create unpack it client-side).
pub(crate) fn list(items: Vec<Value>) -> Value {
    json!({
        "kind": "List",
        "apiVersion": "v1",
        "metadata": {},
        "items": items,
    })
}

/// The ClusterRole that OpenShift's `oc policy add-role-to-user system:image-puller` binds.
pub(crate) const IMAGE_PULLER_ROLE: &str = "system:image-puller";

/// The RoleBinding `oc policy add-role-to-{user,group} system:image-puller ... -n to_namespace`
/// creates, under its own `name` so applying it never rewrites another binding's subjects.
pub(crate) fn role_binding(name: &str, to_namespace: &str, subject: &PullSubject) -> Value {
    let subject = match subject {
        PullSubject::ServiceAccount { namespace, name } => json!({
            "kind": "ServiceAccount",
            "name": name,
            "namespace": namespace,
        }),
        PullSubject::User(name) => json!({
            "kind": "User",
            "apiGroup": "rbac.authorization.k8s.io",
            "name": name,
        }),
        PullSubject::Group(name) => json!({
            "kind": "Group",
            "apiGroup": "rbac.authorization.k8s.io",
            "name": name,
        }),
    };
    json!({
        "kind": "RoleBinding",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": metadata(name, Some(to_namespace)),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": IMAGE_PULLER_ROLE,
        },
        "subjects": [subject],
    })
}

/// A copy of `value` with object keys sorted at every level (kubectl's YAML order).
pub(crate) fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
