//! Entry point: everything lives in the library so tests and fuzz targets can reach it.
//! On Linux the binary skips std's start-up (see `docker_credential_keyring::start`);
//! not in `cargo test`'s build of this file, whose harness brings its own `main`.
#![cfg_attr(all(target_os = "linux", not(test)), no_main)]

#[cfg(all(target_os = "linux", not(test)))]
#[no_mangle]
extern "C" fn main(
    argc: std::os::raw::c_int,
    argv: *const *const std::os::raw::c_char,
) -> std::os::raw::c_int {
    // SAFETY: the C runtime passes argc valid NUL-terminated strings in argv.
    unsafe { docker_credential_keyring::start::c_main(argc, argv) }
}

#[cfg(any(not(target_os = "linux"), test))]
fn main() {
    std::process::exit(docker_credential_keyring::run(
        std::env::args_os().collect(),
    ));
}
