//! Files of the repository the tests compare with: golden files under
//! `tests/golden` (rewritten with `DCK_UPDATE_GOLDEN=1`) and documents such as
//! the README and `docs/openshift.md`, whose commands the tests run.

use std::path::{Path, PathBuf};

/// The path of `tests/golden/NAME`.
pub fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// The text of `tests/golden/NAME`.
pub fn read_golden(name: &str) -> String {
    let path = golden_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compares `actual` with the golden file (rewrites it with DCK_UPDATE_GOLDEN=1).
pub fn assert_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var("DCK_UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (DCK_UPDATE_GOLDEN=1 creates it)", path.display()));
    assert_eq!(actual, expected, "golden file {name}");
}

/// The text of a file of the repository, by its path from the top (for the
/// Unix-only first_run and openshift_page).
#[cfg(unix)]
pub fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
