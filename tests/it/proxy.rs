//! The network as users have it: `login` and `check` through a real proxy
//! (Debian's `tinyproxy` on 127.0.0.1, started here) to an HTTPS registry with
//! a private CA, over a CONNECT tunnel; `NO_PROXY` bypasses the proxy. The
//! registry listens on this machine's non-loopback address: loopback hosts
//! are never proxied (as in Go's client, which docker uses).

use crate::common;
use crate::common::registry;

use std::path::Path;
use std::process::Command;

use common::{Backend, Env, Run};
use registry::*;

fn ours(env: &Env, args: &[&str], stdin: &str, vars: &[(&str, &str)], certs_d: &Path) -> Run {
    let mut cmd: Command = env.command(args);
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.env_remove(name);
    }
    cmd.env("DOCKER_CREDENTIAL_KEYRING_CERTS_D", certs_d);
    for (name, value) in vars {
        cmd.env(name, value);
    }
    let run = common::run_command(cmd, stdin.as_bytes());
    assert!(
        !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
        "{run:?}"
    );
    run
}

#[test]
#[ignore = "needs tinyproxy-bin, docker-registry, apache2-utils and openssl"]
fn login_and_check_through_tinyproxy_and_no_proxy_bypasses_it() {
    let ip = non_loopback_ip();
    let registry = Registry::start_on(&ip, Auth::Htpasswd, true);
    let proxy = Tinyproxy::start();
    let certs_d = registry.certs_d();
    let host = registry.host();
    let env = Env::new(Backend::File);
    let pw = format!("{PASSWORD}\n");
    let via = [("HTTPS_PROXY", proxy.url())];
    let via: Vec<(&str, &str)> = via.iter().map(|(n, v)| (*n, v.as_str())).collect();

    let login = ours(
        &env,
        &["login", "-u", USER, "--password-stdin", &host],
        &pw,
        &via,
        &certs_d,
    );
    login.ok();
    assert!(login.stdout.contains("Login Succeeded"), "{login:?}");
    // Its requests (the challenge, then the credential) share one tunnel.
    let tunnels = proxy.connects_to(&host);
    assert_eq!(
        tunnels,
        1,
        "login went through the proxy, one connection: {}",
        proxy.log()
    );

    let wrong = ours(
        &env,
        &["login", "-u", USER, "--password-stdin", &host],
        "WRONG-pw\n",
        &via,
        &certs_d,
    );
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(
        wrong.stderr.contains("refused") && wrong.stderr.contains("401"),
        "{wrong:?}"
    );

    let check = ours(&env, &["check", &host], "", &via, &certs_d);
    check.ok();
    assert!(check.stdout.contains(" ok"), "{check:?}");
    let tunnels = proxy.connects_to(&host);

    // NO_PROXY names the registry: no new tunnel, still works.
    let mut bypass = via.clone();
    bypass.push(("no_proxy", ip.as_str()));
    let direct = ours(&env, &["check", &host], "", &bypass, &certs_d);
    direct.ok();
    assert_eq!(
        proxy.connects_to(&host),
        tunnels,
        "NO_PROXY bypasses: {}",
        proxy.log()
    );

    // A proxy that is not there: a clear error, nothing changed.
    let dead = format!("http://127.0.0.1:{}", free_port("127.0.0.1"));
    let broken = ours(
        &env,
        &["check", &host, "--timeout", "5"],
        "",
        &[("HTTPS_PROXY", dead.as_str())],
        &certs_d,
    );
    assert!(broken.stdout.contains("unreachable"), "{broken:?}");
    assert_eq!(env.secret(&host).as_deref(), Some(PASSWORD));
}
