//! The integration tests: one binary (`cargo test --test it`; one module:
//! `cargo test --test it protocol::`), a module per feature, each running
//! the real binary in an isolated environment (`common::Env`), on the file
//! store and, through `tests/with-secret-service`, on a real gnome-keyring.
//!
//! - `common/`: the one place for helpers more than one module uses (the
//!   environment, `backend_tests!`, time bounds and the guards that keep
//!   tests running side by side from disturbing each other in `time.rs`,
//!   the stub API server, the registry side); nothing in it goes unused.
//! - The protocol and the stores: `protocol`, `hot_paths`,
//!   `store_selection`, `concurrency`, `load`, `faults`,
//!   `secret_service_calls` (the D-Bus calls of a Secret Service `get`,
//!   `store` and `erase`, counted).
//! - Sweeps across every command: `bad_input`, `hygiene`, `first_run`.
//! - The human commands: `configure`, `switching` (`migrate` and the way
//!   back), `doctor`, `login`, `completions`, `pairs`, `expiry`, and
//!   `docker_login` (the real docker CLI and skopeo).
//! - Pull secrets and clusters: `export`, `merge`, `import`, `link`,
//!   `grant_pull`, `openshift_page`, `kubelet`, `audit`.
//! - The registry client against registries: `check`, `image_access`,
//!   `proxy`, `registry_bad_servers`.
//!
//! Non-Rust test assets stay beside this directory: `tests/golden`,
//! `tests/e2e`, `tests/windows`, `tests/macos`, `tests/packages`,
//! `tests/run`, `tests/with-secret-service`, `tests/install-deps`. How to run
//! them all, and what needs what: docs/testing.md.

#[macro_use]
mod common;

mod audit;
mod bad_input;
mod check;
mod completions;
mod concurrency;
mod configure;
mod docker_login;
mod doctor;
mod expiry;
mod export;
mod faults;
mod first_run;
mod grant_pull;
mod hot_paths;
mod hygiene;
mod image_access;
mod import;
mod kubelet;
mod link;
mod load;
mod login;
mod merge;
mod openshift_page;
mod pairs;
mod protocol;
mod proxy;
mod registry_bad_servers;
// Unix only (a private D-Bus); the Windows build is checked by tests/windows/run.
#[cfg(unix)]
mod secret_service_calls;
mod store_selection;
mod switching;
