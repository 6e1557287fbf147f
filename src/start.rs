//! Process start-up on Linux, without std's runtime set-up.
//!
//! Docker starts a helper for every registry on every command, so start-up is
//! most of a `get`. std's `main` wrapper spends a third of an empty program's
//! instructions here (callgrind: 96 k of 297 k) finding the main thread's
//! stack guard: glibc's `pthread_getattr_np` reads and `sscanf`s
//! `/proc/self/maps`. The binary is therefore `#![no_main]` on Linux, and
//! [`c_main`] does what that wrapper did that we rely on:
//! - standard descriptors that were closed at exec are reopened on
//!   `/dev/null`, so a file we open (the store, a lock) can never become
//!   fd 1 or 2 and receive output meant for the terminal;
//! - SIGPIPE is ignored: a closed pipe is a write error we report, not a
//!   silent death;
//! - a panic becomes exit code 101 after its message, as std's wrapper does;
//! - buffered standard output is flushed before returning.
//!
//! It also makes the process non-dumpable and sets its core size limit to 0
//! before anything is read: a core dump (or a same-user debugger attaching)
//! would expose the secrets a helper holds. Two system calls; see
//! docs/benchmarks.md for the cost on `get`.
//!
//! What it leaves out: the guard page handler that turns a main-thread stack
//! overflow into a message (it is a plain SIGSEGV here; parsing is bounded and
//! not recursive past serde's limits) and the main thread's name.

use std::ffi::{CStr, OsString};
use std::io::Write;
use std::os::raw::{c_char, c_int};
use std::os::unix::ffi::OsStringExt;

/// The body of the C `main`.
///
/// # Safety
/// `argv` must hold `argc` valid NUL-terminated strings, as the C runtime passes them.
pub unsafe fn c_main(argc: c_int, argv: *const *const c_char) -> c_int {
    reopen_closed_std_fds();
    disable_core_dumps();
    // SAFETY: setting a signal's disposition to "ignore" has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let args: Vec<OsString> = (0..usize::try_from(argc).unwrap_or(0))
        .map(|i| {
            // SAFETY: the caller guarantees argc valid C strings in argv.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsString::from_vec(arg.to_bytes().to_vec())
        })
        .collect();
    let code = std::panic::catch_unwind(move || crate::run(args)).unwrap_or(101);
    let _ = std::io::stdout().flush();
    code
}

/// No core dump of this process, and no ptrace attach by other processes of
/// the same user (root excepted): `PR_SET_DUMPABLE` 0 covers both, and
/// `RLIMIT_CORE` 0 also covers a kernel set to dump non-dumpable processes
/// (`fs.suid_dumpable=2`) to a core file. Failures are ignored: neither call
/// can fail with these arguments, and a helper must work regardless.
fn disable_core_dumps() {
    // SAFETY: PR_SET_DUMPABLE takes an integer argument; the rest are unused.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `none` is a valid rlimit for the duration of the call.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
}

/// Opens `/dev/null` on each of fds 0, 1, 2 that is closed (in order, so each
/// open lands on the lowest free descriptor: the closed one).
fn reopen_closed_std_fds() {
    for fd in 0..3 {
        // SAFETY: F_GETFD only reads the descriptor's flags.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        if closed {
            // SAFETY: a constant NUL-terminated path; the descriptor is kept open for the process.
            let opened = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
            if opened != fd {
                // Nowhere safe to write: stop rather than let a file become fd 0-2.
                std::process::abort();
            }
        }
    }
}
