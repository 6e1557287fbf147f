//! The docker `config.json` / containers `auth.json` reader (`configure`,
//! `unconfigure`, `migrate`, `doctor`). Properties: never panics; a file that
//! is not a JSON object is refused with the path and "left untouched", never
//! its content; a file read and rendered reads back the same; after stripping
//! the plaintext credentials found, none is found; redaction leaves no secret field.
#![no_main]

use std::sync::OnceLock;

use docker_credential_keyring::config::{
    self, auths::redact, plaintext_auths, strip_plaintext, ConfigFile, Flavor,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn scratch() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile_dir::Dir> = OnceLock::new();
    DIR.get_or_init(tempfile_dir::Dir::new).path()
}

mod tempfile_dir {
    /// A private scratch directory for this fuzz process.
    pub struct Dir(std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            let dir = std::env::temp_dir().join(format!("dck-fuzz-config-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
}

fn no_secret_fields_left(v: &Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let k = k.to_ascii_lowercase();
                match v {
                    Value::String(s)
                        if ["auth", "identitytoken", "password", "registrytoken"]
                            .contains(&k.as_str())
                            && !s.is_empty() =>
                    {
                        assert_eq!(s, "REDACTED", "{k} left after redact")
                    }
                    other => no_secret_fields_left(other),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(no_secret_fields_left),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let path = scratch().join("config.json");
    std::fs::write(&path, data).unwrap();
    let file = match ConfigFile::open(Flavor::Docker, &path) {
        Ok(file) => file,
        Err(err) => {
            let message = format!("{err:#}");
            assert!(message.contains("left untouched"), "{message}");
            assert!(
                message.starts_with(&path.display().to_string()),
                "{message}"
            );
            return;
        }
    };
    // Rendered (what `configure` writes) and read again: the same content.
    let rendered = config::render(&file.root);
    let again: Value = serde_json::from_str(&rendered).expect("render writes JSON");
    assert_eq!(again, Value::Object(file.root.clone()), "{rendered}");
    let mut redacted = Value::Object(file.root.clone());
    redact(&mut redacted);
    no_secret_fields_left(&redacted);
    let Ok(found) = plaintext_auths(&file.root) else {
        return;
    };
    let mut stripped = file.root.clone();
    strip_plaintext(&mut stripped, found.iter().map(|a| a.server.as_str()));
    assert_eq!(plaintext_auths(&stripped).expect("still readable"), vec![]);
});
