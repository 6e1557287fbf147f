//! The integration tests: one binary (`cargo test --test it`), a module per
//! feature, each running the real binary in an isolated environment
//! (`common::Env`).
//!
//! Shared helpers live in `common/` only. Non-Rust assets stay beside this
//! directory: `tests/golden`, `tests/e2e`, `tests/windows`, `tests/macos`,
//! `tests/packages`, `tests/run`, `tests/with-secret-service`,
//! `tests/install-deps`.

#[macro_use]
mod common;

mod audit;
mod bad_input;
mod cluster_updates;
mod concurrency;
mod docker_login;
mod expiry;
mod export;
mod faults;
mod first_run;
mod hot_paths;
mod human;
mod hygiene;
mod image_access;
mod kubelet;
mod load;
mod pairs;
mod protocol;
mod registry_bad_servers;
mod registry_check;
mod registry_login;
mod registry_proxy;
mod store_selection;
mod switching;
