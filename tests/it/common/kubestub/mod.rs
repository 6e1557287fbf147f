//! A discovery-only Kubernetes API server on 127.0.0.1, so the real kubectl can
//! run `apply --dry-run=client` and `create --dry-run=client` offline: kubectl
//! needs the server's discovery (/api, /apis, resource lists) to map kinds to
//! resources, and `apply` GETs the live object (404 here: "created (dry run)").
//! Schema validation needs the server's OpenAPI document, which this stub does
//! not serve, hence `--validate=false`. [`Stub::with_objects`] also serves live
//! objects and records what kubectl writes (POST, PATCH, PUT), so a real
//! `kubectl apply` can be checked: the stub answers a write with the live
//! object (or the created one) and changes nothing. [`Stub::stateful`] keeps
//! live objects that writes change, with the API server's preconditions
//! (see [`state`]), for the conflict, rotation, link-script and grant-pull
//! tests; it logs every request ([`Stub::requests`]), so a test can wait on
//! what a script has done instead of sleeping.

pub mod state;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::time::wait_until;

const API: &str = r#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}"#;
const APIS: &str = r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"rbac.authorization.k8s.io","versions":[{"groupVersion":"rbac.authorization.k8s.io/v1","version":"v1"}],"preferredVersion":{"groupVersion":"rbac.authorization.k8s.io/v1","version":"v1"}}]}"#;
const CORE: &str = r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"secrets","singularName":"secret","namespaced":true,"kind":"Secret","verbs":["create","get","list","patch","update","delete"]},{"name":"serviceaccounts","singularName":"serviceaccount","namespaced":true,"kind":"ServiceAccount","verbs":["create","get","list","patch","update","delete"]}]}"#;
const RBAC: &str = r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"rbac.authorization.k8s.io/v1","resources":[{"name":"rolebindings","singularName":"rolebinding","namespaced":true,"kind":"RoleBinding","verbs":["create","get","list","patch","update","delete"]}]}"#;
const NOT_FOUND: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"not found","reason":"NotFound","code":404}"#;

/// Fails the calling (ignored by default) test unless kubectl runs.
pub fn require_kubectl() {
    let runs = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        runs,
        "this test needs kubectl 1.30 or later on PATH (`kubectl version --client` must succeed): \
         install it from https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/ (no Debian package is recent enough)"
    );
}

/// A request kubectl made that writes: method, path, body.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: String,
}

/// A running stub and a kubeconfig pointing at it.
pub struct Stub {
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
    writes: Arc<Mutex<Vec<Recorded>>>,
    requests: Arc<Mutex<Vec<(String, String)>>>,
    state: Arc<Mutex<state::State>>,
}

impl Stub {
    pub fn start() -> Stub {
        Stub::with_objects(Vec::new())
    }

    /// A stub that also answers `GET path` with each `(path, object)`.
    pub fn with_objects(objects: Vec<(String, String)>) -> Stub {
        Stub::serve(objects, None)
    }

    /// A stub whose objects (`(path, object)`, created with a uid and a
    /// resourceVersion) change with every write, as [`state::State`] rules.
    pub fn stateful(objects: Vec<(String, Value)>) -> Stub {
        let mut state = state::State::default();
        for (path, object) in objects {
            state.create(&path, object);
        }
        Stub::serve(Vec::new(), Some(state))
    }

    /// The live object at `path` (stateful stub).
    pub fn object(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }

    /// Every live object, by path (stateful stub).
    pub fn objects(&self) -> Vec<(String, Value)> {
        let state = self.state.lock().unwrap();
        state
            .objects
            .iter()
            .map(|(p, o)| (p.clone(), o.clone()))
            .collect()
    }

    /// Creates the object at `path` (stateful stub), as another client would.
    pub fn create(&self, path: &str, object: Value) {
        self.state.lock().unwrap().create(path, object);
    }

    /// How many `method` requests for `path` the stub has answered.
    pub fn requests(&self, method: &str, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, p)| m == method && p == path)
            .count()
    }

    /// Waits (bounded: 30 s) until the stub has answered `count` `method`
    /// requests for `path`.
    pub fn wait_for_requests(&self, method: &str, path: &str, count: usize) {
        let what = format!("{count} {method} {path}");
        wait_until(Duration::from_secs(30), &what, || {
            self.requests(method, path) >= count
        });
    }

    /// See [`state::State::before_next_write`].
    pub fn before_next_write(&self, path: &str, change: impl FnOnce(&mut Value) + Send + 'static) {
        self.state
            .lock()
            .unwrap()
            .before_next_write(path, Box::new(change));
    }

    /// Another writer: changes the live object at `path`, bumping its version.
    pub fn modify(&self, path: &str, change: impl FnOnce(&mut Value)) {
        let mut state = self.state.lock().unwrap();
        let mut object = state.objects[path].clone();
        change(&mut object);
        state.store(path, object);
    }

    fn serve(objects: Vec<(String, String)>, stateful: Option<state::State>) -> Stub {
        let is_stateful = stateful.is_some();
        let state = Arc::new(Mutex::new(stateful.unwrap_or_default()));
        let shared = Arc::clone(&state);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let writes = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&writes);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                // The headers: the body's length and type matter.
                let mut length = 0;
                let mut content_type = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                        if name.eq_ignore_ascii_case("content-type") {
                            content_type = value.trim().to_owned();
                        }
                    }
                    line.clear();
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                let method = request.split_whitespace().next().unwrap_or("GET");
                let target = request.split_whitespace().nth(1).unwrap_or("/");
                let path = target.split('?').next().unwrap_or(target);
                let dry_run = target.contains("dryRun=");
                let live = objects
                    .iter()
                    .find(|(p, _)| p == path)
                    .map(|(_, o)| o.as_str());
                let body_text = String::from_utf8_lossy(&body).into_owned();
                seen.lock()
                    .unwrap()
                    .push((method.to_owned(), path.to_owned()));
                let discovery = matches!(
                    path,
                    "/api"
                        | "/apis"
                        | "/api/v1"
                        | "/apis/rbac.authorization.k8s.io/v1"
                        | "/version"
                );
                if method != "GET" {
                    recorded.lock().unwrap().push(Recorded {
                        method: method.to_owned(),
                        path: path.to_owned(),
                        body: body_text.clone(),
                    });
                }
                if is_stateful && !discovery {
                    let (status, reply) = shared.lock().unwrap().handle(
                        method,
                        path,
                        &content_type,
                        &body_text,
                        dry_run,
                    );
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                        reply.len()
                    );
                    continue;
                }
                if method != "GET" {
                    let (status, reply) = match (method, live) {
                        ("POST", _) => ("201 Created", body_text),
                        (_, Some(object)) => ("200 OK", object.to_owned()),
                        _ => ("404 Not Found", NOT_FOUND.to_owned()),
                    };
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                        reply.len()
                    );
                    continue;
                }
                let (status, body) = match path {
                    "/api" => ("200 OK", API),
                    "/apis" => ("200 OK", APIS),
                    "/api/v1" => ("200 OK", CORE),
                    "/apis/rbac.authorization.k8s.io/v1" => ("200 OK", RBAC),
                    "/version" => (
                        "200 OK",
                        r#"{"major":"1","minor":"32","gitVersion":"v1.32.0"}"#,
                    ),
                    _ => match live {
                        Some(object) => ("200 OK", object),
                        None => ("404 Not Found", NOT_FOUND),
                    },
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: stub\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: stub\n  context:\n    cluster: stub\n    namespace: default\ncurrent-context: stub\nusers: []\n"
            ),
        )
        .unwrap();
        Stub {
            kubeconfig,
            _dir: dir,
            writes,
            requests,
            state,
        }
    }

    /// The writes kubectl made so far.
    pub fn writes(&self) -> Vec<Recorded> {
        self.writes.lock().unwrap().clone()
    }

    /// Runs a printed script with `sh` in `dir` against the stub (`KUBECONFIG`
    /// set; `path`, when given, replaces `PATH`).
    pub fn sh(
        &self,
        script: &str,
        dir: &Path,
        path: Option<&std::ffi::OsStr>,
    ) -> crate::common::Run {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script])
            .current_dir(dir)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.kubeconfig.parent().unwrap_or(Path::new("/")));
        if let Some(path) = path {
            cmd.env("PATH", path);
        }
        crate::common::run_command(cmd, b"")
    }

    /// Runs kubectl with `args` and `stdin` against the stub.
    pub fn kubectl(&self, args: &[&str], stdin: &[u8]) -> crate::common::Run {
        let mut cmd = Command::new("kubectl");
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.kubeconfig.parent().unwrap_or(Path::new("/")));
        crate::common::run_command(cmd, stdin)
    }
}

/// The OpenShift API group the link script looks for (`get --raw`): served
/// by a stub holding this object, the cluster is OpenShift.
pub fn openshift_image_api() -> (String, Value) {
    (
        "/apis/image.openshift.io".to_owned(),
        serde_json::json!({"kind": "APIGroup", "apiVersion": "v1", "name": "image.openshift.io", "metadata": {}}),
    )
}

/// The RoleBindings in `namespace` of a stateful stub, by name.
pub fn bindings_in(stub: &Stub, namespace: &str) -> Vec<(String, Value)> {
    let prefix = format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/");
    stub.objects()
        .into_iter()
        .filter_map(|(path, object)| Some((path.strip_prefix(&prefix)?.to_owned(), object)))
        .collect()
}
