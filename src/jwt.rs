//! When a stored secret expires, if it says so: a JWT (three base64url parts,
//! the middle one a JSON object) with a numeric `exp` claim. The signature is
//! not checked (we only read what the token claims about itself, to warn);
//! anything else is "unknown".

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;

/// How soon an expiry is worth a warning.
pub(crate) const WARN_WITHIN: Duration = Duration::from_secs(7 * 24 * 3600);

/// Largest token looked at (a JWT in a registry password is a few KiB).
const MAX_TOKEN: usize = 64 * 1024;

/// What a secret says about its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Not a JWT with a numeric `exp`.
    Unknown,
    /// Expires at this many seconds after the Unix epoch.
    At(i64),
}

/// How an expiry compares with now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Horizon {
    Unknown,
    Expired,
    /// Within [`WARN_WITHIN`].
    Within7Days,
    Later,
}

/// The `exp` of `secret` if it is a JWT carrying one.
pub(crate) fn expiry(secret: &str) -> Expiry {
    let Some(claims) = claims(secret) else {
        return Expiry::Unknown;
    };
    match claims.get("exp") {
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map_or(Expiry::Unknown, Expiry::At),
        _ => Expiry::Unknown,
    }
}

/// The claims of `token` if it is a JWT (unverified: only for reports).
pub(crate) fn claims(token: &str) -> Option<serde_json::Value> {
    let token = token.trim();
    if token.len() > MAX_TOKEN {
        return None;
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [_, payload, _] = parts.as_slice() else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    crate::reader::parse_json_bytes(&bytes).ok()
}

/// The expiry of the secret stored under `key` (reads the secret).
pub(crate) fn of_stored(
    store: &crate::store::Credentials,
    db: &crate::store::Database,
    key: &str,
) -> anyhow::Result<Expiry> {
    Ok(store
        .get_in(db, key)?
        .map_or(Expiry::Unknown, |c| expiry(c.secret.expose())))
}

/// The warning for a secret that has expired or expires within 7 days.
pub(crate) fn warning(key: &str, expiry: Expiry) -> Option<String> {
    match expiry.soon() {
        Horizon::Expired => Some(format!(
            "the secret of {key} (a JWT) expired {}",
            expiry.display()
        )),
        Horizon::Within7Days => Some(format!(
            "the secret of {key} (a JWT) expires {} (within 7 days)",
            expiry.display()
        )),
        Horizon::Unknown | Horizon::Later => None,
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Expiry {
    /// Expired, soon (within 7 days), later, or unknown, as of now.
    pub(crate) fn soon(self) -> Horizon {
        self.soon_at(now_secs())
    }

    fn soon_at(self, now: i64) -> Horizon {
        match self {
            Expiry::Unknown => Horizon::Unknown,
            Expiry::At(exp) if exp <= now => Horizon::Expired,
            Expiry::At(exp) if exp - now <= WARN_WITHIN.as_secs() as i64 => Horizon::Within7Days,
            Expiry::At(_) => Horizon::Later,
        }
    }

    /// `2026-12-01 12:00 UTC`, or `unknown`.
    pub(crate) fn display(self) -> String {
        match self {
            Expiry::Unknown => "unknown".into(),
            Expiry::At(secs) => utc(secs),
        }
    }
}

/// `YYYY-MM-DD HH:MM UTC` of a Unix time (proleptic Gregorian calendar).
fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", e(r#"{"alg":"RS256"}"#), e(claims))
    }

    #[test]
    fn exp_of_a_jwt() {
        assert_eq!(
            expiry(&jwt(r#"{"exp":1800000000}"#)),
            Expiry::At(1_800_000_000)
        );
        assert_eq!(expiry(&jwt(r#"{"exp":1.8e9}"#)), Expiry::At(1_800_000_000));
        for not in [
            "hunter2".to_owned(),
            jwt(r#"{"sub":"x"}"#),
            jwt(r#"{"exp":"soon"}"#),
            jwt("not json at all"),
            jwt(r#"[1,2]"#),
            "a.!!!.c".into(),
            "a.b".into(),
            "x".repeat(70_000),
        ] {
            assert_eq!(expiry(&not), Expiry::Unknown, "{not:.40}");
        }
    }

    #[test]
    fn soon_and_display() {
        let now = 1_800_000_000;
        assert_eq!(Expiry::At(now - 1).soon_at(now), Horizon::Expired);
        assert_eq!(Expiry::At(now + 3600).soon_at(now), Horizon::Within7Days);
        assert_eq!(Expiry::At(now + 8 * 86_400).soon_at(now), Horizon::Later);
        assert_eq!(Expiry::Unknown.soon_at(now), Horizon::Unknown);
        assert_eq!(Expiry::At(0).display(), "1970-01-01 00:00 UTC");
        assert_eq!(Expiry::At(1_800_000_000).display(), "2027-01-15 08:00 UTC");
        assert_eq!(Expiry::At(951_782_400).display(), "2000-02-29 00:00 UTC");
    }
}
