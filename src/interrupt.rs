//! Ctrl-C (SIGINT), SIGTERM and SIGHUP held off while a command commits a
//! change that spans several writes (`migrate`: the store transaction, then
//! each config file and the record `unconfigure` reads): a signal that
//! arrives meanwhile takes effect once the writes are done, as if it had come
//! just after them. So an interrupted `migrate` leaves the state before or
//! after it, never a config switched with no record of what it replaced.
//!
//! A process-wide handler only notes the signal (threads and keyring calls
//! carry on; `SA_RESTART` semantics, so no write sees `EINTR`); dropping the
//! guard puts the previous dispositions back and raises the noted signal. A
//! second signal acts at once (a keyring call stuck on an unlock prompt can
//! still be stopped). A signal that was ignored stays ignored (`nohup`).
//! Unix only; elsewhere the guard does nothing.

/// Holds the signals off until dropped ([`hold_off`]).
pub(crate) struct Held {
    #[cfg(unix)]
    previous: Vec<(libc::c_int, libc::sighandler_t)>,
}

#[cfg(unix)]
static PENDING: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// What the first signal prints (one `write`: async-signal-safe).
#[cfg(unix)]
const NOTICE: &[u8] =
    b"\ninterrupted: finishing the writes in progress first (again to stop now)\n";

#[cfg(unix)]
extern "C" fn note(signal: libc::c_int) {
    let earlier = PENDING.swap(signal, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: write, signal and raise are async-signal-safe.
    unsafe {
        if earlier == 0 {
            libc::write(2, NOTICE.as_ptr().cast(), NOTICE.len());
        } else {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
}

/// Holds SIGINT, SIGTERM and SIGHUP off until the returned guard drops.
pub(crate) fn hold_off() -> Held {
    #[cfg(unix)]
    {
        let mut previous = Vec::new();
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            let handler = note as extern "C" fn(libc::c_int) as libc::sighandler_t;
            // SAFETY: `note` only stores to an atomic (async-signal-safe).
            let old = unsafe { libc::signal(signal, handler) };
            if old == libc::SIG_IGN {
                // SAFETY: puts back the disposition just read.
                unsafe { libc::signal(signal, old) };
            } else if old != libc::SIG_ERR {
                previous.push((signal, old));
            }
        }
        Held { previous }
    }
    #[cfg(not(unix))]
    Held {}
}

impl Drop for Held {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            for (signal, old) in self.previous.drain(..) {
                // SAFETY: puts back the disposition `hold_off` replaced.
                unsafe { libc::signal(signal, old) };
            }
            let pending = PENDING.swap(0, std::sync::atomic::Ordering::SeqCst);
            if pending != 0 {
                crate::debug!("signal {pending} arrived while writing; acting on it now");
                // SAFETY: raising a signal has no preconditions.
                unsafe { libc::raise(pending) };
            }
        }
    }
}

/// The test hook that pauses `migrate` between writing a config file and
/// its record (debug builds only): the file named is created, and the
/// command waits (at most 60 s) until the test removes it.
#[cfg(debug_assertions)]
pub(crate) const PAUSE_ENV: &str = "DOCKER_CREDENTIAL_KEYRING_TEST_PAUSE_AT";

/// Debug builds only: pauses as [`PAUSE_ENV`] asks.
pub(crate) fn pause_for_tests() {
    #[cfg(debug_assertions)]
    if let Some(flag) = std::env::var_os(PAUSE_ENV) {
        let flag = std::path::PathBuf::from(flag);
        let _ = std::fs::write(&flag, b"");
        let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while flag.exists() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
