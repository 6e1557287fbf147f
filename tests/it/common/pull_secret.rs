//! The OpenShift global pull secret (`secret/pull-secret` in
//! `openshift-config`) as the cluster manager fills it: the release
//! credential on `cloud.openshift.com` and `quay.io`, a registry-service
//! account on `registry.redhat.io` and `registry.connect.redhat.com`.

use base64::Engine as _;
use serde_json::{json, Value};

/// The release credential's username (`oc get secret/pull-secret` shows one
/// like it on every cluster).
pub const RELEASE_USER: &str = "openshift-release-dev+ocm_access_0f1e2d3c4b5a";
pub const RELEASE_PASSWORD: &str = "release-token-7Q2W";
pub const REDHAT_USER: &str = "uhc-pool-4c1d";
pub const REDHAT_PASSWORD: &str = "redhat-jwt-9X8Y";

fn entry(user: &str, password: &str) -> Value {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
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
    let data = base64::engine::general_purpose::STANDARD.encode(payload.to_string());
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
