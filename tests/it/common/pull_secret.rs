//! Pull secrets for the export, merge, import, link and OpenShift page tests:
//! the OpenShift global pull secret (`secret/pull-secret` in
//! `openshift-config`) as the cluster manager fills it (the release
//! credential on `cloud.openshift.com` and `quay.io`, a registry-service
//! account on `registry.redhat.io` and `registry.connect.redhat.com`), a
//! seeded store to export from, and a Secret's payload read and written.

use base64::Engine as _;
use serde_json::{json, Value};

use super::human::login;
use super::{Backend, Env, Run};

/// The base64 of Kubernetes `data` fields and of `auth`.
pub const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The global pull secret's API path (the stub serves it there).
pub const GLOBAL_PATH: &str = "/api/v1/namespaces/openshift-config/secrets/pull-secret";

/// The release credential's username (`oc get secret/pull-secret` shows one
/// like it on every cluster).
pub const RELEASE_USER: &str = "openshift-release-dev+ocm_access_0f1e2d3c4b5a";
pub const RELEASE_PASSWORD: &str = "release-token-7Q2W";
pub const REDHAT_USER: &str = "uhc-pool-4c1d";
pub const REDHAT_PASSWORD: &str = "redhat-jwt-9X8Y";

fn entry(user: &str, password: &str) -> Value {
    let auth = B64.encode(format!("{user}:{password}"));
    json!({"auth": auth, "email": "ops@example.com"})
}

/// The decoded `.dockerconfigjson`.
pub fn openshift_global_payload() -> Value {
    json!({"auths": {
        "cloud.openshift.com": entry(RELEASE_USER, RELEASE_PASSWORD),
        "quay.io": entry(RELEASE_USER, RELEASE_PASSWORD),
        "registry.connect.redhat.com": entry(REDHAT_USER, REDHAT_PASSWORD),
        "registry.redhat.io": entry(REDHAT_USER, REDHAT_PASSWORD),
    }})
}

/// The Secret holding `payload`, as `oc get -o json` shows it (the
/// `resourceVersion` a live object would have included).
pub fn openshift_global_secret(payload: &Value) -> Value {
    let data = B64.encode(payload.to_string());
    json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "pull-secret", "namespace": "openshift-config", "resourceVersion": "100"},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": data}})
}

/// The secrets of the fixture, as `human::assert_no_secret` takes them.
pub const SECRETS: &[(&str, &str)] = &[
    (RELEASE_USER, RELEASE_PASSWORD),
    (REDHAT_USER, REDHAT_PASSWORD),
];

/// The decoded `.dockerconfigjson` of a Secret.
pub fn payload_of(secret: &Value) -> Value {
    let data = secret["data"][".dockerconfigjson"].as_str().unwrap();
    serde_json::from_slice(&B64.decode(data).unwrap()).unwrap()
}

/// `secret` holding `payload` as its `.dockerconfigjson`.
pub fn with_payload(mut secret: Value, payload: &Value) -> Value {
    secret["data"][".dockerconfigjson"] = json!(B64.encode(payload.to_string()));
    secret
}

/// `export ARGS` in `env`.
pub fn export(env: &Env, args: &[&str]) -> Run {
    let mut all = vec!["export"];
    all.extend(args);
    env.run(&all, b"")
}

/// A store with Docker Hub (email), a repository-scoped key and quay.io.
pub fn seeded(backend: Backend) -> Env {
    let env = Env::new(backend);
    login(
        &env,
        "docker.io",
        "hubuser",
        "hub&pass",
        &["-q", "--email", "hub@example.com"],
    );
    login(&env, "quay.io", "robot+ci", "s3cret", &["-q"]);
    login(&env, "quay.io/repository-main", "alice", "al<ice>", &["-q"]);
    env
}
