//! Kubernetes objects we print: the pull Secret, a `v1` List of objects, the
//! RoleBinding of `grant-pull`, and the `kubectl patch` commands that link a
//! Secret to a ServiceAccount. JSON is printed as kubectl prints it (4-space
//! indent, fields kind, apiVersion, metadata, ...); YAML via [`super::yaml`].

use base64::Engine;
use serde_json::{json, Map, Value};

use super::dockerconfig::{PayloadKind, B64};

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

/// Who `grant-pull` lets pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PullSubject {
    /// One service account of the source namespace.
    ServiceAccount { namespace: String, name: String },
    /// Every service account of the source namespace (`system:serviceaccounts:NS`).
    AllServiceAccounts { namespace: String },
}

impl PullSubject {
    /// The RoleBinding's own name when none is given:
    /// `image-puller-<from>[-<service account>]`.
    pub(crate) fn binding_name(&self) -> String {
        match self {
            PullSubject::AllServiceAccounts { namespace } => format!("image-puller-{namespace}"),
            PullSubject::ServiceAccount { namespace, name } => {
                format!("image-puller-{namespace}-{name}")
            }
        }
    }
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
        PullSubject::AllServiceAccounts { namespace } => json!({
            "kind": "Group",
            "apiGroup": "rbac.authorization.k8s.io",
            "name": format!("system:serviceaccounts:{namespace}"),
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

/// Which ServiceAccount lists a link touches, as `oc secrets link --for`
/// names them: `pull` is `imagePullSecrets`, `mount` is `secrets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkFor {
    pub(crate) pull: bool,
    pub(crate) mount: bool,
}

impl LinkFor {
    /// `oc`'s default.
    pub(crate) const PULL: LinkFor = LinkFor {
        pull: true,
        mount: false,
    };

    fn fields(self) -> impl Iterator<Item = &'static str> {
        [
            self.pull.then_some("imagePullSecrets"),
            self.mount.then_some("secrets"),
        ]
        .into_iter()
        .flatten()
    }
}

/// The shell command that links (or with `unlink`, unlinks) `secret` to the
/// lists `to` names of service account `sa` in `namespace` (the current
/// context's when `None`), one list after the other.
///
/// `ServiceAccount.imagePullSecrets` and `secrets` are atomic lists (no
/// strategic-merge key), so `kubectl apply` of a ServiceAccount would replace
/// a whole list and drop e.g. OpenShift's `default-dockercfg-*` entry. Each
/// step instead:
/// 1. (link) refuses a Secret that is not on the cluster, as `oc secrets
///    link` does, kubectl's `NotFound` error being the message;
/// 2. reads the ServiceAccount's `resourceVersion` and the list in one `get`;
/// 3. link: does nothing when the Secret is listed; appends it with a JSON
///    patch; or, when there is no list, creates it with a JSON patch whose
///    `test` of that `resourceVersion` refuses the write if the ServiceAccount
///    changed since the read (a list that appeared meanwhile is never
///    overwritten). Unlink: removes the entry at the index read, guarded by a
///    `test` of its name there; nothing when it is not listed.
///
/// Every patch is valid under strict RFC 6902 (no `test` of a path that may
/// be missing). It runs in a subshell, so pasting it leaves the shell's
/// arguments alone.
pub(crate) fn link_commands(
    namespace: Option<&str>,
    sa: &str,
    secret: &str,
    to: LinkFor,
    unlink: bool,
) -> String {
    let item = json!({"name": secret});
    let ns = namespace
        .map(|ns| format!(" -n {}", shell_quote(ns)))
        .unwrap_or_default();
    let target = format!("serviceaccount {}{ns}", shell_quote(sa));
    let secret_q = shell_quote(secret);
    let patch = |head: &str, tail: &str| {
        format!(
            "kubectl patch {target} --type=json -p {}\"$rv\"{}",
            shell_quote(head),
            shell_quote(tail)
        )
    };
    let steps: Vec<String> = to
        .fields()
        .map(|field| {
            let read = format!(
                "v=$(kubectl get {target} -o 'jsonpath={{.metadata.resourceVersion}} {{.{field}[*].name}}') && set -- $v && rv=$1 && shift"
            );
            if unlink {
                // $rv is reused for the index of the entry.
                let head = r#"[{"op":"test","path":"/"#.to_owned() + field + "/";
                let tail = format!(
                    r#"/name","value":{}}},{{"op":"remove","path":"/{field}/"#,
                    crate::gojson::to_string(&Value::String(secret.to_owned()))
                );
                return format!(
                    "{read} && rv=0 && for n in \"$@\"; do [ \"$n\" = {secret_q} ] && break; rv=$((rv+1)); done && if [ $rv -lt $# ]; then kubectl patch {target} --type=json -p {}\"$rv\"{}\"$rv\"{}; fi",
                    shell_quote(&head),
                    shell_quote(&tail),
                    shell_quote(r#""}]"#),
                );
            }
            let append = json!([{"op": "add", "path": format!("/{field}/-"), "value": item}]);
            let create_head = r#"[{"op":"test","path":"/metadata/resourceVersion","value":""#;
            let create_tail = format!(
                r#""}},{{"op":"add","path":"/{field}","value":[{}]}}]"#,
                crate::gojson::to_string(&item)
            );
            format!(
                "{read} && case \" $* \" in *{space_secret}*) ;; *) if [ $# -gt 0 ]; then kubectl patch {target} --type=json -p {append}; else {create}; fi ;; esac",
                space_secret = shell_quote(&format!(" {secret} ")),
                append = shell_quote(&crate::gojson::to_string(&append)),
                create = patch(create_head, &create_tail),
            )
        })
        .collect();
    let check = if unlink {
        String::new()
    } else {
        format!("kubectl get secret {secret_q}{ns} -o name >/dev/null && ")
    };
    format!("({check}{})", steps.join(" && "))
}

/// Single-quotes `s` for a POSIX shell when it needs quoting.
pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_command_quotes_the_patch() {
        let cmd = link_commands(
            Some("team-a"),
            "default",
            "pull-secret",
            LinkFor::PULL,
            false,
        );
        assert_eq!(
            cmd,
            r#"(kubectl get secret pull-secret -n team-a -o name >/dev/null && v=$(kubectl get serviceaccount default -n team-a -o 'jsonpath={.metadata.resourceVersion} {.imagePullSecrets[*].name}') && set -- $v && rv=$1 && shift && case " $* " in *' pull-secret '*) ;; *) if [ $# -gt 0 ]; then kubectl patch serviceaccount default -n team-a --type=json -p '[{"op":"add","path":"/imagePullSecrets/-","value":{"name":"pull-secret"}}]'; else kubectl patch serviceaccount default -n team-a --type=json -p '[{"op":"test","path":"/metadata/resourceVersion","value":"'"$rv"'"},{"op":"add","path":"/imagePullSecrets","value":[{"name":"pull-secret"}]}]'; fi ;; esac)"#
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
