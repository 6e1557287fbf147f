//! Time in the tests: every bound a test fails on goes through [`bound`],
//! every wait for something to happen through [`wait_until`] (a poll with a
//! bound, never a sleep that hopes), and a test that loads the machine runs
//! [`alone`], apart from the tests whose bounds it would stretch ([`timed`]).
//!
//! All tests share one process and run side by side, so the machine is the
//! one thing they cannot each have privately: dozens of helper processes at
//! once, or a flood of calls to the shared gnome-keyring, would slow a test
//! that asserts "within N seconds" beside them. Everything else a test
//! touches is private to its `Env` (HOME, XDG dirs, config files, keyring
//! namespace); no test sets process variables or the current directory.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// `limit` times `DCK_TEST_TIME_SCALE` (a positive number, default 1): set it
/// on a slow or busy machine to widen every time bound of the tests at once,
/// instead of loosening one by hand.
pub fn bound(limit: Duration) -> Duration {
    static SCALE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let scale = *SCALE.get_or_init(|| match std::env::var("DCK_TEST_TIME_SCALE") {
        Err(_) => 1.0,
        Ok(text) => text
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or_else(|| {
                panic!("DCK_TEST_TIME_SCALE={text:?}: expected a positive number such as 3")
            }),
    });
    limit.mul_f64(scale)
}

/// Waits until `ready` holds, asking every 20 ms; fails the test, naming
/// `what`, when it still does not after [`bound`]`(limit)`.
pub fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let limit = bound(limit);
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

static MACHINE: RwLock<()> = RwLock::new(());

/// Held for the whole of a test that loads the machine (many helper
/// processes at once, a flood of keyring calls) or that uses what no `Env`
/// can make private (the items of Debian's `docker-credential-secretservice`
/// in the shared gnome-keyring): no other test holding [`alone`] or
/// [`timed`] runs meanwhile.
pub fn alone() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(PoisonError::into_inner)
}

/// Held for the whole of a test that asserts a wall-clock bound, so no test
/// that loads the machine runs beside it; timed tests run beside each other.
pub fn timed() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(PoisonError::into_inner)
}
