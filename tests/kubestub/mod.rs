//! A discovery-only Kubernetes API server on 127.0.0.1, so the real kubectl can
//! run `apply --dry-run=client` and `create --dry-run=client` offline: kubectl
//! needs the server's discovery (/api, /apis, resource lists) to map kinds to
//! resources, and `apply` GETs the live object (404 here: "created (dry run)").
//! Schema validation needs the server's OpenAPI document, which this stub does
//! not serve, hence `--validate=false`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

const API: &str = r#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}"#;
const APIS: &str = r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"rbac.authorization.k8s.io","versions":[{"groupVersion":"rbac.authorization.k8s.io/v1","version":"v1"}],"preferredVersion":{"groupVersion":"rbac.authorization.k8s.io/v1","version":"v1"}}]}"#;
const CORE: &str = r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"secrets","singularName":"secret","namespaced":true,"kind":"Secret","verbs":["create","get","list","patch","update","delete"]},{"name":"serviceaccounts","singularName":"serviceaccount","namespaced":true,"kind":"ServiceAccount","verbs":["create","get","list","patch","update","delete"]}]}"#;
const RBAC: &str = r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"rbac.authorization.k8s.io/v1","resources":[{"name":"rolebindings","singularName":"rolebinding","namespaced":true,"kind":"RoleBinding","verbs":["create","get","list","patch","update","delete"]}]}"#;
const NOT_FOUND: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"not found","reason":"NotFound","code":404}"#;

/// Whether kubectl is on PATH. `DCK_REQUIRE_KUBECTL=1` turns a missing kubectl
/// into a failure instead of a skip (for CI machines that install it).
pub fn kubectl_available() -> bool {
    let present = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present && std::env::var("DCK_REQUIRE_KUBECTL").as_deref() == Ok("1") {
        panic!("DCK_REQUIRE_KUBECTL=1 but kubectl is not on PATH");
    }
    present
}

/// A running stub and a kubeconfig pointing at it.
pub struct Stub {
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Stub {
    pub fn start() -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                // Drain the headers.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let path = path.split('?').next().unwrap_or(path);
                let (status, body) = match path {
                    "/api" => ("200 OK", API),
                    "/apis" => ("200 OK", APIS),
                    "/api/v1" => ("200 OK", CORE),
                    "/apis/rbac.authorization.k8s.io/v1" => ("200 OK", RBAC),
                    "/version" => (
                        "200 OK",
                        r#"{"major":"1","minor":"32","gitVersion":"v1.32.0"}"#,
                    ),
                    _ => ("404 Not Found", NOT_FOUND),
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
        }
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
