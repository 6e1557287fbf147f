//! Entry point: everything lives in the library so tests and fuzz targets can reach it.

fn main() {
    std::process::exit(docker_credential_keyring::run(
        std::env::args_os().collect(),
    ));
}
