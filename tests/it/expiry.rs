//! Expiry you can see: a stored secret that is a JWT with `exp` shows its
//! expiry in `ls --expiry`; `doctor` warns when it expires within 7 days or
//! has expired; `export` warns when it writes one. Not a JWT: unknown.

use crate::common;

use common::jwt::{jwt, now};
use common::{Backend, Env};

fn setup() -> (Env, [String; 4]) {
    let env = Env::new(Backend::File);
    let secrets = [
        jwt(now() - 86_400),
        jwt(now() + 2 * 86_400),
        jwt(now() + 30 * 86_400),
        "plain-password".to_owned(),
    ];
    for (key, secret) in [
        "expired.example.com",
        "soon.example.com",
        "later.example.com",
        "plain.example.com",
    ]
    .iter()
    .zip(&secrets)
    {
        env.store(key, "u", secret).ok();
    }
    // A garbage JWT payload: unknown, no panic.
    env.store(
        "garbage.example.com",
        "u",
        "eyJhbGciOiJub25lIn0.!!!notbase64.x",
    )
    .ok();
    (env, secrets)
}

#[test]
fn ls_doctor_and_export_show_jwt_expiry() {
    let (env, secrets) = setup();
    let ls = env.run(&["ls", "--expiry", "--json"], b"");
    ls.ok();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&ls.stdout).unwrap();
    let expires = |key: &str| {
        rows.iter().find(|r| r["server"] == key).unwrap()["expires"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(expires("later.example.com").ends_with(" UTC"), "{rows:?}");
    assert_eq!(expires("plain.example.com"), "unknown");
    assert_eq!(expires("garbage.example.com"), "unknown");
    let table = env.run(&["ls", "--expiry"], b"");
    table.ok();
    assert!(table.stdout.contains("EXPIRES"), "{table:?}");
    // Without --expiry, ls reads no secret and shows no column.
    let plain = env.run(&["ls"], b"");
    assert!(!plain.stdout.contains("EXPIRES"), "{plain:?}");

    let doctor = env.run(&["doctor"], b"");
    assert!(
        doctor
            .stdout
            .contains("the secret of expired.example.com (a JWT) expired"),
        "{doctor:?}"
    );
    assert!(
        doctor
            .stdout
            .contains("the secret of soon.example.com (a JWT) expires"),
        "{doctor:?}"
    );
    assert!(
        !doctor.stdout.contains("later.example.com (a JWT)"),
        "{doctor:?}"
    );

    let export = env.run(
        &[
            "export",
            "--registry",
            "soon.example.com",
            "--registry",
            "later.example.com",
        ],
        b"",
    );
    export.ok();
    assert!(
        export
            .stderr
            .contains("warning: the secret of soon.example.com (a JWT) expires"),
        "{export:?}"
    );
    assert!(!export.stderr.contains("later.example.com"), "{export:?}");

    for run in [&ls, &table, &doctor] {
        for secret in &secrets {
            assert!(!run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()));
        }
    }
}
