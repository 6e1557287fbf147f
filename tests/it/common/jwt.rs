//! Unsigned JWTs for the expiry tests: only the claims are read, so the
//! signature is a placeholder.

use base64::Engine;

/// A JWT whose only claim is `exp` (seconds since the epoch).
pub fn jwt(exp: i64) -> String {
    let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.c2ln",
        e(r#"{"alg":"RS256"}"#),
        e(&format!(r#"{{"exp":{exp}}}"#))
    )
}

/// Now, in seconds since the epoch (what `exp` is compared with).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
