//! The stateful half of the stub API server: live objects that writes change,
//! with what the real API server enforces for the requests our documented
//! flows send. Every write bumps `metadata.resourceVersion`; a write whose
//! resulting object carries another `resourceVersion` (a stale PUT body, a
//! merge or strategic-merge patch setting it, a JSON patch replacing it) or
//! another `uid` is refused with 409 Conflict, as the API server's update
//! does; a JSON patch (RFC 6902) is applied strictly: a `test` that
//! fails, or that names a missing path, and a `remove`/`replace` of a missing
//! path are refused with 422. Strategic merge patches are applied as JSON
//! merge patches with `$` directives ignored, which is what they mean for the
//! maps of a Secret and the atomic `imagePullSecrets` list of a
//! ServiceAccount. Server-side apply is not implemented (415). Any path can
//! hold an object, so `get --raw` of an API group (OpenShift's
//! `/apis/image.openshift.io`) is served by creating one there; a test can
//! have another writer change an object right before the next write to it
//! ([`State::before_next_write`]).

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Another writer's change to an object, made just before a write reaches it.
pub type Change = Box<dyn FnOnce(&mut Value) + Send>;

/// The live objects, by API path.
#[derive(Default)]
pub struct State {
    pub objects: BTreeMap<String, Value>,
    next_version: u64,
    /// Changes to make before the next write (PUT or PATCH) to each path.
    before_write: BTreeMap<String, Change>,
}

/// One answer: HTTP status line and JSON body.
pub type Reply = (&'static str, String);

impl State {
    /// Stores `object` at `path` as a fresh create would (new uid and version).
    pub fn create(&mut self, path: &str, mut object: Value) -> Value {
        let meta = object["metadata"].as_object_mut().expect("metadata");
        meta.insert("uid".into(), json!(format!("uid-{}", path.len())));
        meta.insert("creationTimestamp".into(), json!("2026-01-01T00:00:00Z"));
        self.store(path, object)
    }

    /// Stores `object` at `path` with the next resourceVersion.
    pub fn store(&mut self, path: &str, mut object: Value) -> Value {
        self.next_version += 1;
        object["metadata"]["resourceVersion"] = json!(self.next_version.to_string());
        self.objects.insert(path.to_owned(), object.clone());
        object
    }

    /// Has another writer change the object at `path` (its version bumped)
    /// right before the next write to it arrives, so that write is stale.
    pub fn before_next_write(&mut self, path: &str, change: Change) {
        self.before_write.insert(path.to_owned(), change);
    }

    /// Serves one request; `dry_run` requests are checked but change nothing.
    pub fn handle(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
        dry_run: bool,
    ) -> Reply {
        if matches!(method, "PUT" | "PATCH") {
            if let Some(change) = self.before_write.remove(path) {
                if let Some(mut object) = self.objects.get(path).cloned() {
                    change(&mut object);
                    self.store(path, object);
                }
            }
        }
        let live = self.objects.get(path).cloned();
        match method {
            "GET" => match live {
                Some(object) => ("200 OK", object.to_string()),
                None => not_found(path),
            },
            "POST" => {
                let Ok(object) = serde_json::from_str::<Value>(body) else {
                    return invalid("the body is not JSON");
                };
                let Some(name) = object["metadata"]["name"].as_str() else {
                    return invalid("metadata.name is required");
                };
                let target = format!("{path}/{name}");
                if self.objects.contains_key(&target) {
                    return status("409 Conflict", "AlreadyExists", 409, "already exists");
                }
                let created = if dry_run {
                    object
                } else {
                    self.create(&target, object)
                };
                ("201 Created", created.to_string())
            }
            "PUT" | "PATCH" => {
                let Some(live) = live else {
                    return not_found(path);
                };
                let updated = if method == "PUT" {
                    serde_json::from_str::<Value>(body).map_err(|e| e.to_string())
                } else {
                    patched(&live, content_type, body)
                };
                let mut updated = match updated {
                    Ok(v) => v,
                    Err(e) if e == "unsupported" => {
                        return status(
                            "415 Unsupported Media Type",
                            "UnsupportedMediaType",
                            415,
                            content_type,
                        )
                    }
                    Err(e) => return invalid(&e),
                };
                // The preconditions a real update checks: the version (when the
                // new object names one) and the uid.
                for field in ["resourceVersion", "uid"] {
                    let theirs = &updated["metadata"][field];
                    let empty = theirs.is_null() || theirs == "";
                    if !empty && theirs != &live["metadata"][field] {
                        return status(
                            "409 Conflict",
                            "Conflict",
                            409,
                            "the object has been modified; please apply your changes to the latest version and try again",
                        );
                    }
                }
                for field in ["uid", "creationTimestamp"] {
                    updated["metadata"][field] = live["metadata"][field].clone();
                }
                if dry_run {
                    return ("200 OK", updated.to_string());
                }
                ("200 OK", self.store(path, updated).to_string())
            }
            _ => status("405 Method Not Allowed", "MethodNotAllowed", 405, method),
        }
    }
}

fn patched(live: &Value, content_type: &str, body: &str) -> Result<Value, String> {
    let patch: Value = serde_json::from_str(body).map_err(|e| format!("patch is not JSON: {e}"))?;
    match content_type {
        "application/merge-patch+json" => Ok(merge_patch(live, &patch, false)),
        "application/strategic-merge-patch+json" => Ok(merge_patch(live, &patch, true)),
        "application/json-patch+json" => json_patch(live, &patch),
        _ => Err("unsupported".into()),
    }
}

/// RFC 7386 (with `strategic`: `$` directive keys ignored).
fn merge_patch(target: &Value, patch: &Value, strategic: bool) -> Value {
    let Some(patch) = patch.as_object() else {
        return patch.clone();
    };
    let mut out = target.as_object().cloned().unwrap_or_default();
    for (key, value) in patch {
        if strategic && key.starts_with('$') {
            continue;
        }
        if value.is_null() {
            out.shift_remove(key);
        } else {
            let merged = merge_patch(out.get(key).unwrap_or(&Value::Null), value, strategic);
            out.insert(key.clone(), merged);
        }
    }
    Value::Object(out)
}

/// RFC 6902, strictly: add, remove, replace, test.
fn json_patch(live: &Value, patch: &Value) -> Result<Value, String> {
    let ops = patch.as_array().ok_or("a JSON patch is an array")?;
    let mut doc = live.clone();
    for op in ops {
        let path = op["path"].as_str().ok_or("op without a path")?;
        let tokens: Vec<String> = path
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        let (last, parents) = tokens
            .split_last()
            .ok_or("the root is not patchable here")?;
        let parent = parents
            .iter()
            .try_fold(&mut doc, |node, token| child(node, token))
            .ok_or_else(|| format!("doc is missing path: {path}"))?;
        let value = op.get("value").cloned();
        match op["op"].as_str() {
            Some("test") => {
                let found = child(parent, last)
                    .ok_or_else(|| format!("testing value {path} failed: missing path"))?;
                if Some(&*found) != value.as_ref() {
                    return Err(format!("testing value {path} failed"));
                }
            }
            Some("add") => {
                let value = value.ok_or("add without a value")?;
                match parent {
                    Value::Object(map) => {
                        map.insert(last.clone(), value);
                    }
                    Value::Array(items) => {
                        let at = if last == "-" {
                            items.len()
                        } else {
                            last.parse().map_err(|_| "bad index")?
                        };
                        if at > items.len() {
                            return Err(format!("index out of range: {path}"));
                        }
                        items.insert(at, value);
                    }
                    _ => return Err(format!("doc is missing path: {path}")),
                }
            }
            Some("remove") | Some("replace") => {
                let slot =
                    child(parent, last).ok_or_else(|| format!("doc is missing path: {path}"))?;
                if op["op"] == "replace" {
                    *slot = value.ok_or("replace without a value")?;
                } else {
                    match parent {
                        Value::Object(map) => {
                            map.shift_remove(last);
                        }
                        Value::Array(items) => {
                            items.remove(last.parse::<usize>().map_err(|_| "bad index")?);
                        }
                        _ => unreachable!("child() found it"),
                    }
                }
            }
            other => return Err(format!("unsupported op {other:?}")),
        }
    }
    Ok(doc)
}

fn child<'a>(node: &'a mut Value, token: &str) -> Option<&'a mut Value> {
    match node {
        Value::Object(map) => map.get_mut(token),
        Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
        _ => None,
    }
}

fn status(line: &'static str, reason: &str, code: u16, message: &str) -> Reply {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    (line, body.to_string())
}

fn not_found(path: &str) -> Reply {
    status(
        "404 Not Found",
        "NotFound",
        404,
        &format!("{path} not found"),
    )
}

fn invalid(message: &str) -> Reply {
    status("422 Unprocessable Entity", "Invalid", 422, message)
}

/// Whether `needle` occurs in `value`: in any string, or in what a string
/// decodes to as base64 (and so on, nested), or in any key.
pub fn holds(value: &Value, needle: &str) -> bool {
    use base64::Engine;
    let text_holds = |s: &str| -> bool {
        if s.contains(needle) {
            return true;
        }
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(s.trim()) {
            if let Ok(decoded) = String::from_utf8(bytes) {
                if decoded.contains(needle) {
                    return true;
                }
                if let Ok(inner) = serde_json::from_str::<Value>(&decoded) {
                    return holds(&inner, needle);
                }
            }
        }
        if let Ok(inner) = serde_json::from_str::<Value>(s) {
            if inner.is_object() || inner.is_array() {
                return holds(&inner, needle);
            }
        }
        false
    };
    match value {
        Value::String(s) => text_holds(s),
        Value::Array(items) => items.iter().any(|v| holds(v, needle)),
        Value::Object(map) => map.iter().any(|(k, v)| text_holds(k) || holds(v, needle)),
        _ => false,
    }
}
